/**
 * Browser stand-in: Node 20 has no `WebSocket`, so `FakeServer.install()` puts a small fake one
 * on globalThis whose other end plays the AI Meeting server's side of the realtime protocol
 * (docs/realtime.md) — `connected` first as seq 1, `ping` → `pong {request_seq}`, a refused
 * token as `error` 40102/40103 then close 4401 — and stubs `fetch` to answer `/auth/refresh`.
 * Everything travels on promise callbacks, never on timers, so tests may fake the clock.
 */
import { vi } from "vitest";

import type { LinkOptions } from "../../src/connection.js";
import { unsignedJwt, nowS } from "./jwt.js";

/** Link options for tests against the fake server: short timeouts, a fake address. */
export const LINK_OPTIONS: LinkOptions = {
  wsUrl: "ws://server.test/v1/ws",
  requestTimeoutMs: 1_000,
  heartbeatIntervalMs: 30_000,
  pongTimeoutMs: 5_000,
  reconnectBaseDelayMs: 100,
  reconnectMaxDelayMs: 1_000,
  reconnectTimeoutMs: 5_000,
};

export interface Sent {
  type: string;
  seq: number;
  timestamp: number;
  data: Record<string, unknown>;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** A network hop: after the current synchronous code, in order. */
function later(deliver: () => void): void {
  void Promise.resolve().then(deliver);
}

/** The client's `WebSocket`; its `server*` methods are what the server does to it. */
export class FakeWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  readyState = CONNECTING;
  /** the access token in the URL */
  readonly token: string | null;
  /** when it was constructed (the fake clock's Date.now()) */
  readonly openedAt = Date.now();
  /** what the client sent, as the server read it */
  readonly received: Sent[] = [];
  /** the close code the client asked for, when the client closed */
  clientCloseCode: number | null | undefined = undefined;
  closeCode: number | null = null;
  private serverSeq = 0;

  constructor(
    readonly url: string,
    readonly server: FakeServer,
  ) {
    super();
    this.token = new URL(url).searchParams.get("access_token");
    server.sockets.push(this);
    later(() => server.accept(this));
  }

  send(text: string): void {
    if (this.readyState === CONNECTING) throw new DOMException("still connecting", "InvalidStateError");
    if (this.readyState !== OPEN) return; // browsers drop what is sent after a close
    const message = JSON.parse(text) as Sent;
    later(() => {
      if (this.readyState !== OPEN) return;
      this.received.push(message);
      this.server.receive(this, message);
    });
  }

  close(code?: number): void {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    const failed = this.readyState === CONNECTING;
    this.readyState = CLOSING;
    this.clientCloseCode = code ?? null;
    later(() => this.finish(failed ? 1006 : (code ?? 1005)));
  }

  // --- the server's side ---------------------------------------------------------------------

  /** Send an envelope (the server numbers them from 1 per connection). */
  serverSend(type: string, data: Record<string, unknown>): void {
    if (this.readyState !== OPEN) return;
    this.serverSeq += 1;
    const text = JSON.stringify({ type, seq: this.serverSeq, timestamp: Date.now(), data });
    later(() => {
      if (this.readyState === OPEN) this.dispatchEvent(new MessageEvent("message", { data: text }));
    });
  }

  /** Close with a close frame (4401, 4409, 4410, 1001, 4408 …). */
  serverClose(code: number): void {
    later(() => this.finish(code)); // after what was sent before it
  }

  /** The network went away: no close frame, the browser reports 1006. */
  serverDrop(): void {
    later(() => this.finish(1006));
  }

  /** The pings the client sent. */
  get pings(): Sent[] {
    return this.received.filter((message) => message.type === "ping");
  }

  private finish(code: number): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.closeCode = code;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason: "", wasClean: code !== 1006 }));
  }

  /** called by the server when the upgrade succeeded */
  markOpen(): void {
    this.readyState = OPEN;
    this.dispatchEvent(new Event("open"));
  }
}

export type Handler = (socket: FakeWebSocket, message: Sent) => void;

