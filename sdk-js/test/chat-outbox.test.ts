/**
 * Chat sent while away, and chat the server refuses as too many (42901): the outbox re-sends
 * the backlog paced (at most one per CHAT_RESEND_INTERVAL_MS), sends a refused message again
 * after the server's `retry_after` (up to CHAT_MAX_REFUSALS refusals), and a message that
 * finally fails rejects its promise and fires `error` — none is lost unseen. Chat refused
 * because the server cannot store it now (50301, its database unreachable) is retried the same
 * way, for as long as a lost connection would be (`reconnectTimeoutMs`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { MeetingError } from "../src/errors.js";
import { CHAT_MAX_REFUSALS, CHAT_RESEND_INTERVAL_MS } from "../src/meeting.js";
import type { Meeting } from "../src/meeting.js";
import { ConnectionState, MeetingEvent } from "../src/types.js";
import type { ChatMessage } from "../src/types.js";
import { LINK_OPTIONS } from "./utils/fake-server.js";
import type { FakeServer } from "./utils/fake-server.js";
import { errorsOf, joined, leaveAll, ME, ROOM } from "./utils/meeting.js";

/** The server's chat limit: at most `count` accepted in any `periodMs` (a sliding window). */
class ChatLimit {
  readonly accepted: number[] = []; // when each accepted message arrived
  readonly stored: string[] = [];
  refused = 0;
  /** the database is down: every message is refused with 50301 (nothing stored) */
  down = false;
  unavailable = 0;
  private readonly ids = new Map<string, string>(); // client_msg_id → message_id

  constructor(
    readonly count: number,
    readonly periodMs = 1_000,
  ) {}

  install(server: FakeServer): void {
    server.handlers.chat_message = (socket, message) => {
      const now = Date.now();
      const window = this.accepted.filter((at) => at > now - this.periodMs);
      const clientMsgId = String(message.data.client_msg_id);
      if (this.down) {
        this.unavailable += 1;
        const details = { database: "unreachable", retry_after: 1 };
        socket.serverSend("error", { code: 50301, message: "服务暂不可用", request_seq: message.seq, details });
        return;
      }
      if (window.length >= this.count) {
        this.refused += 1;
        const retryAfter = Math.max(1, Math.ceil(((window[0] ?? now) + this.periodMs - now) / 1000));
        socket.serverSend("error", {
          code: 42901,
          message: "请求过于频繁，请稍后再试",
          request_seq: message.seq,
          details: { retry_after: retryAfter },
        });
        return;
      }
      let id = this.ids.get(clientMsgId);
      if (id === undefined) {
        // stored once per client_msg_id, as the server does
        this.accepted.push(now);
        this.stored.push(String(message.data.content));
        id = `msg_${this.stored.length}`;
        this.ids.set(clientMsgId, id);
      }
      socket.serverSend("chat_message", {
        message_id: id,
        room_id: ROOM,
        sender: ME,
        content: message.data.content,
        created_at: new Date(now).toISOString(),
        client_msg_id: clientMsgId,
      });
    };
  }

  /** The most accepted in any window of the period. */
  get busiestWindow(): number {
    return Math.max(0, ...this.accepted.map((start) => this.accepted.filter((at) => at >= start && at < start + this.periodMs).length));
  }
}

/** Drop the connection, send `count` messages while away, and come back. */
async function queueWhileAway(server: FakeServer, meeting: Meeting, count: number) {
  server.reachable = false;
  server.last.serverDrop();
  await vi.advanceTimersByTimeAsync(0);
  expect(meeting.connectionState).toBe(ConnectionState.RECONNECTING);
  const contents = Array.from({ length: count }, (_, i) => `queued ${i}`);
  const outcomes: Array<ChatMessage | MeetingError | undefined> = contents.map(() => undefined);
  contents.forEach((text, i) => {
    meeting.sendChatMessage(text).then(
      (message) => (outcomes[i] = message),
      (error: MeetingError) => (outcomes[i] = error),
    );
  });
  await vi.advanceTimersByTimeAsync(500);
  expect(server.last.received.filter((m) => m.type === "chat_message")).toEqual([]); // still away
  server.reachable = true;
  return { contents, outcomes };
}

