/**
 * A `Meeting` joined through the fake server (test/utils/fake-server.ts), with every event it
 * emits recorded. `leaveAll()` (in `afterEach`) closes the meetings made.
 */
import type { MeetingError } from "../../src/errors.js";
import { LocalMedia } from "../../src/media/local.js";
import { Meeting } from "../../src/meeting.js";
import { RestClient } from "../../src/rest.js";
import { MeetingEvent } from "../../src/types.js";
import { FakeServer, LINK_OPTIONS } from "./fake-server.js";
import { installWebRtcFakes } from "./fake-webrtc.js";
import { RecordingLog } from "./log.js";

export const ME = { id: "user_me", nickname: "Me", avatar: null };
export const ROOM = "meeting_1";

export type RecordedEvent = { event: MeetingEvent; payload: Record<string, unknown> };

/** The ERROR events among those recorded, as the errors they carry. */
export const errorsOf = (events: RecordedEvent[]): MeetingError[] =>
  events.filter((e) => e.event === MeetingEvent.ERROR).map((e) => e.payload as unknown as MeetingError);

const meetings: Meeting[] = [];

export async function joined(prepare: (server: FakeServer) => void = () => undefined) {
  installWebRtcFakes(); // LocalMedia and the mesh make MediaStreams
  const server = new FakeServer().install();
  server.handlers.join_room = (socket) => {
    const me = { user_id: ME.id, nickname: ME.nickname, avatar: null, joined_at: "2025-01-01T00:00:00.000Z" };
    socket.serverSend("room_state", {
      room_id: ROOM,
      participants: [{ ...me, audio_muted: false, video_muted: false, screen_sharing: false }],
    });
  };
  prepare(server);
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
  const events: RecordedEvent[] = [];
  for (const event of Object.values(MeetingEvent)) meeting.on(event, (payload) => events.push({ event, payload }));
  await meeting.start();
  return { server, meeting, events, log };
}

export async function leaveAll(): Promise<void> {
  for (const meeting of meetings.splice(0)) await meeting.leave();
}
