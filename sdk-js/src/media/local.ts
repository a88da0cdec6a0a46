/**
 * Our own media: the camera and microphone (`localStream`), and a screen share. Devices are
 * opened here and nowhere else; the peers only ever get tracks from this class.
 */
import { MeetingError, mediaError } from "../errors.js";
import type { Logger } from "../log.js";

export type InputKind = "audioinput" | "videoinput";

export interface LocalMediaOptions {
  audio: boolean;
  video: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
  audioDeviceId?: string;
  videoDeviceId?: string;
  videoConstraints?: MediaTrackConstraints;
}

const DEFAULT_VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 480 } };

export class LocalMedia {
  /** The camera and microphone tracks, in one stream (the contract's `localStream`). */
  readonly stream = new MediaStream();
  /** The screen share's stream (its own `MediaStream`, DECISIONS §9), while sharing. */
  screen: MediaStream | null = null;
  private audioMuted = false;
  private videoMuted = false;
  private videoConstraints: MediaTrackConstraints = DEFAULT_VIDEO;

  constructor(private readonly log: Logger) {}

  get audioTrack(): MediaStreamTrack | null {
    return this.stream.getAudioTracks()[0] ?? null;
  }

  get videoTrack(): MediaStreamTrack | null {
    return this.stream.getVideoTracks()[0] ?? null;
  }

  get screenTrack(): MediaStreamTrack | null {
    return this.screen?.getVideoTracks()[0] ?? null;
  }

  /**
   * Open the wanted devices. A device that is refused or missing is left out (the member joins
   * receive-only for it) and its error returned, so that joining never fails for want of one.
   */
  async open(options: LocalMediaOptions): Promise<MeetingError[]> {
    this.audioMuted = options.audioMuted;
    this.videoMuted = options.videoMuted;
    this.videoConstraints = options.videoConstraints ?? DEFAULT_VIDEO;
    const audio = options.audio ? this.constraints("audioinput", options.audioDeviceId) : false;
    const video = options.video ? this.constraints("videoinput", options.videoDeviceId) : false;
    if (!audio && !video) return [];
    try {
      this.adopt(await navigator.mediaDevices.getUserMedia({ audio, video }));
      return [];
    } catch (error) {
      if (!(audio && video)) return [mediaError(error, audio ? "microphone" : "camera")];
      this.log.info("camera and microphone together failed; trying each alone", error);
    }
    // One of the two may still work: ask for each alone, to know which one failed.
    const errors: MeetingError[] = [];
    for (const [kind, constraints, what] of [
      ["audio", audio, "microphone"],
      ["video", video, "camera"],
    ] as const) {
      try {
        this.adopt(await navigator.mediaDevices.getUserMedia({ [kind]: constraints }));
      } catch (error) {
        errors.push(mediaError(error, what));
      }
    }
    return errors;
  }

  /** Stop sending on a track (disabled, not removed: no renegotiation). */
  setMuted(kind: "audio" | "video", muted: boolean): void {
    if (kind === "audio") this.audioMuted = muted;
    else this.videoMuted = muted;
    const track = kind === "audio" ? this.audioTrack : this.videoTrack;
    if (track !== null) track.enabled = !muted;
  }

  /** Open another microphone or camera; the old track is stopped once the new one works. */
  async switchDevice(kind: InputKind, deviceId: string): Promise<MediaStreamTrack> {
    const what = kind === "audioinput" ? "microphone" : "camera";
    let opened: MediaStream;
    try {
      const constraints = this.constraints(kind, deviceId, true);
      opened = await navigator.mediaDevices.getUserMedia(
        kind === "audioinput" ? { audio: constraints } : { video: constraints },
      );
    } catch (error) {
      throw mediaError(error, what);
    }
    const track = kind === "audioinput" ? opened.getAudioTracks()[0] : opened.getVideoTracks()[0];
    if (track === undefined) throw mediaError(new Error("no track"), what);
    const old = kind === "audioinput" ? this.audioTrack : this.videoTrack;
    if (old !== null) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.adopt(new MediaStream([track]));
    return track;
  }

  /** Ask the user for a screen (or window, or tab) to share. */
  async startScreen(options: DisplayMediaStreamOptions = { video: true }): Promise<MediaStreamTrack> {
    if (this.screenTrack !== null) return this.screenTrack;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ ...options, audio: false });
    } catch (error) {
      throw mediaError(error, "screen share");
    }
    this.screen = stream;
    const track = stream.getVideoTracks()[0];
    if (track === undefined) throw mediaError(new Error("no video track"), "screen share");
    track.contentHint = "detail";
    return track;
  }

  stopScreen(): void {
    for (const track of this.screen?.getTracks() ?? []) track.stop();
    this.screen = null;
  }

  /** Release every device (the camera light goes off). */
  close(): void {
    for (const track of this.stream.getTracks()) {
      track.stop();
      this.stream.removeTrack(track);
    }
    this.stopScreen();
  }

  private adopt(opened: MediaStream): void {
    for (const track of opened.getTracks()) {
      track.enabled = !(track.kind === "audio" ? this.audioMuted : this.videoMuted);
      this.stream.addTrack(track);
    }
  }

  private constraints(kind: InputKind, deviceId?: string, exact = false): MediaTrackConstraints | true {
    const base: MediaTrackConstraints = kind === "videoinput" ? { ...this.videoConstraints } : {};
    if (deviceId) base.deviceId = exact ? { exact: deviceId } : { ideal: deviceId };
    return Object.keys(base).length ? base : true;
  }
}