const chatEvents = (events: Array<{ event: MeetingEvent; payload: Record<string, unknown> }>) =>
  events.filter((e) => e.event === MeetingEvent.CHAT_MESSAGE).map((e) => e.payload.content);

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, "random").mockReturnValue(1);
});

afterEach(async () => {
  await leaveAll();
  vi.useRealTimers();
});

describe("Meeting: chat queued through a reconnect", () => {
  it("goes out paced after the rejoin: the 10/s limit refuses none, each arrives once, in order", async () => {
    const limit = new ChatLimit(10);
    const { server, meeting, events } = await joined((s) => limit.install(s));
    const { contents, outcomes } = await queueWhileAway(server, meeting, 30);
    await vi.advanceTimersByTimeAsync(2_000); // reconnected, the first ones out
    expect(meeting.connectionState).toBe(ConnectionState.CONNECTED);
    expect(limit.stored.length).toBeGreaterThan(0);
    expect(limit.stored.length).toBeLessThan(30); // paced, not one burst
    await vi.advanceTimersByTimeAsync(30 * CHAT_RESEND_INTERVAL_MS);
    expect(limit.refused).toBe(0);
    expect(limit.busiestWindow).toBeLessThanOrEqual(9);
    expect(limit.stored).toEqual(contents);
    expect(outcomes.map((o) => (o as ChatMessage).content)).toEqual(contents);
    expect(chatEvents(events)).toEqual(contents);
    expect(errorsOf(events)).toEqual([]);
  });

  it("a message sent while the backlog drains goes behind it", async () => {
    const limit = new ChatLimit(10);
    const { server, meeting } = await joined((s) => limit.install(s));
    const { contents } = await queueWhileAway(server, meeting, 30);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(meeting.connectionState).toBe(ConnectionState.CONNECTED);
    expect(limit.stored.length).toBeLessThan(30);
    const late = meeting.sendChatMessage("sent during the drain");
    await vi.advanceTimersByTimeAsync(40 * CHAT_RESEND_INTERVAL_MS);
    await expect(late).resolves.toMatchObject({ content: "sent during the drain" });
    expect(limit.stored).toEqual([...contents, "sent during the drain"]);
  });
});