export class FakeServer {
  /** every socket the client opened, oldest first */
  readonly sockets: FakeWebSocket[] = [];
  userId = "user_me";
  heartbeatTimeout = 60;
  reconnectGrace = 30;
  /** false: the host cannot be reached (sockets fail with 1006 before opening) */
  reachable = true;
  /** false: pings get no pong (a silently dead network) */
  answerPings = true;
  /** the error code a token is refused with at connect (40102 expired, 40103 invalid), or null */
  refuseToken: (token: string | null) => number | null = () => null;
  /** what the server does with a client message type (default: `ping` → `pong`, others ignored) */
  readonly handlers: Record<string, Handler> = {};
  /** refresh tokens received by POST /auth/refresh */
  readonly refreshes: string[] = [];
  /** the stored chat GET /meetings/{id}/messages answers with, newest first (one page) */
  history: Array<Record<string, unknown>> = [];
  /** how the next history fetches fail, one entry each: "502" (a balancer's HTML page, its node
   * failed) or "unreachable" (`fetch` rejects); empty: they work */
  historyFailures: Array<"502" | "unreachable"> = [];
  /** GET /meetings/{id}/messages received */
  historyFetches = 0;
  /** false: /auth/refresh answers 401 40103 */
  refreshAccepted = true;
  /** true: upgrades wait, unanswered, until `release()` (a slow network) */
  holdUpgrades = false;
  private held: FakeWebSocket[] = [];
  readonly fetch = vi.fn((input: string | URL | Request, init?: RequestInit) => this.answerFetch(input, init));
  private issued = 0;

  /** Put the fake `WebSocket` and `fetch` on globalThis (undone by `unstubGlobals`). */
  install(): this {
    const server = this;
    vi.stubGlobal(
      "WebSocket",
      class extends FakeWebSocket {
        constructor(url: string | URL) {
          super(String(url), server);
        }
      },
    );
    vi.stubGlobal("fetch", this.fetch);
    return this;
  }

  get last(): FakeWebSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (socket === undefined) throw new Error("no socket was opened");
    return socket;
  }

  /** A fresh access token, valid for an hour. */
  issueToken(lifetimeS = 3600): string {
    this.issued += 1;
    return unsignedJwt({ sub: this.userId, jti: `access-${this.issued}`, type: "access", exp: nowS() + lifetimeS });
  }

  /** Answer the upgrades held so far. */
  release(): void {
    this.holdUpgrades = false;
    for (const socket of this.held.splice(0)) this.accept(socket);
  }

  accept(socket: FakeWebSocket): void {
    if (socket.readyState !== CONNECTING) return;
    if (this.holdUpgrades) return void this.held.push(socket);
    if (!this.reachable) return socket.serverDrop();
    socket.markOpen();
    const refusal = this.refuseToken(socket.token);
    if (refusal !== null) {
      socket.serverSend("error", { code: refusal, message: "Token 无效", request_seq: null });
      socket.serverClose(4401);
      return;
    }
    socket.serverSend("connected", {
      user_id: this.userId,
      heartbeat_timeout: this.heartbeatTimeout,
      reconnect_grace: this.reconnectGrace,
    });
  }

  receive(socket: FakeWebSocket, message: Sent): void {
    const handler = this.handlers[message.type];
    if (handler !== undefined) return handler(socket, message);
    if (message.type === "ping" && this.answerPings) socket.serverSend("pong", { request_seq: message.seq ?? null });
  }

  private async answerFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname.endsWith("/auth/refresh") && init?.method === "POST") {
      const body = JSON.parse(String(init.body)) as { refresh_token: string };
      this.refreshes.push(body.refresh_token);
      if (!this.refreshAccepted) return json(401, { code: 40103, message: "Token 无效" });
      return json(200, { code: 0, message: "success", data: { access_token: this.issueToken() } });
    }
    if (/\/meetings\/[^/]+\/messages$/.test(url.pathname) && (init?.method ?? "GET") === "GET") {
      this.historyFetches += 1;
      const failure = this.historyFailures.shift();
      if (failure === "unreachable") throw new TypeError("Failed to fetch");
      if (failure === "502") {
        return new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", {
          status: 502,
          headers: { "Content-Type": "text/html" },
        });
      }
      return json(200, { code: 0, message: "success", data: { messages: this.history, has_more: false } });
    }
    return json(404, { code: 40400, message: "接口不存在" });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
