/**
 * The mesh (DECISIONS §9): one `PeerLink` per other member. Who offers, when links are made
 * and hung up, ICE restarts after a reconnect, device and screen changes for every link, and
 * the network quality read from the links' statistics.
 */
import type { Logger } from "../log.js";
import { gradeLink, gradeSocket, worst } from "../timing.js";
import { MeetingEvent, NetworkQuality } from "../types.js";
import type { TrackKind } from "../types.js";
import type { LocalMedia } from "./local.js";
import { PeerLink, sessionOf } from "./peer.js";

export interface MeshOptions {
  me: string;
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
  local: LocalMedia;
  statsIntervalMs: number;
  log: Logger;
  send(to: string, signal: object): void;
  emit(event: MeetingEvent, payload: unknown): void;
}

export class Mesh {
  private readonly links = new Map<string, PeerLink>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private current: NetworkQuality | null = null;
  private fromLinks = false; // whether `current` came from the links' statistics
  private closed = false;

  constructor(private readonly options: MeshOptions) {}

  get quality(): NetworkQuality | null {
    return this.current;
  }

  /**
   * We entered (or re-entered) the room with these members (seat holders): we call each of them
   * connected to the room (`inRoom`, from `room_state`; undefined: all), the one who enters
   * offers. One not in it yet would never get our offer: it calls us when it enters. After a
   * reconnect a link that still exists restarts ICE instead, and links to members no longer
   * there are hung up.
   */
  enter(members: string[], again: boolean, inRoom?: readonly string[]): void {
    if (this.closed) return;
    const others = new Set(members.filter((id) => id !== this.options.me));
    for (const userId of this.links.keys()) if (!others.has(userId)) this.hangUp(userId);
    const connected = inRoom === undefined ? others : new Set(inRoom);
    for (const userId of others) {
      if (!connected.has(userId)) continue;
      const link = this.links.get(userId);
      if (link && again) void link.restartIce();
      else if (!link) this.open(userId).start();
    }
    this.timer ??= setInterval(() => void this.readStats(), this.options.statsIntervalMs);
  }

  onSignal(from: string, signal: Record<string, unknown>): void {
    if (this.closed || from === this.options.me) return;
    let link = this.links.get(from);
    // Only an offer starts a link: anything else from a stranger is stale or unknown.
    if (link === undefined && !isOffer(signal)) return;
    if (link && isFreshOffer(link, signal)) {
      // The other side started a new peer connection (a reloaded page): so do we.
      this.hangUp(from);
      link = undefined;
    }
    void (link ?? this.open(from)).handle(signal);
  }

  hangUp(userId: string): void {
    const link = this.links.get(userId);
    if (link === undefined) return;
    this.links.delete(userId);
    link.close();
  }

  async replaceTrack(kind: "audio" | "video", track: MediaStreamTrack): Promise<void> {
    const stream = this.options.local.stream;
    await Promise.all([...this.links.values()].map((link) => link.replaceTrack(kind, track, stream)));
  }

  setScreen(track: MediaStreamTrack | null, stream: MediaStream | null): void {
    for (const link of this.links.values()) link.setScreen(track, stream);
  }

  remoteStream(userId: string): MediaStream | null {
    return this.links.get(userId)?.camera ?? null;
  }

  screenStream(userId: string): MediaStream | null {
    const stream = this.links.get(userId)?.screenStream;
    return stream && stream.getTracks().length ? stream : null;
  }

  /** The WebSocket's heartbeat: it decides the quality only while no media link is up. */
  socketQuality(rttMs: number | null, missed: number): void {
    if ([...this.links.values()].some((link) => link.pc.connectionState === "connected")) return;
    this.report(gradeSocket(rttMs, missed), { rttMs, packetLoss: null, jitterMs: null, missedPongs: missed }, false);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const userId of [...this.links.keys()]) this.hangUp(userId);
  }

  private open(userId: string): PeerLink {
    const { me, iceServers, iceTransportPolicy, local, log } = this.options;
    const configuration: RTCConfiguration = { iceServers, iceTransportPolicy };
    const link = new PeerLink(userId, configuration, me < userId, local, {
      send: (signal) => this.options.send(userId, signal),
      trackAdded: (kind, track, stream) => this.trackAdded(userId, kind, track, stream),
      trackRemoved: (kind) => this.options.emit(MeetingEvent.TRACK_REMOVED, { userId, kind }),
      stateChanged: () => undefined,
    }, log);
    this.links.set(userId, link);
    return link;
  }

  private trackAdded(userId: string, kind: TrackKind, track: MediaStreamTrack, stream: MediaStream): void {
    this.options.emit(MeetingEvent.TRACK_ADDED, { userId, kind, track, stream });
  }

  /** Every link's statistics; the meeting is as good as its worst link. */
  private async readStats(): Promise<void> {
    const readings = await Promise.all([...this.links.values()].map((link) => link.stats().catch(() => null)));
    let quality: NetworkQuality | null = null;
    let rttMs: number | null = null;
    let packetLoss: number | null = null;
    let jitterMs: number | null = null;
    for (const reading of readings) {
      if (reading === null) continue;
      const grade = gradeLink(reading.rttMs, reading.loss, reading.jitterMs);
      quality = quality === null ? grade : worst(quality, grade);
      rttMs = max(rttMs, reading.rttMs);
      packetLoss = max(packetLoss, reading.loss);
      jitterMs = max(jitterMs, reading.jitterMs);
    }
    if (quality === null) return; // no media flows: the WebSocket's heartbeat decides
    this.report(quality, { rttMs, packetLoss, jitterMs, missedPongs: 0 }, true);
  }

  /** Emitted when the quality changes, and when its source does (media started or stopped
   * flowing), so that a page shows the links' figures as soon as there are any. */
  private report(
    quality: NetworkQuality,
    figures: { rttMs: number | null; packetLoss: number | null; jitterMs: number | null; missedPongs: number },
    fromLinks: boolean,
  ): void {
    if ((quality === this.current && fromLinks === this.fromLinks) || this.closed) return;
    const previous = this.current;
    this.current = quality;
    this.fromLinks = fromLinks;
    this.options.emit(MeetingEvent.NETWORK_QUALITY_CHANGED, { quality, previous, ...figures });
  }
}

function isOffer(signal: Record<string, unknown>): boolean {
  const description = signal.description as { type?: unknown; sdp?: unknown } | undefined;
  return signal.kind === "description" && description?.type === "offer" && typeof description.sdp === "string";
}

function isFreshOffer(link: PeerLink, signal: Record<string, unknown>): boolean {
  if (!isOffer(signal) || link.remoteSession === null) return false;
  const session = sessionOf((signal.description as { sdp: string }).sdp);
  return session !== null && session !== link.remoteSession;
}

function max(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
