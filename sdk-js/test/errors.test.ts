import { describe, expect, it } from "vitest";

import { MeetingError, SDKErrorCode, invalidArgument, mediaError, networkError, sdkCodeFor, serverError } from "../src/errors.js";
import { ErrorCode } from "../src/protocol.js";

const { INVALID_ARGUMENT, MEETING_NOT_FOUND, NETWORK_ERROR, PERMISSION_DENIED } = SDKErrorCode;

/** Every server code of protocol.ts, and what the SDK makes of it (DECISIONS §8, docs/sdk.md). */
const EXPECTED: Record<keyof typeof ErrorCode, SDKErrorCode> = {
  INVALID_EMAIL: INVALID_ARGUMENT, // 40001
  INVALID_PASSWORD: INVALID_ARGUMENT, // 40002
  MISSING_FIELD: INVALID_ARGUMENT, // 40003
  INVALID_PARAMETER: INVALID_ARGUMENT, // 40004
  MEETING_ENDED: INVALID_ARGUMENT, // 40005
  MEETING_FULL: INVALID_ARGUMENT, // 40006
  WRONG_CREDENTIALS: PERMISSION_DENIED, // 40101
  TOKEN_EXPIRED: PERMISSION_DENIED, // 40102
  TOKEN_INVALID: PERMISSION_DENIED, // 40103
  FORBIDDEN: PERMISSION_DENIED, // 40301
  ROUTE_NOT_FOUND: INVALID_ARGUMENT, // 40400
  USER_NOT_FOUND: INVALID_ARGUMENT, // 40401
  MEETING_NOT_FOUND: MEETING_NOT_FOUND, // 40402
  METHOD_NOT_ALLOWED: INVALID_ARGUMENT, // 40500
  EMAIL_TAKEN: INVALID_ARGUMENT, // 40901
  PAYLOAD_TOO_LARGE: INVALID_ARGUMENT, // 41301
  TOO_MANY_REQUESTS: NETWORK_ERROR, // 42901
  ACCOUNT_LOCKED: PERMISSION_DENIED, // 42902
  INTERNAL_ERROR: NETWORK_ERROR, // 50001
  SERVICE_UNAVAILABLE: NETWORK_ERROR, // 50301
};

describe("sdkCodeFor", () => {
  const codes = Object.entries(ErrorCode).filter((entry): entry is [keyof typeof ErrorCode, ErrorCode] => typeof entry[1] === "number");

  it("knows every server code in protocol.ts", () => {
    expect(codes.map(([name]) => name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(codes)("%s (%i)", (name, code) => {
    expect(sdkCodeFor(code)).toBe(EXPECTED[name]);
  });

  it.each([
    [40007, INVALID_ARGUMENT, "another 400xx"],
    [40199, PERMISSION_DENIED, "another 401xx"],
    [40302, PERMISSION_DENIED, "another 403xx"],
    [40403, INVALID_ARGUMENT, "another 404xx"],
    [41001, INVALID_ARGUMENT, "another 4xx"],
    [50002, NETWORK_ERROR, "another 500xx"],
    [50401, NETWORK_ERROR, "another 5xx"],
  ])("%i → %i (%s)", (code, expected) => {
    expect(sdkCodeFor(code)).toBe(expected);
  });
});

describe("serverError", () => {
  it("keeps the server's code and message in details", () => {
    const error = serverError(40005, "会议已结束");
    expect(error).toBeInstanceOf(MeetingError);
    expect(error.code).toBe(INVALID_ARGUMENT);
    expect(error.message).toBe("会议已结束");
    expect(error.details).toEqual({ serverCode: 40005, serverMessage: "会议已结束" });
    expect(error.serverCode).toBe(40005);
  });

  it("adds the server's details only when there are some", () => {
    const error = serverError(42901, "请求过于频繁，请稍后再试", { retry_after: 2 });
    expect(error.code).toBe(NETWORK_ERROR);
    expect(error.details).toEqual({
      serverCode: 42901,
      serverMessage: "请求过于频繁，请稍后再试",
      serverDetails: { retry_after: 2 },
    });
    expect(Object.keys(serverError(40301, "x", null).details)).toEqual(["serverCode", "serverMessage"]);
    expect(Object.keys(serverError(40301, "x", undefined).details)).toEqual(["serverCode", "serverMessage"]);
  });
});

describe("MeetingError", () => {
  it("has the contract's shape", () => {
    const error = new MeetingError(SDKErrorCode.DEVICE_UNAVAILABLE, "camera: device unavailable", { name: "NotFoundError" });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(MeetingError);
    expect(error.name).toBe("MeetingError");
    expect(error.code).toBe(10004);
    expect(error.message).toBe("camera: device unavailable");
    expect(error.details).toEqual({ name: "NotFoundError" });
    expect(String(error)).toBe("MeetingError: camera: device unavailable");
    expect(error.stack).toEqual(expect.any(String));
  });

  it("has no server code unless the server answered", () => {
    expect(new MeetingError(SDKErrorCode.INIT_FAILED, "x").serverCode).toBeNull();
    expect(new MeetingError(SDKErrorCode.INIT_FAILED, "x", { serverCode: "40402" }).serverCode).toBeNull();
    expect(networkError("lost", { closeCode: 1006 })).toMatchObject({ code: NETWORK_ERROR, details: { closeCode: 1006 } });
    expect(invalidArgument("bad", { title: "too long" })).toMatchObject({ code: INVALID_ARGUMENT, details: { title: "too long" } });
  });

  it("keeps the contract's codes", () => {
    expect(SDKErrorCode).toMatchObject({
      INIT_FAILED: 10001,
      NETWORK_ERROR: 10002,
      PERMISSION_DENIED: 10003,
      DEVICE_UNAVAILABLE: 10004,
      MEETING_NOT_FOUND: 10005,
      INVALID_ARGUMENT: 10006,
    });
  });
});

describe("mediaError", () => {
  it.each(["NotAllowedError", "SecurityError"])("%s → PERMISSION_DENIED (10003)", (name) => {
    const error = mediaError(new DOMException("Permission denied", name), "camera");
    expect(error.code).toBe(10003);
    expect(error.message).toBe("camera: permission denied");
    expect(error.details).toEqual({ name, reason: "Permission denied" });
  });

  it.each(["NotFoundError", "NotReadableError", "OverconstrainedError", "AbortError", "TypeError"])(
    "%s → DEVICE_UNAVAILABLE (10004)",
    (name) => {
      const error = mediaError(new DOMException("Requested device not found", name), "microphone");
      expect(error.code).toBe(10004);
      expect(error.message).toBe("microphone: device unavailable");
      expect(error.details).toEqual({ name, reason: "Requested device not found" });
    },
  );

  it("anything that is not an Error → DEVICE_UNAVAILABLE", () => {
    expect(mediaError("no camera", "camera")).toMatchObject({ code: 10004, details: { name: "", reason: "no camera" } });
    expect(mediaError(new Error("no video track"), "screen share")).toMatchObject({
      code: 10004,
      message: "screen share: device unavailable",
      details: { name: "Error", reason: "no video track" },
    });
  });
});
