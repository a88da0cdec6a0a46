/**
 * A meeting's WebSocket over time: the contract's envelope and per-connection `seq`, requests
 * that wait for their answer, the heartbeat, and reconnecting with backoff and jitter.
 * It knows nothing about rooms: its owner (a `Meeting`) re-enters after each (re)connect.
 */
import { MeetingError, SDKErrorCode, networkError, serverError } from "./errors.js";
import type { Logger } from "./log.js";
import { ClientMessage, CloseCode, ErrorCode, ServerMessage } from "./protocol.js";
import type { ConnectedData, ErrorData } from "./protocol.js";
import type { RestClient } from "./rest.js";
import { DEAD_AFTER_MISSED, backoff, expiresSoon, sleep } from "./timing.js";
import { ConnectionState } from "./types.js";

/** A server message: the contract's envelope. */
export interface Incoming {
  type: string;
  seq: number;
  timestamp: number;
  data: Record<string, unknown>;
}

export type Match = (message: Incoming) => boolean;

/** Closes after which reconnecting would be refused or wrong. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.UNAUTHORIZED,
  CloseCode.TAKEN_OVER,
  CloseCode.MEETING_ENDED,
]);

export interface LinkOptions {
  wsUrl: string;
  language?: string;
  requestTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** a ping unanswered this long is missed (two in a row, nothing received: the link is dead) */
  pongTimeoutMs: number;
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  reconnectTimeoutMs: number;
}

export interface LinkOwner {
  onMessage(message: Incoming): void;
  /** After each (re)connect: enter the room again. */
  enter(first: boolean): Promise<void>;
  onState(state: ConnectionState, closeCode: number | null, reason: string | null, error: MeetingError | null): void;
  onSocketQuality(rttMs: number | null, missedPongs: number): void;
}

interface Waiter {
  seq: number | null;
  match: Match;
  resolve(message: Incoming): void;
  reject(error: MeetingError): void;
}

/** One open WebSocket: the welcome it got, its seq counter, and how it ended. */
class Socket {
  private seq = 0;
  readonly closed: Promise<number>;
  private markClosed!: (code: number) => void;

  private constructor(
    readonly ws: WebSocket,
    readonly welcome: ConnectedData,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    ws.addEventListener("close", (event) => this.markClosed(event.code));
  }

