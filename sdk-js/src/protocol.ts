// generated from aimeeting.protocol by `python -m aimeeting.protocol.typescript`; do not edit.
// The realtime WebSocket API's messages (docs/realtime.md), as the server sends them.

/** What a client sends. */
export enum ClientMessage {
  PING = "ping",
  JOIN_ROOM = "join_room",
  LEAVE_ROOM = "leave_room",
  MEDIA_CONTROL = "media_control",
  CHAT_MESSAGE = "chat_message",
  WEBRTC_SIGNAL = "webrtc_signal",
  CAPTION = "caption",
}

/** What the server sends. */
export enum ServerMessage {
  CONNECTED = "connected",
  PONG = "pong",
  USER_JOINED = "user_joined",
  USER_LEFT = "user_left",
  MEDIA_STATE_CHANGED = "media_state_changed",
  CHAT_MESSAGE = "chat_message",
  ERROR = "error",
  ROOM_STATE = "room_state",
  MEETING_ENDED = "meeting_ended",
  WEBRTC_SIGNAL = "webrtc_signal",
  CAPTION = "caption",
}

export enum MediaAction {
  MUTE_AUDIO = "mute_audio",
  MUTE_VIDEO = "mute_video",
  SCREEN_SHARE = "screen_share",
}

/** A meeting's status (contract `Meeting.status`): no seat taken yet, seats taken, over. A waiting meeting past its expiry reads as ended. */
export enum MeetingStatus {
  WAITING = "waiting",
  ACTIVE = "active",
  ENDED = "ended",
}

export enum CloseCode {
  GOING_AWAY = 1001,
  POLICY_VIOLATION = 1008,
  MESSAGE_TOO_BIG = 1009,
  TRY_AGAIN_LATER = 1013,
  UNAUTHORIZED = 4401,
  HEARTBEAT_TIMEOUT = 4408,
  TAKEN_OVER = 4409,
  MEETING_ENDED = 4410,
}

export enum ErrorCode {
  INVALID_EMAIL = 40001,
  INVALID_PASSWORD = 40002,
  MISSING_FIELD = 40003,
  WRONG_CREDENTIALS = 40101,
  TOKEN_EXPIRED = 40102,
  TOKEN_INVALID = 40103,
  FORBIDDEN = 40301,
  USER_NOT_FOUND = 40401,
  MEETING_NOT_FOUND = 40402,
  EMAIL_TAKEN = 40901,
  TOO_MANY_REQUESTS = 42901,
  INTERNAL_ERROR = 50001,
  INVALID_PARAMETER = 40004,
  MEETING_ENDED = 40005,
  MEETING_FULL = 40006,
  ROUTE_NOT_FOUND = 40400,
  METHOD_NOT_ALLOWED = 40500,
  PAYLOAD_TOO_LARGE = 41301,
  ACCOUNT_LOCKED = 42902,
  SERVICE_UNAVAILABLE = 50301,
}

export const MAX_CHAT_LENGTH = 2000;
export const MAX_CLIENT_MSG_ID_LENGTH = 64;

export const ERROR_MESSAGES: Readonly<Record<ErrorCode, { zh: string; en: string }>> = {
  [ErrorCode.INVALID_EMAIL]: { zh: "邮箱格式不正确", en: "Invalid email address" },
  [ErrorCode.INVALID_PASSWORD]: { zh: "密码长度至少 8 位，且包含字母和数字", en: "Password must be 8-32 characters and contain a letter and a digit" },
  [ErrorCode.MISSING_FIELD]: { zh: "缺少必填字段", en: "Missing required field" },
  [ErrorCode.WRONG_CREDENTIALS]: { zh: "邮箱或密码错误", en: "Wrong email or password" },
  [ErrorCode.TOKEN_EXPIRED]: { zh: "Token 已过期", en: "Token expired" },
  [ErrorCode.TOKEN_INVALID]: { zh: "Token 无效", en: "Invalid token" },
  [ErrorCode.FORBIDDEN]: { zh: "无权限执行此操作", en: "Permission denied" },
  [ErrorCode.USER_NOT_FOUND]: { zh: "用户不存在", en: "User not found" },
  [ErrorCode.MEETING_NOT_FOUND]: { zh: "会议不存在", en: "Meeting not found" },
  [ErrorCode.EMAIL_TAKEN]: { zh: "邮箱已被注册", en: "Email already registered" },
  [ErrorCode.TOO_MANY_REQUESTS]: { zh: "请求过于频繁，请稍后再试", en: "Too many requests, try again later" },
  [ErrorCode.INTERNAL_ERROR]: { zh: "服务器内部错误", en: "Internal server error" },
  [ErrorCode.INVALID_PARAMETER]: { zh: "参数错误", en: "Invalid parameter" },
  [ErrorCode.MEETING_ENDED]: { zh: "会议已结束", en: "The meeting has ended" },
  [ErrorCode.MEETING_FULL]: { zh: "会议人数已满", en: "The meeting is full" },
  [ErrorCode.ROUTE_NOT_FOUND]: { zh: "接口不存在", en: "No such endpoint" },
  [ErrorCode.METHOD_NOT_ALLOWED]: { zh: "请求方法不允许", en: "Method not allowed" },
  [ErrorCode.PAYLOAD_TOO_LARGE]: { zh: "请求体过大", en: "Request body too large" },
  [ErrorCode.ACCOUNT_LOCKED]: { zh: "账号已锁定", en: "Account locked" },
  [ErrorCode.SERVICE_UNAVAILABLE]: { zh: "服务暂不可用", en: "Service unavailable" },
};

