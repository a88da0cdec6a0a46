/**
 * A server that stops answering without closing anything (a hung node, a network that drops
 * everything), and side requests that fail while the socket works (docs/sdk-js.md,
 * "Resilience"): a missed pong is followed by another ping at once, a message sent that gets
 * nothing back probes the link, frames still coming keep it, and a history catch-up answered
 * 502 (or unreachable) is retried with backoff without dropping the socket.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Link } from "../src/connection.js";
import type { LinkOwner } from "../src/connection.js";
import { ClientMessage } from "../src/protocol.js";
import { RestClient } from "../src/rest.js";
import { ConnectionState, MeetingEvent } from "../src/types.js";
import { FakeServer, LINK_OPTIONS } from "./utils/fake-server.js";
import { RecordingLog } from "./utils/log.js";
import { ME, ROOM, errorsOf, joined, leaveAll } from "./utils/meeting.js";

const { CONNECTED, RECONNECTING } = ConnectionState;
const links: Link[] = [];

function setup() {
  const server = new FakeServer().install();
  const log = new RecordingLog();
  const rest = new RestClient(
    {
      apiBase: "http://server.test/v1",
      origin: "http://server.test",
      timeoutMs: 1_000,
      tokens: { accessToken: server.issueToken(), refreshToken: "refresh-1" },
    },
    log,
  );
  const states: ConnectionState[] = [];
  const quality: Array<[number | null, number]> = [];
  const owner: LinkOwner = {
    onMessage: () => undefined,
    enter: async () => undefined,
    onState: (state) => void states.push(state),
    onSocketQuality: (rtt, missed) => void quality.push([rtt, missed]),
  };
  // pings every 20 s (a third of the fake server's 60 s), pong timeout 1 s
  const link = new Link({ ...LINK_OPTIONS, pongTimeoutMs: 1_000 }, rest, owner, log);
  links.push(link);
  return { server, link, states, quality };
}

function chatFrom(id: string, content: string, clientMsgId: string | null = null) {
  return {
    message_id: id,
    room_id: ROOM,
    sender: ME,
    content,
    created_at: new Date().toISOString(),
    client_msg_id: clientMsgId,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, "random").mockReturnValue(1); // backoff without jitter
});

afterEach(async () => {
  for (const link of links.splice(0)) link.close();
  await leaveAll();
  vi.useRealTimers();
});

describe("Link: a hung server", () => {
  it("is given up one pong timeout after the first missed pong, not an interval later", async () => {
    const { server, link, states, quality } = setup();
    await link.start();
    const first = server.last;
    server.answerPings = false; // hung: from now on nothing answers
    await vi.advanceTimersByTimeAsync(20_000); // the next ping, due after the interval
    expect(first.pings).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000); // missed → another ping at once
    expect(quality.at(-1)).toEqual([null, 1]);
    expect(first.pings).toHaveLength(3);
    expect(link.state).toBe(CONNECTED);
    await vi.advanceTimersByTimeAsync(1_000); // missed again, nothing received: dead
    expect(quality.at(-1)).toEqual([null, 2]);
    expect(states.at(-1)).toBe(RECONNECTING);
    expect(first.clientCloseCode).not.toBeUndefined();
  });

  it("is probed at once when a message sent gets nothing back (the interval is 20 s)", async () => {
    const { server, link, states } = setup();
    await link.start();
    const first = server.last;
    server.answerPings = false;
    await vi.advanceTimersByTimeAsync(2_000);
    link.send(ClientMessage.CHAT_MESSAGE, { room_id: ROOM, content: "hello?", client_msg_id: "c1" });
    await vi.advanceTimersByTimeAsync(999);
    expect(first.pings).toHaveLength(1); // only the one at connect
    await vi.advanceTimersByTimeAsync(1); // 1 s without a frame: ping now
    expect(first.pings).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_000); // two pings missed
    expect(states.at(-1)).toBe(RECONNECTING); // 3 s after the send, 5 s after connecting
  });

  it("is not given up while frames still come (a pong queued behind a slow request)", async () => {
    const { server, link, states, quality } = setup();
    await link.start();
    server.answerPings = false;
    const first = server.last;
    const talk = setInterval(() => first.serverSend("user_joined", { room_id: ROOM, user: { id: "u2" } }), 500);
    try {
      await vi.advanceTimersByTimeAsync(30_000);
      expect(quality.at(-1)?.[1]).toBeGreaterThanOrEqual(2); // pongs missed in a row
      expect(link.state).toBe(CONNECTED);
      expect(states).not.toContain(RECONNECTING);
    } finally {
      clearInterval(talk);
    }
  });
});

describe("Meeting: a failed history catch-up", () => {
  it.each(["502", "unreachable"] as const)(
    "answered %s keeps the socket, is retried with backoff, and delivers in order after",
    async (failure) => {
      const { server, meeting, events } = await joined();
      server.last.serverDrop();
      server.historyFailures = [failure, failure, failure];
      server.history = [chatFrom("msg_1", "said while away")];
      await vi.advanceTimersByTimeAsync(300); // the reconnect (250 ms), the room joined
      expect(meeting.connectionState).toBe(CONNECTED);
      const second = server.last;
      second.serverSend("chat_message", chatFrom("msg_2", "live, during the catch-up"));
      await vi.advanceTimersByTimeAsync(0);
      expect(server.historyFetches).toBeGreaterThanOrEqual(1);
      expect(events.filter((e) => e.event === MeetingEvent.CHAT_MESSAGE)).toEqual([]); // held
      await vi.advanceTimersByTimeAsync(5_000); // backoff 250, 500, 1000 ms
      expect(server.historyFetches).toBe(4);
      expect(server.sockets).toHaveLength(2); // the socket that works was kept
      expect(second.clientCloseCode).toBeUndefined();
      expect(meeting.connectionState).toBe(CONNECTED);
      const chat = events.filter((e) => e.event === MeetingEvent.CHAT_MESSAGE).map((e) => e.payload.content);
      expect(chat).toEqual(["said while away", "live, during the catch-up"]);
      expect(errorsOf(events)).toEqual([]);
    },
  );

  it("a send during the catch-up resolves at its echo, not when the catch-up is done", async () => {
    const { server, meeting } = await joined();
    server.handlers.chat_message = (socket, message) =>
      socket.serverSend("chat_message", chatFrom("msg_9", String(message.data.content), String(message.data.client_msg_id)));
    server.last.serverDrop();
    server.historyFailures = Array.from({ length: 50 }, () => "502" as const);
    await vi.advanceTimersByTimeAsync(300);
    expect(meeting.connectionState).toBe(CONNECTED);
    let sent: unknown = null;
    void meeting.sendChatMessage("typed meanwhile").then((m) => (sent = m));
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toMatchObject({ messageId: "msg_9", content: "typed meanwhile" });
  });
});
