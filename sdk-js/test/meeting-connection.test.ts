/**
 * How a Meeting reports the end of its connection (docs/sdk.md "ERROR fires … when the
 * connection ends for good"): the Link tells its owner the state and close code; the Meeting
 * turns that into `connection_state_changed`, and `error` or `meeting_ended`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { MeetingError, SDKErrorCode } from "../src/errors.js";
import { LocalMedia } from "../src/media/local.js";
import { Meeting } from "../src/meeting.js";
import { RestClient } from "../src/rest.js";
import { ConnectionState, MeetingEvent, MeetingState } from "../src/types.js";
import { FakeServer, LINK_OPTIONS } from "./utils/fake-server.js";
import { installWebRtcFakes } from "./utils/fake-webrtc.js";
import { RecordingLog } from "./utils/log.js";

const ME = { id: "user_me", nickname: "Me", avatar: null };
const ROOM = "meeting_1";

const meetings: Meeting[] = [];

async function joined() {
  installWebRtcFakes(); // LocalMedia and the mesh make MediaStreams
  const server = new FakeServer().install();
  server.handlers.join_room = (socket) => {
    const me = { user_id: ME.id, nickname: ME.nickname, avatar: null, joined_at: "2025-01-01T00:00:00.000Z" };
    socket.serverSend("room_state", {
      room_id: ROOM,
      participants: [{ ...me, audio_muted: false, video_muted: false, screen_sharing: false }],
    });
  };
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
  const meeting = new Meeting({
    rest,
    me: ME,
    detail: { id: ROOM, meeting_number: "123456789", title: "standup", status: "active" },
    local: new LocalMedia(log),
    iceServers: [],
    iceTransportPolicy: "all",
    statsIntervalMs: 60_000,
    log,
    link: LINK_OPTIONS,
  });
  meetings.push(meeting);
  const events: Array<{ event: MeetingEvent; payload: Record<string, unknown> }> = [];
  for (const event of Object.values(MeetingEvent)) meeting.on(event, (payload) => events.push({ event, payload }));
  await meeting.start();
  return { server, meeting, events };
}

const errors = (events: Array<{ event: MeetingEvent; payload: Record<string, unknown> }>) =>
  events.filter((e) => e.event === MeetingEvent.ERROR).map((e) => e.payload as unknown as MeetingError);

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, "random").mockReturnValue(1);
});

afterEach(async () => {
  for (const meeting of meetings.splice(0)) await meeting.leave();
  vi.useRealTimers();
});

describe("Meeting: the end of the connection", () => {
  it("reconnecting given up → disconnected, and an ERROR with NETWORK_ERROR and the close code", async () => {
    const { server, meeting, events } = await joined();
    expect(meeting.connectionState).toBe(ConnectionState.CONNECTED);
    server.reachable = false;
    server.last.serverDrop();
    await vi.advanceTimersByTimeAsync(7_000);
    expect(meeting.connectionState).toBe(ConnectionState.DISCONNECTED);
    const states = events.filter((e) => e.event === MeetingEvent.CONNECTION_STATE_CHANGED).map((e) => e.payload);
    expect(states.map((s) => s.state)).toEqual(["connecting", "connected", "reconnecting", "disconnected"]);
    expect(states.at(2)).toMatchObject({ state: "reconnecting", previous: "connected", closeCode: 1006 });
    expect(states.at(-1)).toMatchObject({ state: "disconnected", previous: "reconnecting", closeCode: 1006, reason: "gave up reconnecting" });
    expect(errors(events)).toHaveLength(1);
    expect(errors(events)[0]).toBeInstanceOf(MeetingError);
    expect(errors(events)[0]).toMatchObject({ code: SDKErrorCode.NETWORK_ERROR, details: { closeCode: 1006 } });
    await expect(meeting.sendChatMessage("still there?")).rejects.toMatchObject({ code: SDKErrorCode.NETWORK_ERROR });
  });

  it("taken over (4409) → an ERROR with NETWORK_ERROR and close code 4409", async () => {
    const { server, events } = await joined();
    server.last.serverClose(4409);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors(events).map((e) => [e.code, e.details])).toEqual([[SDKErrorCode.NETWORK_ERROR, { closeCode: 4409 }]]);
  });

  it("logged out (4401) → an ERROR with PERMISSION_DENIED", async () => {
    const { server, events } = await joined();
    server.last.serverSend("error", { code: 40103, message: "Token 无效", request_seq: null });
    server.last.serverClose(4401);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors(events).map((e) => e.code)).toContain(SDKErrorCode.PERMISSION_DENIED);
    expect(errors(events).at(-1)).toMatchObject({ code: SDKErrorCode.PERMISSION_DENIED, details: { closeCode: 4401 } });
  });

  it("the meeting ended (meeting_ended, then 4410) → MEETING_ENDED, no ERROR", async () => {
    const { server, meeting, events } = await joined();
    server.last.serverSend("meeting_ended", { room_id: ROOM, ended_at: "2025-01-01T01:00:00.000Z" });
    server.last.serverClose(4410);
    await vi.advanceTimersByTimeAsync(0);
    expect(meeting.state).toBe(MeetingState.ENDED);
    expect(events.filter((e) => e.event === MeetingEvent.MEETING_ENDED)).toHaveLength(1);
    expect(errors(events)).toEqual([]);
    expect(meeting.connectionState).toBe(ConnectionState.DISCONNECTED);
  });
});
