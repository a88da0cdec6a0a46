import { describe, expect, it } from "vitest";

import { assistantStateOf, captionOf, summaryOf, transcriptPageOf } from "../src/assistant.js";
import { MeetingError, SDKErrorCode } from "../src/errors.js";
import { MeetingSDK } from "../src/sdk.js";

describe("the assistant's answers", () => {
  it("maps its state, with and without an invitation", () => {
    expect(assistantStateOf({ active: true, user_id: "a", language: "zh", invited_by: "u1", invited_at: "2026-12-03T08:00:00Z" }))
      .toEqual({ active: true, userId: "a", language: "zh", invitedBy: "u1", invitedAt: new Date("2026-12-03T08:00:00Z") });
    expect(assistantStateOf({ active: false, user_id: "a", language: "en", invited_by: null, invited_at: null }).invitedAt).toBeNull();
  });

  it("maps a transcript page with dates", () => {
    const page = transcriptPageOf({
      items: [{ id: "s1", user_id: "u1", nickname: "Bob", text: "Hello.", start: "2026-12-03T08:00:00.000Z", end: "2026-12-03T08:00:01.500Z" }],
      has_more: true,
    });
    expect(page).toEqual({
      items: [{ id: "s1", userId: "u1", nickname: "Bob", text: "Hello.", start: new Date("2026-12-03T08:00:00Z"), end: new Date("2026-12-03T08:00:01.5Z") }],
      hasMore: true,
    });
  });

  it("maps a ready summary, and gives empty lists for one that is not", () => {
    expect(summaryOf({
      status: "ready",
      summary: { key_points: ["k"], decisions: ["d"], action_items: [{ text: "a", owner_user_id: null }], keywords: ["w"] },
    })).toEqual({ status: "ready", keyPoints: ["k"], decisions: ["d"], actionItems: [{ text: "a", ownerUserId: null }], keywords: ["w"] });
    expect(summaryOf({ status: "pending", summary: null }))
      .toEqual({ status: "pending", keyPoints: [], decisions: [], actionItems: [], keywords: [] });
  });

  it("maps a caption", () => {
    expect(captionOf({ room_id: "m", user_id: "u", text: "hi", start_ms: 1, end_ms: 2, final: false }))
      .toEqual({ roomId: "m", userId: "u", text: "hi", startMs: 1, endMs: 2, final: false });
  });

  it.each([0, 101, 2.5])("refuses a transcript page of %s before any request", async (limit) => {
    const error = await new MeetingSDK().getTranscript("m", { limit }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeetingError);
    expect((error as MeetingError).code).toBe(SDKErrorCode.INVALID_ARGUMENT);
  });
});
