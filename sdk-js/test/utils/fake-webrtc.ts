/**
 * Browser stand-ins for WebRTC (Node has none): `MediaStreamTrack`, `MediaStream` and just
 * enough of `RTCPeerConnection` to drive `PeerLink` and `Mesh` — the W3C signaling state
 * machine (stable / have-local-offer / have-remote-offer), `setLocalDescription()` without an
 * argument making an offer or an answer by state, the implicit rollback of a local offer when a
 * remote offer arrives, `negotiationneeded` fired (queued, only when stable, re-checked on every
 * return to stable) after addTrack/addTransceiver/removeTrack/restartIce, transceivers with
 * mids paired as JSEP pairs them, `track` events for m-lines that start sending to us, and
 * `addIceCandidate` failing without a remote description, and remote tracks that start muted
 * and unmute once negotiated ("media arrives"; `holdMedia` delays that until `flowMedia()`).
 * It is no media engine: no ICE, no RTP. Its SDP is a readable subset: an `o=` line (the session id), an ice-ufrag, and for each
 * m-line its kind, mid, direction and msid.
 */
import { vi } from "vitest";

type Kind = "audio" | "video";
type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${(counter += 1)}`;

/** A task (not a microtask), as browsers queue `negotiationneeded` and ICE candidates. */
const task = (run: () => void): void => void setTimeout(run, 0);

export class FakeMediaStreamTrack extends EventTarget {
  readonly id = nextId("track");
  enabled = true;
  muted = false;
  readyState: "live" | "ended" = "live";
  contentHint = "";

  constructor(
    readonly kind: Kind,
    readonly label = `${kind} source`,
  ) {
    super();
  }

  /** As in browsers, `stop()` fires no "ended". */
  stop(): void {
    this.readyState = "ended";
  }

  /** The source ended by itself (the user stopped a screen share in the browser's bar). */
  end(): void {
    this.readyState = "ended";
    this.dispatchEvent(new Event("ended"));
  }
}

export class FakeMediaStream {
  readonly id = nextId("stream");
  private tracks: FakeMediaStreamTrack[] = [];

  constructor(tracks: FakeMediaStreamTrack[] = []) {
    for (const track of tracks) this.addTrack(track);
  }

  getTracks(): FakeMediaStreamTrack[] {
    return [...this.tracks];
  }

  getAudioTracks(): FakeMediaStreamTrack[] {
    return this.tracks.filter((track) => track.kind === "audio");
  }

  getVideoTracks(): FakeMediaStreamTrack[] {
    return this.tracks.filter((track) => track.kind === "video");
  }

  addTrack(track: FakeMediaStreamTrack): void {
    if (!this.tracks.includes(track)) this.tracks.push(track);
  }

  removeTrack(track: FakeMediaStreamTrack): void {
    this.tracks = this.tracks.filter((t) => t !== track);
  }
}

// --- directions ------------------------------------------------------------------------------

const sends = (d: Direction | null): boolean => d === "sendrecv" || d === "sendonly";
const receives = (d: Direction | null): boolean => d === "sendrecv" || d === "recvonly";
const direction = (send: boolean, recv: boolean): Direction =>
  send ? (recv ? "sendrecv" : "sendonly") : recv ? "recvonly" : "inactive";
/** the same m-line seen from the other side */
const reverse = (d: Direction): Direction => direction(receives(d), sends(d));
const intersect = (a: Direction, b: Direction): Direction => direction(sends(a) && sends(b), receives(a) && receives(b));

// --- the fake SDP ----------------------------------------------------------------------------

interface MediaLine {
  kind: Kind;
  mid: string;
  direction: Direction;
  msid: string | null;
}

export interface ParsedSdp {
  session: string | null;
  ufrag: string | null;
  media: MediaLine[];
}

export function parseSdp(sdp: string): ParsedSdp {
  const [head = "", ...sections] = sdp.split(/\r\n(?=m=)/);
  const media = sections.map((section): MediaLine => {
    const kind = /^m=(audio|video) /.exec(section)?.[1] as Kind;
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1] ?? "";
    const dir = (/^a=(sendrecv|sendonly|recvonly|inactive)$/m.exec(section)?.[1] ?? "sendrecv") as Direction;
    const msid = /^a=msid:(.+)$/m.exec(section)?.[1] ?? null;
    return { kind, mid, direction: dir, msid };
  });
  return {
    session: /^o=\S+ (\S+) /m.exec(head)?.[1] ?? null,
    ufrag: /^a=ice-ufrag:(\S+)/m.exec(head)?.[1] ?? null,
    media,
  };
}

function writeSdp(session: string, version: number, ufrag: string, media: MediaLine[]): string {
  const lines = ["v=0", `o=- ${session} ${version} IN IP4 127.0.0.1`, "s=-", "t=0 0", `a=ice-ufrag:${ufrag}`];
  for (const m of media) {
    lines.push(`m=${m.kind} 9 UDP/TLS/RTP/SAVPF 96`, `a=mid:${m.mid}`, `a=${m.direction}`);
    if (m.msid !== null) lines.push(`a=msid:${m.msid}`);
  }
  return `${lines.join("\r\n")}\r\n`;
}

// --- RTCPeerConnection -----------------------------------------------------------------------

export class FakeRtpSender {
  track: FakeMediaStreamTrack | null = null;
  streamId: string | null = null;

  async replaceTrack(track: FakeMediaStreamTrack | null): Promise<void> {
    this.track = track;
  }
}

export class FakeRtpTransceiver {
  mid: string | null = null;
  currentDirection: Direction | "stopped" | null = null;
  readonly sender = new FakeRtpSender();
  readonly receiver: { track: FakeMediaStreamTrack };
  // bookkeeping of the state machine
  /** the direction as of the last negotiation (what `negotiationneeded` compares with) */
  settled: Direction | null = null;
  offered: Direction | null = null;
  /** mid given by the pending local offer (taken back by a rollback) */
  midFromPendingOffer = false;
  /** a `track` event fired and no removal since ([[FiredDirection]] receives) */
  receiving = false;
  hasSent = false;
  stopped = false;

  constructor(
    readonly kind: Kind,
    public direction: Direction,
    /** JSEP pairs a remote offer's new m-line only with a transceiver made by addTrack */
    readonly madeByAddTrack: boolean,
  ) {
    this.receiver = { track: new FakeMediaStreamTrack(kind, `remote ${kind}`) };
  }
}

/** What an `icecandidate` event carries: RTCIceCandidate's fields, and `toJSON()`. */
export class FakeIceCandidate {
  constructor(
    readonly candidate: string,
    readonly sdpMid: string | null,
    readonly sdpMLineIndex: number | null,
    readonly usernameFragment: string | null,
  ) {}

  toJSON(): RTCIceCandidateInit {
    const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = this;
    return { candidate, sdpMid, sdpMLineIndex, usernameFragment };
  }
}

interface Description {
  type: "offer" | "answer" | "rollback" | "pranswer";
  sdp: string;
}

type Handler<E> = ((event: E) => void) | null;

export class FakeRTCPeerConnection {
  /** every peer connection made, oldest first */
  static instances: FakeRTCPeerConnection[] = [];

  readonly session = String(4_000_000_000 + FakeRTCPeerConnection.instances.length * 1_111);
  signalingState: "stable" | "have-local-offer" | "have-remote-offer" | "closed" = "stable";
  connectionState: RTCPeerConnectionState = "new";
  onnegotiationneeded: Handler<Event> = null;
  onicecandidate: Handler<{ candidate: FakeIceCandidate | null }> = null;
  ontrack: Handler<{ track: FakeMediaStreamTrack; transceiver: FakeRtpTransceiver; receiver: unknown; streams: FakeMediaStream[] }> = null;
  onconnectionstatechange: Handler<Event> = null;
  /** for tests: the remote descriptions applied, the candidates added, restartIce() calls */
  readonly appliedRemote: Description[] = [];
  readonly candidates: Array<RTCIceCandidateInit | null> = [];
  restartIceCalls = 0;
  /** true: negotiated remote tracks stay muted (no media yet) until `flowMedia()` */
  holdMedia = false;

  private readonly transceivers: FakeRtpTransceiver[] = [];
  private currentLocal: Description | null = null;
  private pendingLocal: Description | null = null;
  private currentRemote: Description | null = null;
  private pendingRemote: Description | null = null;
  private version = 1;
  private ufrag = nextId("ufrag");
  private gatheredUfrag: string | null = null;
  private iceRestart = false;
  private offerRestartsIce = false;
  private negotiationNeeded = false;
  private operations: Promise<unknown> = Promise.resolve();
  private pendingOperations = 0;
  private recheckWhenIdle = false;
  private readonly remoteStreams = new Map<string, FakeMediaStream>();

  constructor(readonly configuration?: RTCConfiguration) {
    FakeRTCPeerConnection.instances.push(this);
  }

  get localDescription(): Description | null {
    return this.pendingLocal ?? this.currentLocal;
  }

  get remoteDescription(): Description | null {
    return this.pendingRemote ?? this.currentRemote;
  }

  getTransceivers(): FakeRtpTransceiver[] {
    return [...this.transceivers];
  }

  addTrack(track: FakeMediaStreamTrack, ...streams: FakeMediaStream[]): FakeRtpSender {
    this.checkOpen();
    if (this.transceivers.some((t) => t.sender.track === track)) {
      throw new DOMException("track already added", "InvalidAccessError");
    }
    // W3C addTrack: reuse a transceiver of that kind that never sent, else make one
    let transceiver = this.transceivers.find(
      (t) => !t.stopped && t.kind === track.kind && t.sender.track === null && !t.hasSent,
    );
    if (transceiver !== undefined) {
      transceiver.direction = direction(true, receives(transceiver.direction));
    } else {
      transceiver = new FakeRtpTransceiver(track.kind, "sendrecv", true);
      this.transceivers.push(transceiver);
    }
    transceiver.sender.track = track;
    transceiver.sender.streamId = streams[0]?.id ?? null;
    this.updateNegotiationNeeded();
    return transceiver.sender;
  }

  addTransceiver(kind: Kind, init: { direction?: Direction } = {}): FakeRtpTransceiver {
    this.checkOpen();
    const transceiver = new FakeRtpTransceiver(kind, init.direction ?? "sendrecv", false);
    this.transceivers.push(transceiver);
    this.updateNegotiationNeeded();
    return transceiver;
  }

  removeTrack(sender: FakeRtpSender): void {
    this.checkOpen();
    const transceiver = this.transceivers.find((t) => t.sender === sender);
    if (transceiver === undefined || sender.track === null) return;
    sender.track = null;
    transceiver.direction = direction(false, receives(transceiver.direction));
    this.updateNegotiationNeeded();
  }

  restartIce(): void {
    this.restartIceCalls += 1;
    // W3C: only credentials already in a local description are replaced
    if (this.localDescription === null) return;
    this.iceRestart = true;
    this.updateNegotiationNeeded();
  }

  setLocalDescription(description?: { type: Description["type"] }): Promise<void> {
    return this.chain(() => {
      this.checkOpen();
      const type = description?.type ?? (this.signalingState === "have-remote-offer" ? "answer" : "offer");
      if (type === "rollback") {
        if (this.signalingState !== "have-local-offer") throw new DOMException("nothing to roll back", "InvalidStateError");
        this.rollback();
        this.returnedToStable();
      } else if (type === "offer") {
        if (this.signalingState !== "stable" && this.signalingState !== "have-local-offer") {
          throw new DOMException(`cannot offer in ${this.signalingState}`, "InvalidStateError");
        }
        this.pendingLocal = { type, sdp: this.makeOffer() };
        this.signalingState = "have-local-offer";
      } else {
        if (this.signalingState !== "have-remote-offer") {
          throw new DOMException(`cannot answer in ${this.signalingState}`, "InvalidStateError");
        }
        this.currentLocal = { type: "answer", sdp: this.makeAnswer() };
        this.currentRemote = this.pendingRemote;
        this.pendingRemote = null;
        this.signalingState = "stable";
        this.returnedToStable();
        this.mediaArrives();
      }
      this.gather();
    });
  }

  setRemoteDescription(description: Description): Promise<void> {
    return this.chain(() => {
      this.checkOpen();
      const parsed = parseSdp(description.sdp);
      if (description.type === "offer") {
        if (this.signalingState === "have-local-offer") this.rollback(); // implicit rollback (W3C)
        else if (this.signalingState !== "stable") {
          throw new DOMException(`cannot take an offer in ${this.signalingState}`, "InvalidStateError");
        }
        this.pendingRemote = { type: "offer", sdp: description.sdp };
        this.signalingState = "have-remote-offer";
        for (const line of parsed.media) this.receive(this.pair(line), line);
      } else if (description.type === "answer") {
        if (this.signalingState !== "have-local-offer") {
          throw new DOMException(`cannot take an answer in ${this.signalingState}`, "InvalidStateError");
        }
        this.currentRemote = { type: "answer", sdp: description.sdp };
        this.currentLocal = this.pendingLocal;
        this.pendingLocal = null;
        this.signalingState = "stable";
        for (const line of parsed.media) {
          const transceiver = this.transceivers.find((t) => t.mid === line.mid);
          if (transceiver === undefined) continue;
          this.settle(transceiver, reverse(line.direction), transceiver.offered);
          this.receive(transceiver, line);
        }
        for (const transceiver of this.transceivers) transceiver.midFromPendingOffer = false;
        if (this.offerRestartsIce) this.iceRestart = false;
        this.offerRestartsIce = false;
        this.returnedToStable();
        this.mediaArrives();
      } else {
        throw new DOMException(`the fake does not model ${description.type}`, "NotSupportedError");
      }
      this.appliedRemote.push({ type: description.type, sdp: description.sdp });
    });
  }

  addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void> {
    return this.chain(() => {
      this.checkOpen();
      if (this.remoteDescription === null) throw new DOMException("no remote description", "InvalidStateError");
      const mids = parseSdp(this.remoteDescription.sdp).media.map((m) => m.mid);
      if (candidate?.sdpMid != null && !mids.includes(candidate.sdpMid)) {
        throw new DOMException(`no m-line with mid ${candidate.sdpMid}`, "OperationError");
      }
      this.candidates.push(candidate ?? null);
    });
  }

  async getStats(): Promise<Map<string, Record<string, unknown>>> {
    return new Map();
  }

  close(): void {
    if (this.signalingState === "closed") return;
    this.signalingState = "closed";
    this.connectionState = "closed";
    for (const transceiver of this.transceivers) {
      transceiver.stopped = true;
      transceiver.currentDirection = "stopped";
      transceiver.receiver.track.stop();
    }
  }

  /** Media starts to arrive on every negotiated receiving m-line: its track unmutes. */
  flowMedia(): void {
    this.holdMedia = false;
    for (const transceiver of this.transceivers) {
      const track = transceiver.receiver.track;
      if (transceiver.receiving && receives(transceiver.currentDirection as Direction) && track.muted && !this.closed) {
        track.muted = false;
        track.dispatchEvent(new Event("unmute"));
      }
    }
  }

  get closed(): boolean {
    return this.signalingState === "closed";
  }

  /** The negotiated direction of each m-line, by mid (for tests). */
  get directions(): Record<string, Direction | "stopped" | null> {
    return Object.fromEntries(this.transceivers.filter((t) => t.mid !== null).map((t) => [t.mid, t.currentDirection]));
  }

  // --- the state machine -----------------------------------------------------------------------

  /** W3C's operations chain: one description or candidate at a time, in call order. */
  private chain(operation: () => void): Promise<void> {
    this.pendingOperations += 1;
    const result = this.operations.then(operation);
    this.operations = result.then(
      () => this.operationDone(),
      () => this.operationDone(),
    );
    return result;
  }

  private operationDone(): void {
    this.pendingOperations -= 1;
    if (this.pendingOperations === 0 && this.recheckWhenIdle) {
      this.recheckWhenIdle = false;
      this.updateNegotiationNeeded();
    }
  }

  private checkOpen(): void {
    if (this.signalingState === "closed") throw new DOMException("the peer connection is closed", "InvalidStateError");
  }

  private makeOffer(): string {
    if (this.iceRestart) {
      this.ufrag = nextId("ufrag");
      this.offerRestartsIce = true;
    }
    const used = new Set(this.transceivers.map((t) => t.mid));
    let next = 0;
    for (const transceiver of this.transceivers) {
      if (transceiver.stopped || transceiver.mid !== null) continue;
      while (used.has(String(next))) next += 1;
      transceiver.mid = String(next);
      used.add(transceiver.mid);
      transceiver.midFromPendingOffer = true;
    }
    const media = this.transceivers
      .filter((t) => t.mid !== null && !t.stopped)
      .map((t): MediaLine => {
        t.offered = t.direction;
        return { kind: t.kind, mid: t.mid as string, direction: t.direction, msid: this.msid(t) };
      });
    this.version += 1;
    return writeSdp(this.session, this.version, this.ufrag, media);
  }

  private makeAnswer(): string {
    const offer = parseSdp(this.pendingRemote?.sdp ?? "");
    const media = offer.media.map((line): MediaLine => {
      const transceiver = this.transceivers.find((t) => t.mid === line.mid) as FakeRtpTransceiver;
      const answered = intersect(transceiver.direction, reverse(line.direction));
      this.settle(transceiver, answered, transceiver.direction);
      return { kind: line.kind, mid: line.mid, direction: answered, msid: sends(answered) ? this.msid(transceiver) : null };
    });
    this.version += 1;
    return writeSdp(this.session, this.version, this.ufrag, media);
  }

  private msid(transceiver: FakeRtpTransceiver): string | null {
    const track = transceiver.sender.track;
    return track === null ? null : `${transceiver.sender.streamId ?? "-"} ${track.id}`;
  }

  private settle(transceiver: FakeRtpTransceiver, current: Direction, settled: Direction | null): void {
    transceiver.currentDirection = current;
    transceiver.settled = settled;
    if (sends(current)) transceiver.hasSent = true;
  }

  /** JSEP: the transceiver of a remote offer's m-line — by mid, else one made by addTrack and
   * not yet paired, else a new receive-only one. */
  private pair(line: MediaLine): FakeRtpTransceiver {
    let transceiver =
      this.transceivers.find((t) => t.mid === line.mid) ??
      this.transceivers.find((t) => t.madeByAddTrack && t.mid === null && !t.stopped && t.kind === line.kind);
    if (transceiver === undefined) {
      transceiver = new FakeRtpTransceiver(line.kind, "recvonly", false);
      this.transceivers.push(transceiver);
    }
    transceiver.mid = line.mid;
    return transceiver;
  }

  /** W3C "process the addition/removal of a remote track" for one m-line of a remote description. */
  private receive(transceiver: FakeRtpTransceiver, line: MediaLine): void {
    const track = transceiver.receiver.track;
    if (sends(line.direction) && !transceiver.receiving) {
      transceiver.receiving = true;
      track.muted = true; // until its media arrives
      const streamId = line.msid?.split(" ")[0] ?? "-";
      let stream = this.remoteStreams.get(streamId);
      if (stream === undefined) {
        stream = new FakeMediaStream();
        this.remoteStreams.set(streamId, stream);
      }
      stream.addTrack(track);
      this.ontrack?.({ track, transceiver, receiver: transceiver.receiver, streams: [stream] });
    } else if (!sends(line.direction) && transceiver.receiving) {
      transceiver.receiving = false;
      if (!track.muted) {
        track.muted = true; // a removed remote track is muted, not ended
        track.dispatchEvent(new Event("mute"));
      }
    }
  }

  /** Once negotiated, media flows on the m-lines the other side sends on (on a later task). */
  private mediaArrives(): void {
    if (this.holdMedia) return;
    task(() => {
      if (!this.holdMedia) this.flowMedia();
    });
  }

  private rollback(): void {
    this.pendingLocal = null;
    this.signalingState = "stable";
    this.offerRestartsIce = false;
    for (const transceiver of this.transceivers) {
      if (transceiver.midFromPendingOffer) transceiver.mid = null;
      transceiver.midFromPendingOffer = false;
    }
  }

  /** W3C: back in stable, negotiation-needed is checked again (and fires again if still needed). */
  private returnedToStable(): void {
    this.negotiationNeeded = false;
    this.updateNegotiationNeeded();
  }

  private needsNegotiation(): boolean {
    if (this.iceRestart) return true;
    return this.transceivers.some((t) => !t.stopped && (t.mid === null || t.direction !== t.settled));
  }

  private updateNegotiationNeeded(): void {
    if (this.closed) return;
    if (this.pendingOperations > 0) {
      this.recheckWhenIdle = true;
      return;
    }
    if (this.signalingState !== "stable") return; // checked again when back in stable
    task(() => {
      if (this.closed || this.signalingState !== "stable") return;
      if (!this.needsNegotiation()) {
        this.negotiationNeeded = false;
        return;
      }
      if (this.negotiationNeeded) return;
      this.negotiationNeeded = true;
      this.onnegotiationneeded?.(new Event("negotiationneeded"));
    });
  }

  /** One host candidate, then the end of candidates, once per ICE generation. */
  private gather(): void {
    const first = this.transceivers.find((t) => t.mid !== null);
    if (first === undefined || this.gatheredUfrag === this.ufrag) return;
    this.gatheredUfrag = this.ufrag;
    const line = `candidate:1 1 udp 2122260223 192.0.2.1 9 typ host ufrag ${this.ufrag}`;
    const candidate = new FakeIceCandidate(line, first.mid, 0, this.ufrag);
    task(() => {
      if (this.closed) return;
      this.onicecandidate?.({ candidate });
      this.onicecandidate?.({ candidate: null });
    });
  }
}

/** Put the fakes on globalThis (undone by `unstubGlobals`). */
export function installWebRtcFakes(): void {
  FakeRTCPeerConnection.instances = [];
  vi.stubGlobal("MediaStream", FakeMediaStream);
  vi.stubGlobal("MediaStreamTrack", FakeMediaStreamTrack);
  vi.stubGlobal("RTCPeerConnection", FakeRTCPeerConnection);
}

/** A stand-in for `LocalMedia` (src/media/local.ts): what PeerLink reads of it. */
export interface FakeLocal {
  stream: FakeMediaStream;
  screen: FakeMediaStream | null;
  readonly audioTrack: FakeMediaStreamTrack | null;
  readonly videoTrack: FakeMediaStreamTrack | null;
  readonly screenTrack: FakeMediaStreamTrack | null;
  /** start sharing a screen: a new track in its own stream */
  shareScreen(): { track: FakeMediaStreamTrack; stream: FakeMediaStream };
  stopScreen(): void;
}

export function fakeLocalMedia(devices: { audio?: boolean; video?: boolean; screen?: boolean } = {}): FakeLocal {
  const stream = new FakeMediaStream();
  if (devices.audio ?? true) stream.addTrack(new FakeMediaStreamTrack("audio", "microphone"));
  if (devices.video ?? true) stream.addTrack(new FakeMediaStreamTrack("video", "camera"));
  const local: FakeLocal = {
    stream,
    screen: null,
    get audioTrack() {
      return stream.getAudioTracks()[0] ?? null;
    },
    get videoTrack() {
      return stream.getVideoTracks()[0] ?? null;
    },
    get screenTrack() {
      return local.screen?.getVideoTracks()[0] ?? null;
    },
    shareScreen() {
      const track = new FakeMediaStreamTrack("video", "screen");
      local.screen = new FakeMediaStream([track]);
      return { track, stream: local.screen };
    },
    stopScreen() {
      local.screen = null;
    },
  };
  if (devices.screen) local.shareScreen();
  return local;
}