  /** Open, and wait for `connected` (or the server's refusal: 40102/40103 then 4401). */
  static open(url: string, token: string, timeoutMs: number, onMessage: (m: Incoming) => void): Promise<Socket> {
    const address = new URL(url, globalThis.location?.href);
    address.searchParams.set("access_token", token);
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(address.toString());
      let socket: Socket | null = null;
      const timer = setTimeout(() => {
        ws.close();
        reject(networkError(`no welcome from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.addEventListener("message", (event) => {
        const message = parse(event.data);
        if (message === null) return;
        if (socket !== null) return onMessage(message);
        clearTimeout(timer);
        if (message.type === ServerMessage.CONNECTED) {
          socket = new Socket(ws, message.data as unknown as ConnectedData);
          resolve(socket);
        } else if (message.type === ServerMessage.ERROR) {
          const data = message.data as unknown as ErrorData;
          ws.close();
          reject(serverError(data.code, data.message, data.details));
        }
      });
      ws.addEventListener("close", (event) => {
        clearTimeout(timer);
        if (socket === null) reject(networkError("the connection was refused or lost", { closeCode: event.code }));
      });
    });
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(type: string, data: object | undefined, seq: number): void {
    if (!this.open) throw networkError("the connection is closed");
    this.ws.send(JSON.stringify({ type, seq, timestamp: Date.now(), data: data ?? {} }));
  }

  /** Drop at once, without waiting for the close handshake a dead network never answers. */
  abort(code = 1006): void {
    this.markClosed(code);
    try {
      this.ws.close();
    } catch {
      // already closing
    }
  }
}

function parse(raw: unknown): Incoming | null {
  if (typeof raw !== "string") return null;
  try {
    const message = JSON.parse(raw) as Incoming;
    return message && typeof message.type === "string" ? { ...message, data: message.data ?? {} } : null;
  } catch {
    return null;
  }
}

export class Link {
  state = ConnectionState.DISCONNECTED;
  /** Counts the sockets opened: what was sent on an older one may be lost. */
  generation = 0;
  private socket: Socket | null = null;
  private waiters: Waiter[] = [];
  private stopping = false;
  private connectedWaiters: Array<() => void> = [];
  // Liveness of the current socket (Date.now()): the last frame received, the last message the
  // owner sent, and a wake-up for the heartbeat when it sends one.
  private lastFrame = 0;
  private lastSent = 0;
  private wakeHeartbeat: (() => void) | null = null;

  constructor(
    private readonly options: LinkOptions,
    private readonly rest: RestClient,
    private readonly owner: LinkOwner,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.state === ConnectionState.CONNECTED;
  }

  /** The server's `connected.reconnect_grace`, seconds. */
  get reconnectGrace(): number | null {
    return this.socket?.welcome.reconnect_grace ?? null;
  }

  /** Connect and enter once (errors throw: nothing retries a first connect), then keep the
   * connection up until `close`. */
  async start(): Promise<void> {
    this.setState(ConnectionState.CONNECTING);
    try {
      await this.open(true);
    } catch (error) {
      this.close();
      throw error;
    }
    void this.supervise();
  }

  /** Stop for good: close the socket, fail whatever waits. Idempotent. */
  close(): void {
    this.stopping = true;
    this.dropSocket(true);
    this.setState(ConnectionState.DISCONNECTED);
  }

  /** Close the socket as a network failure would (tests, and a page that knows it went offline). */
  drop(): void {
    this.socket?.abort();
  }

  /** Send on the current connection (connected, or entering); returns the seq. */
  send(type: ClientMessage, data?: object, onSeq?: (seq: number) => void): number {
    const socket = this.socket;
    if (socket === null || this.stopping) throw networkError("not connected");
    const seq = socket.nextSeq();
    onSeq?.(seq);
    socket.send(type, data, seq);
    this.lastSent = Date.now();
    this.wakeHeartbeat?.(); // it checks that something comes back
    return seq;
  }

  /** Send and wait for the first message that `match`es, or the server's `error` about it. */
  async request(
    type: ClientMessage,
    data: object | undefined,
    match: Match,
    options: { waitConnected?: boolean; then?: () => void } = {},
  ): Promise<Incoming> {
    const timeout = this.options.requestTimeoutMs;
    if (options.waitConnected ?? true) await this.waitConnected(timeout);
    let waiter!: Waiter;
    const answered = new Promise<Incoming>((resolve, reject) => {
      waiter = { seq: null, match, resolve, reject };
    });
    this.waiters.push(waiter);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      this.send(type, data, (seq) => (waiter.seq = seq));
      options.then?.();
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(networkError(`no answer to ${type} within ${timeout} ms`)), timeout);
      });
      return await Promise.race([answered, timedOut]);
    } finally {
      clearTimeout(timer);
      this.removeWaiter(waiter);
    }
  }

  /** Send a message the server answers only when it refuses it (`webrtc_signal`), with a ping
   * right behind: messages are handled in order, so the pong says it was accepted. */
  async deliver(type: ClientMessage, data: object): Promise<void> {
    let pingSeq: number | null = null;
    const isPong = (m: Incoming): boolean =>
      m.type === ServerMessage.PONG && pingSeq !== null && m.data.request_seq === pingSeq;
    await this.request(type, data, isPong, {
      then: () => this.send(ClientMessage.PING, undefined, (seq) => (pingSeq = seq)),
    });
  }

  /** Send without waiting for anything (signals are fire-and-forget; a lost one is re-made). */
  post(type: ClientMessage, data: object): boolean {
    if (!this.connected && this.socket === null) return false;
    try {
      this.send(type, data);
      return true;
    } catch {
      return false;
    }
  }

  /** One ping now: its round trip in ms, or null without a pong in time. */
  async ping(): Promise<number | null> {
    const socket = this.socket;
    return socket === null ? null : this.pingOn(socket, this.options.requestTimeoutMs);
  }

  waitConnected(timeoutMs: number): Promise<void> {
    if (this.stopping) return Promise.reject(networkError("the connection is closed"));
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(networkError(`not connected within ${timeoutMs} ms`)), timeoutMs);
      this.connectedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // --- receiving ---------------------------------------------------------------------------

  private dispatch(message: Incoming): void {
    this.lastFrame = Date.now();
    if (message.type === ServerMessage.ERROR) {
      const data = message.data as unknown as ErrorData;
      const waiter = data.request_seq === null ? undefined : this.waiters.find((w) => w.seq === data.request_seq);
      if (waiter !== undefined) {
        this.removeWaiter(waiter);
        waiter.reject(serverError(data.code, data.message, data.details));
        return;
      }
    }
    this.owner.onMessage(message);
    for (const waiter of [...this.waiters]) {
      if (waiter.seq !== null && waiter.match(message)) {
        this.removeWaiter(waiter);
        waiter.resolve(message);
      }
    }
  }

  // --- connecting --------------------------------------------------------------------------

  private async open(first: boolean): Promise<void> {
    const socket = await this.connect();
    if (this.stopping) {
      socket.abort(1000); // closed for good while this socket was opening
      throw networkError("the connection is closed");
    }
    this.socket = socket;
    this.generation += 1;
    this.lastFrame = this.lastSent = Date.now();
    void this.heartbeat(socket);
    // A socket closed while entering fails the entering at once, with its close code.
    const closed = socket.closed.then((code): never => {
      throw networkError("the connection closed while entering the room", { closeCode: code });
    });
    try {
      await Promise.race([this.owner.enter(first), closed]);
    } catch (error) {
      this.dropSocket(false);
      throw error;
    }
    this.setState(ConnectionState.CONNECTED);
  }

  /** A socket opened with a valid access token: refreshed first when about to expire, and
   * once more when the server still finds it expired. */
  private async connect(): Promise<Socket> {
    const tokens = this.rest.tokens;
    if (tokens.refreshToken && expiresSoon(tokens.accessToken)) await this.rest.refresh(tokens.accessToken);
    for (let attempt = 0; ; attempt += 1) {
      const token = tokens.accessToken ?? "";
      try {
        return await Socket.open(this.options.wsUrl, token, this.options.requestTimeoutMs, (m) => this.dispatch(m));
      } catch (error) {
        if (attempt > 0 || !(error instanceof MeetingError) || error.serverCode !== ErrorCode.TOKEN_EXPIRED) {
          throw error;
        }
        await this.rest.refresh(token);
      }
    }
  }

  private async supervise(): Promise<void> {
    while (!this.stopping) {
      const socket = this.socket;
      if (socket === null) return;
      const code = await socket.closed;
      if (this.stopping || socket !== this.socket) return;
      this.dropSocket(false, code);
      if (FINAL_CLOSE_CODES.has(code)) {
        this.setState(ConnectionState.DISCONNECTED, code, finalReason(code));
        return;
      }
      if (!(await this.reconnect(code))) return;
    }
  }

  /** Try again with backoff until connected (true) or it makes no sense any more. */
  private async reconnect(code: number): Promise<boolean> {
    this.log.info(`connection lost (close code ${code}): reconnecting`);
    this.setState(ConnectionState.RECONNECTING, code, "connection lost");
    const deadline = Date.now() + this.options.reconnectTimeoutMs;
    for (let attempt = 1; Date.now() < deadline && !this.stopping; attempt += 1) {
      await sleep(backoff(attempt, this.options.reconnectBaseDelayMs, this.options.reconnectMaxDelayMs));
      if (this.stopping) return false;
      try {
        await this.open(false);
        this.log.info(`reconnected after ${attempt} attempt(s)`);
        return true;
      } catch (error) {
        const failure = error instanceof MeetingError ? error : networkError(String(error));
        const closeCode: unknown = failure.details?.closeCode;
        if (typeof closeCode === "number" && FINAL_CLOSE_CODES.has(closeCode)) {
          this.setState(ConnectionState.DISCONNECTED, closeCode, finalReason(closeCode));
          return false;
        }
        if (failure.code !== SDKErrorCode.NETWORK_ERROR) {
          this.log.warn(`cannot rejoin: ${failure.message}`);
          this.setState(ConnectionState.DISCONNECTED, null, failure.message, failure);
          return false;
        }
        this.log.info(`reconnect attempt ${attempt} failed: ${failure.message}`);
      }
    }
    if (!this.stopping) this.setState(ConnectionState.DISCONNECTED, code, "gave up reconnecting");
    return false;
  }

  // --- heartbeat ---------------------------------------------------------------------------

  /** 30 s (configurable), or a third of the server's timeout when that is shorter. */
  private interval(socket: Socket): number {
    const serverTimeout = socket.welcome.heartbeat_timeout;
    const own = this.options.heartbeatIntervalMs;
    return serverTimeout ? Math.min(own, (serverTimeout * 1000) / 3) : own;
  }

  /** The wait before reconnect (or catch-up) attempt `attempt`: exponential, capped, jittered. */
  backoff(attempt: number): number {
    return backoff(attempt, this.options.reconnectBaseDelayMs, this.options.reconnectMaxDelayMs);
  }

  /**
   * Ping every interval; a ping not answered within `pongTimeoutMs` is missed and is followed
   * by another at once (not an interval later). Two missed in a row, with nothing at all
   * received since the last went out, mean a dead link (a hung server, a network that drops
   * everything): the socket is dropped and the reconnect starts. A message sent that got no
   * frame back within `pongTimeoutMs` brings the next ping forward, so an active page notices
   * a hung server in about three pong timeouts, an idle one within an interval and two.
   */
  private async heartbeat(socket: Socket): Promise<void> {
    const interval = this.interval(socket);
    const patience = Math.min(interval, this.options.pongTimeoutMs);
    let missed = 0;
    while (socket === this.socket) {
      const started = Date.now();
      const rtt = await this.pingOn(socket, patience);
      if (socket !== this.socket) return;
      missed = rtt === null ? missed + 1 : 0;
      this.owner.onSocketQuality(rtt, missed);
      // Frames still coming (a pong queued behind a slow request) say the server lives.
      if (missed >= DEAD_AFTER_MISSED && this.lastFrame < started) {
        this.log.warn(`${missed} pings unanswered, nothing received: dropping the connection`);
        socket.abort();
        return;
      }
      if (missed === 0) await this.idle(socket, started + interval, patience);
    }
  }

  /** Until the next ping is due (`until`, Date.now() time), or earlier when a message sent has
   * had no frame back for `patience` ms (then the ping probes the link). */
  private async idle(socket: Socket, until: number, patience: number): Promise<void> {
    for (let now = Date.now(); now < until && socket === this.socket; now = Date.now()) {
      const unanswered = this.lastSent > this.lastFrame;
      if (unanswered && now - this.lastSent >= patience) {
        this.log.info(`nothing received ${patience} ms after sending: probing the link`);
        return;
      }
      const wake = unanswered ? Math.min(until, this.lastSent + patience) : until;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.wakeHeartbeat = resolve;
        timer = setTimeout(resolve, Math.max(0, wake - now));
      });
      clearTimeout(timer);
      this.wakeHeartbeat = null;
    }
  }

  private async pingOn(socket: Socket, patienceMs: number): Promise<number | null> {
    const started = performance.now();
    let waiter!: Waiter;
    const pong = new Promise<Incoming>((resolve, reject) => {
      waiter = {
        seq: null,
        match: (m) => m.type === ServerMessage.PONG && m.data.request_seq === waiter.seq,
        resolve,
        reject,
      };
    });
    this.waiters.push(waiter);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      waiter.seq = socket.nextSeq();
      socket.send(ClientMessage.PING, undefined, waiter.seq);
      const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), patienceMs)));
      const answer = await Promise.race([pong, late]);
      return answer === null ? null : performance.now() - started;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
      this.removeWaiter(waiter);
    }
  }

  // --- helpers -----------------------------------------------------------------------------

  private removeWaiter(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  private dropSocket(graceful: boolean, code = 1006): void {
    const socket = this.socket;
    this.socket = null;
    this.wakeHeartbeat?.(); // its loop sees the socket gone and ends
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(networkError("connection lost", { closeCode: code }));
    }
    if (socket === null) return;
    if (graceful && socket.open) socket.ws.close(1000);
    else socket.abort(code);
  }

  private setState(
    state: ConnectionState,
    closeCode: number | null = null,
    reason: string | null = null,
    error: MeetingError | null = null,
  ): void {
    if (state === ConnectionState.CONNECTED) {
      for (const wake of this.connectedWaiters.splice(0)) wake();
    }
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    if (previous === ConnectionState.CONNECTED) this.owner.onSocketQuality(null, DEAD_AFTER_MISSED);
    this.owner.onState(state, closeCode, reason, error);
  }
}

function finalReason(code: number): string {
  switch (code) {
    case CloseCode.UNAUTHORIZED:
      return "logged out";
    case CloseCode.TAKEN_OVER:
      return "taken over by another connection of this user";
    case CloseCode.MEETING_ENDED:
      return "the meeting ended";
    default:
      return "closed";
  }
}
