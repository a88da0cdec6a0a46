/** AI Meeting's browser SDK: `const sdk = new MeetingSDK(); await sdk.initialize(config)`. */
export { MeetingSDK } from "./sdk.js";
export { Meeting } from "./meeting.js";
export { MeetingError, SDKErrorCode } from "./errors.js";
export { ConnectionState, LogLevel, MeetingEvent, MeetingState, NetworkQuality } from "./types.js";
export type {
  ActionItem,
  AssistantState,
  CaptionEvent,
  ChatMessage,
  ConnectionStateChangedEvent,
  CreateMeetingOptions,
  EventHandler,
  JoinMeetingOptions,
  MediaDeviceInfo,
  MediaDevices,
  MediaStateChangedEvent,
  MeetingList,
  MeetingListType,
  MeetingSummary,
  MeetingEndedEvent,
  NetworkQualityChangedEvent,
  Participant,
  SDKConfig,
  Summary,
  Tokens,
  TrackAddedEvent,
  TrackKind,
  TrackRemovedEvent,
  TranscriptPage,
  TranscriptSegment,
  TURNServer,
  User,
  UserJoinedEvent,
  UserLeftEvent,
} from "./types.js";
export { ErrorCode, ERROR_MESSAGES } from "./protocol.js";
export const VERSION = "0.1.0";
