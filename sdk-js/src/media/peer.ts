/**
 * One peer connection to one other member (DECISIONS §9): our tracks out, theirs in, and the
 * "perfect negotiation" pattern, so that either side may renegotiate at any time (a screen
 * share, a camera added, an ICE restart) and offers that cross are resolved by politeness.
 */
import type { Logger } from "../log.js";
import type { CandidateSignal, SessionDescriptionSignal, Signal } from "../protocol.js";
import type { TrackKind } from "../types.js";
import type { LocalMedia } from "./local.js";


export interface PeerEvents {
  send(signal: Signal): void;
  trackAdded(kind: TrackKind, track: MediaStreamTrack, stream: MediaStream): void;
  trackRemoved(kind: TrackKind, track: MediaStreamTrack): void;
  stateChanged(state: RTCPeerConnectionState): void;
}

export interface LinkStats {
  rttMs: number | null;
  loss: number | null;
  jitterMs: number | null;
}

/** An offer of ours unanswered for this long may have been lost (see `applyDescription`). */
const STALE_OFFER_MS = 2000;

/** DECISIONS §9's candidate signal (a browser's `toJSON()` carries more than that). */
export function candidateSignal(candidate: RTCIceCandidate | null): CandidateSignal {
  if (candidate === null || !candidate.candidate) return { kind: "candidate", candidate: null };
  const { sdpMid, sdpMLineIndex } = candidate;
  return { kind: "candidate", candidate: { candidate: candidate.candidate, sdpMid, sdpMLineIndex } };
}

/** The `o=` line's session id: it stays the same for the life of a peer connection, so a
 * different one means the other side started afresh (a reloaded page). */
export function sessionOf(sdp: string): string | null {
  return /^o=\S+ (\S+) /m.exec(sdp)?.[1] ?? null;
}

/** A remote track on one of our transceivers; `announced` once its media started to arrive. */
interface Received {
  kind: TrackKind;
  track: MediaStreamTrack;
  announced: boolean;
}

export class PeerLink {
  readonly pc: RTCPeerConnection;
  /** The remote's camera and microphone, as one stream (`getRemoteStream`). */
  readonly camera = new MediaStream();
  /** The remote's screen share, in a stream of its own. */
  readonly screenStream = new MediaStream();
  remoteSession: string | null = null;
  private makingOffer = false;
  private ignoreOffer = false;
  private remoteScreenMid: string | null = null;
  private readonly received = new Map<RTCRtpTransceiver, Received>();
  private audioSender: RTCRtpSender | null = null;
  private videoSender: RTCRtpSender | null = null;
  private screenSender: RTCRtpSender | null = null;
  private queue: Promise<void> = Promise.resolve();
  private lastInbound = { lost: 0, received: 0 };
  private offeredAt = 0;
  private attached = false;
  private closed = false;

  constructor(
    readonly remoteUserId: string,
    configuration: RTCConfiguration,
    /** The polite peer yields when offers cross (DECISIONS §9: the smaller user id). */
    readonly polite: boolean,
    private readonly local: LocalMedia,
    private readonly events: PeerEvents,
    private readonly log: Logger,
  ) {
    this.pc = new RTCPeerConnection(configuration);
    this.pc.onnegotiationneeded = () => void this.offer();
    this.pc.onicecandidate = ({ candidate }) => this.events.send(candidateSignal(candidate));
    this.pc.ontrack = (event) => this.onTrack(event);
    this.pc.onconnectionstatechange = () => this.onConnectionState();
  }

  /** We entered the room: send our tracks, which makes the offer (DECISIONS §9). */
  start(): void {
    this.attach(true);
  }

  /** Send our tracks. The side that offers asks to receive even what it does not send, so the
   * answer can carry the other side's tracks without another round. */
  private attach(offering: boolean): void {
    if (this.attached) return;
    this.attached = true;
    const { audioTrack, videoTrack, screenTrack, screen, stream } = this.local;
    if (audioTrack) this.audioSender = this.pc.addTrack(audioTrack, stream);
    else if (offering) this.pc.addTransceiver("audio", { direction: "recvonly" });
    if (videoTrack) this.videoSender = this.pc.addTrack(videoTrack, stream);
    else if (offering) this.pc.addTransceiver("video", { direction: "recvonly" });
    if (screenTrack && screen) this.screenSender = this.pc.addTrack(screenTrack, screen);
  }

  /** A signal from the other side; handled one at a time, in order (a failure is logged). */
  handle(signal: Record<string, unknown>): Promise<void> {
    return this.enqueue(`signal from ${this.remoteUserId}`, () => this.apply(signal));
  }

  /** Replace the microphone or camera track (device switch): no renegotiation needed, unless
   * we sent no such track before. */
  async replaceTrack(kind: "audio" | "video", track: MediaStreamTrack, stream: MediaStream): Promise<void> {
    const sender = kind === "audio" ? this.audioSender : this.videoSender;
    if (sender !== null) return sender.replaceTrack(track);
    const added = this.pc.addTrack(track, stream);
    if (kind === "audio") this.audioSender = added;
    else this.videoSender = added;
  }

  setScreen(track: MediaStreamTrack | null, stream: MediaStream | null): void {
    if (this.screenSender !== null) {
      this.pc.removeTrack(this.screenSender);
      this.screenSender = null;
    }
    if (track !== null && stream !== null) this.screenSender = this.pc.addTrack(track, stream);
  }

  /**
   * After our WebSocket came back: new ICE credentials, so the media path is found again. An
   * offer of ours still waiting for its answer may have been lost with the socket: it is taken
   * back, and the restart's offer carries whatever it was for.
   */
  restartIce(): Promise<void> {
    return this.enqueue(`ICE restart to ${this.remoteUserId}`, async () => {
      if (this.pc.signalingState === "have-local-offer") {
        await this.pc.setLocalDescription({ type: "rollback" });
      }
      this.pc.restartIce();
    });
  }