/** Every message, both ways. From a client, `seq` is optional (echoed as `request_seq`), `timestamp` is ignored and `data` defaults to `{}`; the server always sends all four. */
export interface Envelope {
  type: string;
  seq: number;
  timestamp: number;
  data: Record<string, unknown>;
}

export interface SessionDescription {
  type: "offer" | "answer";
  sdp: string;
}

export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export interface SessionDescriptionSignal {
  kind: "description";
  description: SessionDescription;
  screen_mid?: string | null;
}

export interface CandidateSignal {
  kind: "candidate";
  candidate: IceCandidate | null;
}

export type Signal = SessionDescriptionSignal | CandidateSignal;

export type PingData = Record<string, never>;

export interface JoinRoomData {
  room_id: string;
}

export interface LeaveRoomData {
  room_id: string;
}

export interface MediaControlData {
  room_id: string;
  action: MediaAction;
  value: boolean;
}

export interface ChatMessageSendData {
  room_id: string;
  content: string;
  client_msg_id?: string;
}

export interface WebRTCSignalSendData {
  room_id: string;
  to_user_id: string;
  signal: Signal;
}

/** From the assistant's account only (docs/assistant.md). */
export interface CaptionSendData {
  room_id: string;
  user_id: string;
  text: string;
  start_ms: number;
  end_ms: number;
  final: boolean;
}

/** What other members see of a user (`user_joined.user`, `chat_message.sender`). */
export interface UserBrief {
  id: string;
  nickname: string;
  avatar: string | null;
}

/** REST's `Participant` (`MeetingDetail.participants`): a user holding a seat now. */
export interface ParticipantData {
  user_id: string;
  nickname: string;
  avatar: string | null;
  joined_at: string;
  audio_muted: boolean;
  video_muted: boolean;
  screen_sharing: boolean;
}

export interface ConnectedData {
  user_id: string;
  heartbeat_timeout: number;
  reconnect_grace: number;
}

export interface PongData {
  request_seq: number | null;
}

export interface UserJoinedData {
  user: UserBrief;
  room_id: string;
  participant_count: number;
  audio_muted: boolean;
  video_muted: boolean;
  screen_sharing: boolean;
  joined_at: string;
}

export interface RoomStateData {
  room_id: string;
  participants: ParticipantData[];
  in_room: string[];
}

export interface UserLeftData {
  user_id: string;
  room_id: string;
  participant_count: number;
}

export interface MediaStateChangedData {
  user_id: string;
  room_id: string;
  audio_muted: boolean;
  video_muted: boolean;
  screen_sharing: boolean;
}

export interface ChatMessageData {
  message_id: string;
  room_id: string;
  sender: UserBrief;
  content: string;
  created_at: string;
  client_msg_id: string | null;
}

export interface WebRTCSignalData {
  room_id: string;
  from_user_id: string;
  signal: Record<string, unknown>;
}

/** What the assistant heard `user_id` say; a final one is in the transcript already. */
export interface CaptionData {
  room_id: string;
  user_id: string;
  text: string;
  start_ms: number;
  end_ms: number;
  final: boolean;
}

export interface MeetingEndedData {
  room_id: string;
  ended_at: string;
}

export interface ErrorData {
  code: ErrorCode;
  message: string;
  request_seq: number | null;
  details?: Record<string, unknown>;
}

export interface ClientMessageData {
  ping: PingData;
  join_room: JoinRoomData;
  leave_room: LeaveRoomData;
  media_control: MediaControlData;
  chat_message: ChatMessageSendData;
  webrtc_signal: WebRTCSignalSendData;
  caption: CaptionSendData;
}

export interface ServerMessageData {
  connected: ConnectedData;
  pong: PongData;
  user_joined: UserJoinedData;
  room_state: RoomStateData;
  user_left: UserLeftData;
  media_state_changed: MediaStateChangedData;
  chat_message: ChatMessageData;
  webrtc_signal: WebRTCSignalData;
  caption: CaptionData;
  meeting_ended: MeetingEndedData;
  error: ErrorData;
}

export type ClientEnvelope = {
  [T in keyof ClientMessageData]: Omit<Envelope, "type" | "data"> & {
    type: T;
    data: ClientMessageData[T];
  };
}[keyof ClientMessageData];

export type ServerEnvelope = {
  [T in keyof ServerMessageData]: Omit<Envelope, "type" | "data"> & {
    type: T;
    data: ServerMessageData[T];
  };
}[keyof ServerMessageData];
