/**
 * extension (docs/assistant.md): the meeting assistant's REST answers, turned into the SDK's
 * camelCase types.
 */
import type { CaptionData } from "./protocol.js";
import type { AssistantState, CaptionEvent, Summary, TranscriptPage } from "./types.js";

export interface AssistantStateData {
  active: boolean;
  user_id: string;
  language: string;
  invited_by: string | null;
  invited_at: string | null;
}

export interface TranscriptPageData {
  items: { id: string; user_id: string; nickname: string; text: string; start: string; end: string }[];
  has_more: boolean;
}

export interface SummaryData {
  status: Summary["status"];
  summary: {
    key_points: string[];
    decisions: string[];
    action_items: { text: string; owner_user_id: string | null }[];
    keywords: string[];
  } | null;
}

export function assistantStateOf(data: AssistantStateData): AssistantState {
  return {
    active: data.active,
    userId: data.user_id,
    language: data.language,
    invitedBy: data.invited_by,
    invitedAt: data.invited_at ? new Date(data.invited_at) : null,
  };
}

export function transcriptPageOf(data: TranscriptPageData): TranscriptPage {
  return {
    items: data.items.map((item) => ({
      id: item.id,
      userId: item.user_id,
      nickname: item.nickname,
      text: item.text,
      start: new Date(item.start),
      end: new Date(item.end),
    })),
    hasMore: data.has_more,
  };
}

export function summaryOf(data: SummaryData): Summary {
  const body = data.summary;
  return {
    status: data.status,
    keyPoints: body?.key_points ?? [],
    decisions: body?.decisions ?? [],
    actionItems: (body?.action_items ?? []).map((item) => ({ text: item.text, ownerUserId: item.owner_user_id })),
    keywords: body?.keywords ?? [],
  };
}

export function captionOf(data: CaptionData): CaptionEvent {
  return {
    roomId: data.room_id,
    userId: data.user_id,
    text: data.text,
    startMs: data.start_ms,
    endMs: data.end_ms,
    final: data.final,
  };
}
