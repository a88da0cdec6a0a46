import { describe, expect, it } from "vitest";

import { MeetingError, SDKErrorCode } from "../src/errors.js";
import { MeetingSDK, meetingSummaryOf } from "../src/sdk.js";
import { MeetingState } from "../src/types.js";

describe("listMeetings", () => {
  it.each([
    ["mine", 1, 20],
    ["my", 0, 20],
    ["my", 1.5, 20],
    ["history", 1, 0],
    ["history", 1, 101],
  ])("refuses type %s, page %s, limit %s before any request", async (type, page, limit) => {
    const sdk = new MeetingSDK(); // not initialized: a request would be INIT_FAILED
    const error = await sdk.listMeetings(type as "my", page, limit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeetingError);
    expect((error as MeetingError).code).toBe(SDKErrorCode.INVALID_ARGUMENT);
  });

  it("maps the server's meeting to camelCase with dates", () => {
    const summary = meetingSummaryOf({
      id: "m1",
      meeting_number: "123456789",
      title: null,
      creator_id: "u1",
      status: "ended",
      started_at: "2026-12-03T08:00:00Z",
      ended_at: "2026-12-03T09:00:00Z",
      created_at: "2026-12-03T07:59:00Z",
    });
    expect(summary).toEqual({
      id: "m1",
      meetingNumber: "123456789",
      title: null,
      creatorId: "u1",
      state: MeetingState.ENDED,
      startedAt: new Date("2026-12-03T08:00:00Z"),
      endedAt: new Date("2026-12-03T09:00:00Z"),
      createdAt: new Date("2026-12-03T07:59:00Z"),
    });
  });
});
