/**
 * The contract's §3 interfaces and enums, names unchanged, with the extensions of
 * DECISIONS §8/§9 (marked "extension").
 */

import { MeetingStatus as MeetingState } from "./protocol.js";

// The contract's name for the protocol's meeting status (generated from aimeeting.protocol).
export { MeetingState };

export enum MeetingEvent {
  USER_JOINED = "user_joined",
  USER_LEFT = "user_left",
  CHAT_MESSAGE = "chat_message",
  MEDIA_STATE_CHANGED = "media_state_changed",
  NETWORK_QUALITY_CHANGED = "network_quality_changed",
  ERROR = "error",
  /** extension: the WebSocket's state (a page shows "reconnecting…" from it) */
  CONNECTION_STATE_CHANGED = "connection_state_changed",
  /** extension: the creator ended the meeting */
  MEETING_ENDED = "meeting_ended",
  /** extension: a member's audio, camera or screen track starts to arrive */
  TRACK_ADDED = "track_added",
  /** extension: a member's track ended (stopped, the member left, or the link closed) */
  TRACK_REMOVED = "track_removed",
  /** extension: our own camera/microphone stream changed (devices switched, screen shared) */
  LOCAL_STREAM_CHANGED = "local_stream_changed",
  /** extension: the meeting assistant captioned what a member said (docs/assistant.md) */
  CAPTION = "caption",
}

export enum LogLevel {
  DEBUG = "debug",
  INFO = "info",
  WARN = "warn",
  ERROR = "error",
}

/** extension */
export enum ConnectionState {
  CONNECTING = "connecting",
  CONNECTED = "connected",
  RECONNECTING = "reconnecting",
  DISCONNECTED = "disconnected",
}

/** extension */
export enum NetworkQuality {
  GOOD = "good",
  FAIR = "fair",
  POOR = "poor",
  LOST = "lost",
}

