/**
 * `MeetingError` and `SDKErrorCode` (contract §3), and how server codes and browser media
 * errors map to them (DECISIONS §8/§9; the same table as the Python SDK's).
 */
import { ErrorCode } from "./protocol.js";

export enum SDKErrorCode {
  INIT_FAILED = 10001,
  NETWORK_ERROR = 10002,
  PERMISSION_DENIED = 10003,
  DEVICE_UNAVAILABLE = 10004,
  MEETING_NOT_FOUND = 10005,
  INVALID_ARGUMENT = 10006,
}

/** What `details` holds when the server refused. */
export interface ServerRefusal {
  serverCode: number;
  serverMessage: string;
  serverDetails?: unknown;
}

export class MeetingError extends Error {
  readonly code: SDKErrorCode;
  override readonly message: string;
  // The contract types details as `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly details?: any;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(code: SDKErrorCode, message: string, details?: any) {
    super(message);
    this.name = "MeetingError";
    this.code = code;
    this.message = message;
    this.details = details;
  }

  /** The server's error code, when the server answered with one. */
  get serverCode(): number | null {
    const code: unknown = this.details?.serverCode;
    return typeof code === "number" ? code : null;
  }
}

/**
 * 40402 → MEETING_NOT_FOUND; 401xx/403xx and a locked account → PERMISSION_DENIED; 429 and
 * 5xx are transient → NETWORK_ERROR; every other 4xx is the caller's argument.
 */
export function sdkCodeFor(serverCode: number): SDKErrorCode {
  const status = Math.floor(serverCode / 100);
  if (serverCode === ErrorCode.MEETING_NOT_FOUND) return SDKErrorCode.MEETING_NOT_FOUND;
  if (status === 401 || status === 403 || serverCode === ErrorCode.ACCOUNT_LOCKED) {
    return SDKErrorCode.PERMISSION_DENIED;
  }
  if (status === 429 || status >= 500) return SDKErrorCode.NETWORK_ERROR;
  return SDKErrorCode.INVALID_ARGUMENT;
}

export function serverError(code: number, message: string, details?: unknown): MeetingError {
  const info: ServerRefusal = { serverCode: code, serverMessage: message };
  if (details !== undefined && details !== null) info.serverDetails = details;
  return new MeetingError(sdkCodeFor(code), message, info);
}

export function networkError(message: string, details?: Record<string, unknown>): MeetingError {
  return new MeetingError(SDKErrorCode.NETWORK_ERROR, message, details);
}

export function invalidArgument(message: string, details?: Record<string, unknown>): MeetingError {
  return new MeetingError(SDKErrorCode.INVALID_ARGUMENT, message, details);
}

/**
 * A `getUserMedia`/`getDisplayMedia` failure: refused by the user or the browser →
 * PERMISSION_DENIED; no such device, or one that cannot be read → DEVICE_UNAVAILABLE.
 */
export function mediaError(error: unknown, what: string): MeetingError {
  const name = error instanceof Error ? error.name : "";
  const reason = error instanceof Error ? error.message : String(error);
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new MeetingError(SDKErrorCode.PERMISSION_DENIED, `${what}: permission denied`, {
      name,
      reason,
    });
  }
  return new MeetingError(SDKErrorCode.DEVICE_UNAVAILABLE, `${what}: device unavailable`, {
    name,
    reason,
  });
}
