/**
 * How a Meeting reports the end of its connection (docs/sdk.md "ERROR fires … when the
 * connection ends for good"): the Link tells its owner the state and close code; the Meeting
 * turns that into `connection_state_changed`, and `error` or `meeting_ended`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { MeetingError, SDKErrorCode } from "../src/errors.js";
import { ConnectionState, MeetingEvent, MeetingState } from "../src/types.js";
import { errorsOf, joined, leaveAll, ROOM } from "./utils/meeting.js";


beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, "random").mockReturnValue(1);
});

afterEach(async () => {
  await leaveAll();
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
    expect(errorsOf(events)).toHaveLength(1);
    expect(errorsOf(events)[0]).toBeInstanceOf(MeetingError);
    expect(errorsOf(events)[0]).toMatchObject({ code: SDKErrorCode.NETWORK_ERROR, details: { closeCode: 1006 } });
    await expect(meeting.sendChatMessage("still there?")).rejects.toMatchObject({ code: SDKErrorCode.NETWORK_ERROR });
  });

  it("taken over (4409) → an ERROR with NETWORK_ERROR and close code 4409", async () => {
    const { server, events } = await joined();
    server.last.serverClose(4409);
    await vi.advanceTimersByTimeAsync(0);
    expect(errorsOf(events).map((e) => [e.code, e.details])).toEqual([[SDKErrorCode.NETWORK_ERROR, { closeCode: 4409 }]]);
  });

  it("logged out (4401) → an ERROR with PERMISSION_DENIED", async () => {
    const { server, events } = await joined();
    server.last.serverSend("error", { code: 40103, message: "Token 无效", request_seq: null });
    server.last.serverClose(4401);
    await vi.advanceTimersByTimeAsync(0);
    expect(errorsOf(events).map((e) => e.code)).toContain(SDKErrorCode.PERMISSION_DENIED);
    expect(errorsOf(events).at(-1)).toMatchObject({ code: SDKErrorCode.PERMISSION_DENIED, details: { closeCode: 4401 } });
  });

  it("the meeting ended (meeting_ended, then 4410) → MEETING_ENDED, no ERROR", async () => {
    const { server, meeting, events } = await joined();
    server.last.serverSend("meeting_ended", { room_id: ROOM, ended_at: "2025-01-01T01:00:00.000Z" });
    server.last.serverClose(4410);
    await vi.advanceTimersByTimeAsync(0);
    expect(meeting.state).toBe(MeetingState.ENDED);
    expect(events.filter((e) => e.event === MeetingEvent.MEETING_ENDED)).toHaveLength(1);
    expect(errorsOf(events)).toEqual([]);
    expect(meeting.connectionState).toBe(ConnectionState.DISCONNECTED);
  });
});
