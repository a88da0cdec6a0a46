/**
 * Audio levels, for the pre-join meter and the "speaking" highlight: an `AnalyserNode` read a
 * few times a second (never per audio frame), on one shared `AudioContext`.
 */

const INTERVAL_MS = 150;
let shared: AudioContext | null = null;

function context(): AudioContext {
  shared ??= new AudioContext();
  // Created before any click, a context starts suspended; a later call resumes it.
  if (shared.state === "suspended") void shared.resume().catch(() => undefined);
  return shared;
}

/** Calls `onLevel(0…1)` with the loudness of a stream's audio until `stop()`. */
export class LevelMeter {
  /** the stream watched, or null */
  stream: MediaStream | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly onLevel: (level: number) => void) {}

  watch(stream: MediaStream): void {
    this.stop();
    if (!stream.getAudioTracks().length) return;
    const audio = context();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 512;
    this.source = audio.createMediaStreamSource(stream);
    this.source.connect(analyser);
    this.stream = stream;
    const samples = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // RMS, scaled so that normal speech (about -30 dBFS) reads near the middle
      this.onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 8));
    }, INTERVAL_MS);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.source?.disconnect();
    this.source = null;
    this.stream = null;
  }
}

/** Above this level a member counts as speaking. */
export const SPEAKING_LEVEL = 0.08;