  /** Round trip, packet loss since the last call, and jitter of this link. */
  async stats(): Promise<LinkStats | null> {
    if (this.pc.connectionState !== "connected") return null;
    const report = await this.pc.getStats();
    let rttMs: number | null = null;
    let jitter = 0;
    let lost = 0;
    let received = 0;
    report.forEach((entry: Record<string, unknown>) => {
      if (entry.type === "candidate-pair" && entry.nominated && typeof entry.currentRoundTripTime === "number") {
        rttMs = entry.currentRoundTripTime * 1000;
      } else if (entry.type === "inbound-rtp") {
        lost += Number(entry.packetsLost ?? 0);
        received += Number(entry.packetsReceived ?? 0);
        jitter = Math.max(jitter, Number(entry.jitter ?? 0) * 1000);
      }
    });
    const newLost = Math.max(0, lost - this.lastInbound.lost);
    const newReceived = Math.max(0, received - this.lastInbound.received);
    this.lastInbound = { lost, received };
    const loss = newLost + newReceived > 0 ? newLost / (newLost + newReceived) : null;
    return { rttMs, loss, jitterMs: received > 0 ? jitter : null };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [transceiver, entry] of this.received) this.untrack(transceiver, entry);
    this.pc.close();
  }

  // --- negotiation -------------------------------------------------------------------------

  /** Runs `step` after every step before it (signals and restarts never interleave). */
  private enqueue(what: string, step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step).catch((error: unknown) => this.log.warn(`${what} failed`, error));
    return this.queue;
  }

  private async offer(): Promise<void> {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.offeredAt = Date.now();
      this.sendDescription();
    } catch (error) {
      this.log.warn(`offer to ${this.remoteUserId} failed`, error);
    } finally {
      this.makingOffer = false;
    }
  }

  private async apply(signal: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    if (signal.kind === "description") return this.applyDescription(signal as unknown as SessionDescriptionSignal);
    if (signal.kind === "candidate") {
      const candidate = signal.candidate as RTCIceCandidateInit | null;
      try {
        await this.pc.addIceCandidate(candidate ?? undefined);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
    // Unknown kinds are ignored (DECISIONS §9).
  }

  private async applyDescription(signal: SessionDescriptionSignal): Promise<void> {
    const description = signal.description;
    const collision =
      description.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) {
      // The polite side yields to our offer, unless it never got it (lost with a socket): then
      // it is waiting for nothing, so send it again.
      if (!this.makingOffer && Date.now() - this.offeredAt > STALE_OFFER_MS) this.sendDescription();
      return;
    }
    this.remoteSession = sessionOf(description.sdp) ?? this.remoteSession;
    if (signal.screen_mid !== undefined) this.remoteScreenMid = signal.screen_mid;
    await this.pc.setRemoteDescription(description);
    if (description.type === "offer") {
      this.attach(false); // the first offer: our tracks ride on its transceivers
      await this.pc.setLocalDescription();
      this.sendDescription();
    }
    this.syncRemoved();
  }

  private sendDescription(): void {
    const local = this.pc.localDescription;
    if (local === null) return;
    const screenMid = this.pc.getTransceivers().find((t) => t.sender === this.screenSender)?.mid ?? null;
    const signal: SessionDescriptionSignal = {
      kind: "description",
      description: { type: local.type as "offer" | "answer", sdp: local.sdp },
      screen_mid: this.screenSender === null ? null : screenMid,
    };
    this.events.send(signal);
  }

  // --- their tracks ------------------------------------------------------------------------

  private onTrack(event: RTCTrackEvent): void {
    const transceiver = event.transceiver;
    const known = this.received.get(transceiver);
    if (known?.track === event.track) return;
    if (known) this.untrack(transceiver, known);
    const kind: TrackKind =
      event.track.kind === "audio" ? "audio" : transceiver.mid !== null && transceiver.mid === this.remoteScreenMid ? "screen" : "video";
    const stream = kind === "screen" ? this.screenStream : this.camera;
    const entry: Received = { kind, track: event.track, announced: false };
    this.received.set(transceiver, entry);
    stream.addTrack(event.track);
    event.track.addEventListener("ended", () => {
      if (this.received.get(transceiver) === entry) this.untrack(transceiver, entry);
    });
    // Announced when its media starts to arrive (a remote track is muted until then), not
    // when the description merely promised it.
    const announce = (): void => {
      if (this.received.get(transceiver) !== entry) return;
      entry.announced = true;
      this.events.trackAdded(kind, event.track, stream);
    };
    if (event.track.muted) event.track.addEventListener("unmute", announce, { once: true });
    else announce();
  }

  /** A transceiver that no longer receives (the other side removed the track) ends its track. */
  private syncRemoved(): void {
    for (const [transceiver, entry] of this.received) {
      const direction = transceiver.currentDirection;
      if (direction === "stopped" || direction === "sendonly" || direction === "inactive") {
        this.untrack(transceiver, entry);
      }
    }
  }

  private untrack(transceiver: RTCRtpTransceiver, entry: Received): void {
    this.received.delete(transceiver);
    (entry.kind === "screen" ? this.screenStream : this.camera).removeTrack(entry.track);
    if (entry.announced) this.events.trackRemoved(entry.kind, entry.track);
  }

  private onConnectionState(): void {
    const state = this.pc.connectionState;
    this.log.debug(`link to ${this.remoteUserId}: ${state}`);
    if (state === "failed" && !this.closed) this.restartIce();
    this.events.stateChanged(state);
  }
}