export interface TURNServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface SDKConfig {
  /** REST base, e.g. `http://host:3000/v1` (a bare origin gets `/v1`) */
  apiServer: string;
  /** WebSocket endpoint, e.g. `ws://host:3000/v1/ws` (a bare origin gets `/v1/ws`) */
  wsServer: string;
  stunServers?: string[];
  turnServers?: TURNServer[];
  logLevel?: LogLevel;
  /** extension: a saved session */
  accessToken?: string;
  refreshToken?: string;
  /** extension: "en" asks the server for English error texts */
  language?: "zh" | "en";
  /** extension: milliseconds a request may take (default 10 000) */
  requestTimeout?: number;
  /** extension: milliseconds between pings (default 30 000, or a third of the server's timeout) */
  heartbeatInterval?: number;
  /** extension: milliseconds a ping may go unanswered before it is missed (default 5 000);
   * two missed in a row with nothing received drop the socket */
  pongTimeout?: number;
  /** extension: reconnect backoff, milliseconds (defaults 250 and 5 000) */
  reconnectBaseDelay?: number;
  reconnectMaxDelay?: number;
  /** extension: milliseconds to keep trying to reconnect (default 120 000) */
  reconnectTimeout?: number;
  /** extension: milliseconds between link statistics reads (default 2 000) */
  statsInterval?: number;
  /** extension: "relay" sends all media through TURN (hides the members' addresses) */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

export interface CreateMeetingOptions extends JoinMeetingOptions {
  title?: string;
}

export interface JoinMeetingOptions {
  audioMuted?: boolean;
  videoMuted?: boolean;
  /** extension: the microphone/camera to use (`getDevices()`); default the system's */
  audioDeviceId?: string;
  videoDeviceId?: string;
  /** extension: false joins without opening the microphone/camera at all (receive-only) */
  audio?: boolean;
  video?: boolean;
  /** extension: constraints for the camera (default 640×480) */
  videoConstraints?: MediaTrackConstraints;
}

export interface Participant {
  userId: string;
  nickname: string;
  avatar: string | null;
  audioMuted: boolean;
  videoMuted: boolean;
  joinedAt: Date;
  /** extension */
  screenSharing: boolean;
}

export interface MediaDevices {
  videoDevices: MediaDeviceInfo[];
  audioInputDevices: MediaDeviceInfo[];
  audioOutputDevices: MediaDeviceInfo[];
}

export interface MediaDeviceInfo {
  deviceId: string;
  label: string;
  kind: "videoinput" | "audioinput" | "audiooutput";
}

/** extension: who is signed in */
export interface User {
  id: string;
  nickname: string;
  avatar: string | null;
  email?: string;
}

/** extension: a meeting as `listMeetings` gives it (the contract's `Meeting` schema) */
export interface MeetingSummary {
  id: string;
  meetingNumber: string;
  title: string | null;
  creatorId: string;
  state: MeetingState;
  startedAt: Date | null;
  endedAt: Date | null;
  createdAt: Date;
}

/** extension: one page of `listMeetings` */
export interface MeetingList {
  meetings: MeetingSummary[];
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

/** extension: `my` the meetings I created, `history` the ones I joined */
export type MeetingListType = "my" | "history";

/** extension: a session to save and pass back as `accessToken`/`refreshToken` */
export interface Tokens {
  accessToken: string | null;
  refreshToken: string | null;
}

// The contract types handlers as `(event: any) => void`; `any` keeps that signature, and the
// event objects below say what each event carries.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventHandler = (event: any) => void;

export type TrackKind = "audio" | "video" | "screen";

export interface UserJoinedEvent {
  roomId: string;
  user: User;
  userId: string;
  participantCount: number;
  audioMuted: boolean;
  videoMuted: boolean;
  screenSharing: boolean;
  joinedAt: Date | null;
}

export interface UserLeftEvent {
  roomId: string;
  userId: string;
  participantCount: number;
  /** who it was, as last seen */
  participant: Participant | null;
}

export interface ChatMessage {
  messageId: string;
  roomId: string;
  sender: User;
  content: string;
  createdAt: Date;
  clientMsgId: string | null;
}

export interface MediaStateChangedEvent {
  roomId: string;
  userId: string;
  audioMuted: boolean;
  videoMuted: boolean;
  screenSharing: boolean;
}

export interface NetworkQualityChangedEvent {
  quality: NetworkQuality;
  previous: NetworkQuality | null;
  /** round trip, milliseconds: of the media links when media flows, else of the WebSocket */
  rttMs: number | null;
  /** fraction of packets lost since the last reading (media links), 0–1 */
  packetLoss: number | null;
  /** milliseconds (media links) */
  jitterMs: number | null;
  /** pongs missed in a row (WebSocket) */
  missedPongs: number;
}

export interface ConnectionStateChangedEvent {
  state: ConnectionState;
  previous: ConnectionState;
  closeCode: number | null;
  reason: string | null;
}

export interface MeetingEndedEvent {
  roomId: string;
  endedAt: Date | null;
}

export interface TrackAddedEvent {
  userId: string;
  kind: TrackKind;
  track: MediaStreamTrack;
  stream: MediaStream;
}

export interface TrackRemovedEvent {
  userId: string;
  kind: TrackKind;
}

/**
 * extension (docs/assistant.md): what the meeting assistant heard `userId` say. A partial
 * caption (`final` false) is replaced by the next caption of the same speaker.
 */
export interface CaptionEvent {
  roomId: string;
  userId: string;
  text: string;
  /** Unix milliseconds of the speech */
  startMs: number;
  endMs: number;
  final: boolean;
}

/** extension: whether the assistant is in a meeting, and who asked it in */
export interface AssistantState {
  active: boolean;
  /** the assistant's own user id (its tile, its captions' sender) */
  userId: string;
  language: string;
  invitedBy: string | null;
  invitedAt: Date | null;
}

/** extension: one final caption, as stored */
export interface TranscriptSegment {
  id: string;
  userId: string;
  nickname: string;
  text: string;
  start: Date;
  end: Date;
}

/** extension: one page of a transcript, oldest first; ask again with `after` the last id */
export interface TranscriptPage {
  items: TranscriptSegment[];
  hasMore: boolean;
}

/** extension: an action item of a summary, with its owner when one was said */
export interface ActionItem {
  text: string;
  ownerUserId: string | null;
}

/**
 * extension: what was said in a meeting, written when it ended. `status`: `pending` (being
 * written), `ready`, or `none` (nothing was transcribed).
 */
export interface Summary {
  status: "pending" | "ready" | "none";
  keyPoints: string[];
  decisions: string[];
  actionItems: ActionItem[];
  keywords: string[];
}