describe("Meeting: chat refused as too many (42901)", () => {
  it("is sent again after retry_after, and everything arrives once, in order", async () => {
    const limit = new ChatLimit(4);
    const { server, meeting, events, log } = await joined((s) => limit.install(s));
    const { contents, outcomes } = await queueWhileAway(server, meeting, 12);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(limit.refused).toBeGreaterThan(0);
    expect(limit.busiestWindow).toBeLessThanOrEqual(4);
    expect(limit.stored).toEqual(contents);
    expect(outcomes.map((o) => (o as ChatMessage).content)).toEqual(contents);
    expect(chatEvents(events)).toEqual(contents);
    expect(errorsOf(events)).toEqual([]);
    expect(log.lines.some((line) => line.text.includes("sent again in 1 s"))).toBe(true);
  });

  it("a fresh send refused is retried too", async () => {
    const limit = new ChatLimit(1);
    const { meeting, events } = await joined((s) => limit.install(s));
    const first = meeting.sendChatMessage("one");
    const second = meeting.sendChatMessage("two");
    await vi.advanceTimersByTimeAsync(0);
    expect(limit.stored).toEqual(["one"]);
    expect(limit.refused).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(limit.stored).toEqual(["one"]); // not before retry_after
    await vi.advanceTimersByTimeAsync(1);
    await expect(first).resolves.toMatchObject({ content: "one" });
    await expect(second).resolves.toMatchObject({ content: "two" });
    expect(errorsOf(events)).toEqual([]);
  });

  it(`refused ${CHAT_MAX_REFUSALS} times: the promise rejects and an error event reports it`, async () => {
    const { server, meeting, events } = await joined();
    let attempts = 0;
    server.handlers.chat_message = (socket, message) => {
      attempts += 1;
      const details = { retry_after: 2 };
      socket.serverSend("error", { code: 42901, message: "请求过于频繁，请稍后再试", request_seq: message.seq, details });
    };
    let outcome: unknown;
    meeting.sendChatMessage("never accepted").catch((error: unknown) => (outcome = error));
    await vi.advanceTimersByTimeAsync(2_000 * (CHAT_MAX_REFUSALS - 1) - 1);
    expect(attempts).toBe(CHAT_MAX_REFUSALS - 1);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(CHAT_MAX_REFUSALS);
    expect(outcome).toMatchObject({ serverCode: 42901 });
    expect(errorsOf(events)).toHaveLength(1);
    expect(errorsOf(events)[0]).toMatchObject({ serverCode: 42901, details: { serverDetails: { retry_after: 2 } } });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts).toBe(CHAT_MAX_REFUSALS); // bounded
  });

  it("another refusal is not retried: the promise rejects, no error event", async () => {
    const { server, meeting, events } = await joined();
    server.handlers.chat_message = (socket, message) => {
      socket.serverSend("error", { code: 40005, message: "会议已结束", request_seq: message.seq });
    };
    await expect(meeting.sendChatMessage("too late")).rejects.toMatchObject({ serverCode: 40005 });
    expect(errorsOf(events)).toEqual([]);
  });
});

describe("Meeting: chat refused as unavailable (50301, the server's database is down)", () => {
  it("is sent again every retry_after until it is stored: each arrives once, in order", async () => {
    const limit = new ChatLimit(10);
    const { meeting, events, log } = await joined((s) => limit.install(s));
    limit.down = true;
    const contents = ["during 0", "during 1", "during 2"];
    const outcomes: Array<ChatMessage | undefined> = [];
    for (const text of contents) {
      meeting.sendChatMessage(text).then((message) => outcomes.push(message), () => undefined);
      await vi.advanceTimersByTimeAsync(300); // typed a little apart, all in the outage
    }
    await vi.advanceTimersByTimeAsync(3_000); // down for about 4 s (under reconnectTimeoutMs)
    expect(limit.stored).toEqual([]);
    // The oldest goes again once a second; the others wait behind it (their order is kept).
    expect(limit.unavailable).toBeGreaterThanOrEqual(3);
    expect(limit.unavailable).toBeLessThanOrEqual(5);
    limit.down = false;
    await vi.advanceTimersByTimeAsync(1_000 + 3 * CHAT_RESEND_INTERVAL_MS);
    expect(limit.stored).toEqual(contents);
    expect(outcomes.map((o) => o?.content)).toEqual(contents);
    expect(chatEvents(events)).toEqual(contents);
    expect(errorsOf(events)).toEqual([]);
    expect(log.lines.some((line) => line.text.includes("refused as unavailable: sent again in 1 s"))).toBe(true);
  });

  it("refused for longer than reconnectTimeoutMs: the promise rejects and an error event says so", async () => {
    const limit = new ChatLimit(10);
    const { meeting, events } = await joined((s) => limit.install(s));
    limit.down = true;
    let outcome: unknown;
    meeting.sendChatMessage("never stored").catch((error: unknown) => (outcome = error));
    await vi.advanceTimersByTimeAsync(LINK_OPTIONS.reconnectTimeoutMs - 1);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcome).toMatchObject({ serverCode: 50301 });
    expect(errorsOf(events)).toHaveLength(1);
    expect(errorsOf(events)[0]).toMatchObject({ serverCode: 50301 });
    const attempts = limit.unavailable;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(limit.unavailable).toBe(attempts); // bounded
  });
});
