/**
 * The meeting assistant in the app (docs/assistant.md): the invite/dismiss button, live
 * captions over the tiles, the transcript panel, and the summary shown when a meeting ends.
 */
import { MeetingEvent } from "@aimeeting/sdk";
import type { CaptionEvent, Meeting, MeetingSDK, Summary, TranscriptSegment } from "@aimeeting/sdk";

import { h, icon, show } from "../dom.js";
import { errorText, language, t } from "../i18n.js";

const CAPTION_SHOWN_MS = 6_000; // a caption stays this long after its speaker's last words
const SUMMARY_POLL_MS = 1_000;
const SUMMARY_WAIT_MS = 90_000; // then "not ready yet, come back later"
const CAPTIONS_KEY = "aimeeting.captions";

/** Whether the assistant is in, and the button that invites or dismisses it. */
export class AssistantControl {
  readonly button: HTMLButtonElement;
  /** the assistant's user id once known (its tile and captions' sender) */
  userId: string | null = null;
  private active = false;

  constructor(private readonly meeting: Meeting, private readonly run: (action: () => Promise<unknown>) => Promise<void>) {
    this.button = h("button", { class: "control", "aria-pressed": "false", id: "assistant-button", onclick: () => void this.toggle() },
      icon("assistant"), h("span", {}, t("inviteAssistant")));
    void this.refresh();
    // Another member may invite or dismiss it: its seat coming or going says so.
    const changed = (event: { userId: string }) => event.userId === this.userId && void this.refresh();
    meeting.on(MeetingEvent.USER_JOINED, changed);
    meeting.on(MeetingEvent.USER_LEFT, changed);
  }

  private async refresh(): Promise<void> {
    await this.run(async () => this.set(await this.meeting.getAssistant()));
  }

  private async toggle(): Promise<void> {
    this.button.disabled = true;
    await this.run(async () => this.set(await (this.active ? this.meeting.dismissAssistant() : this.meeting.inviteAssistant())));
    this.button.disabled = false;
  }

  private set(state: { active: boolean; userId: string }): void {
    this.active = state.active;
    this.userId = state.userId;
    this.button.setAttribute("aria-pressed", String(state.active));
    const label = t(state.active ? "dismissAssistant" : "inviteAssistant");
    this.button.title = label;
    (this.button.querySelector("span") as HTMLElement).textContent = label;
  }
}

/** Live captions: the newest line of each speaker, over the tiles; a toggle hides them. */
export class Captions {
  readonly element = h("div", { class: "captions", role: "log", "aria-live": "polite", "aria-label": t("captions") });
  readonly button: HTMLButtonElement;
  private readonly lines = new Map<string, { element: HTMLElement; timer: number }>();
  private on = localStorage.getItem(CAPTIONS_KEY) !== "off";

  constructor(private readonly meeting: Meeting, private readonly transcript: TranscriptPanel) {
    this.button = h("button", { class: "control", "aria-pressed": String(this.on), id: "captions-button", onclick: () => this.toggle() },
      icon("cc"), h("span", {}, t("captions")));
    this.element.hidden = !this.on;
    meeting.on(MeetingEvent.CAPTION, (event: CaptionEvent) => this.add(event));
  }

  private toggle(): void {
    this.on = !this.on;
    localStorage.setItem(CAPTIONS_KEY, this.on ? "on" : "off");
    this.button.setAttribute("aria-pressed", String(this.on));
    this.element.hidden = !this.on;
  }

  private add(event: CaptionEvent): void {
    if (event.final) this.transcript.addLive(event);
    let line = this.lines.get(event.userId);
    if (line === undefined) {
      line = { element: h("p", { class: "caption-line" }), timer: 0 };
      this.lines.set(event.userId, line);
      this.element.append(line.element);
    }
    show(line.element, h("strong", {}, `${nicknameOf(this.meeting, event.userId)}: `), event.text);
    line.element.classList.toggle("partial", !event.final);
    clearTimeout(line.timer);
    const gone = line;
    line.timer = window.setTimeout(() => {
      gone.element.remove();
      this.lines.delete(event.userId);
    }, CAPTION_SHOWN_MS);
  }
}

/** What was said so far: the stored transcript, then each final caption as it comes. */
export class TranscriptPanel {
  readonly element = h("div", { class: "transcript" });
  private readonly list = h("ol", { class: "messages", tabindex: 0, "aria-label": t("transcript") });
  private readonly error = h("p", { class: "error", role: "alert" });
  private readonly seen = new Set<string>(); // "userId@startMs": a live caption also stored

  constructor(private readonly sdk: MeetingSDK, private readonly meeting: Meeting) {
    this.element.append(this.list, this.error);
  }

  async load(): Promise<void> {
    try {
      const stored = await allSegments(this.sdk, this.meeting.id);
      const first = this.list.firstChild;
      for (const segment of stored) {
        const key = `${segment.userId}@${segment.start.getTime()}`;
        if (!this.seen.has(key)) this.list.insertBefore(this.item(key, segment.nickname, segment.start, segment.text), first);
      }
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  addLive(event: CaptionEvent): void {
    const key = `${event.userId}@${event.startMs}`;
    if (this.seen.has(key)) return;
    this.list.append(this.item(key, nicknameOf(this.meeting, event.userId), new Date(event.startMs), event.text));
    this.list.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  private item(key: string, nickname: string, start: Date, text: string): HTMLElement {
    this.seen.add(key);
    return segmentItem(nickname, start, text);
  }
}

/**
 * Below the "meeting ended" notice: the summary once written (polled while `pending`), and
 * the transcript. Nothing when the assistant was never there.
 */
export async function showSummary(sdk: MeetingSDK, meetingId: string, into: HTMLElement): Promise<void> {
  const status = h("p", { class: "note", role: "status" }, t("summaryPending"));
  const deadline = Date.now() + SUMMARY_WAIT_MS;
  try {
    let summary = await sdk.getSummary(meetingId);
    if (summary.status === "none") return;
    show(into, h("h2", {}, t("summary")), status);
    while (summary.status === "pending" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SUMMARY_POLL_MS));
      summary = await sdk.getSummary(meetingId);
    }
    if (summary.status !== "ready") {
      status.textContent = t("summaryLater");
      return;
    }
    const segments = await allSegments(sdk, meetingId);
    show(into, h("h2", {}, t("summary")), summaryBody(summary, segments),
      h("details", { class: "transcript" },
        h("summary", {}, t("transcript")),
        h("ol", { class: "messages" }, segments.map((s) => segmentItem(s.nickname, s.start, s.text)))));
  } catch (error) {
    status.textContent = errorText(error);
  }
}

function summaryBody(summary: Summary, segments: TranscriptSegment[]): HTMLElement {
  const names = new Map(segments.map((s) => [s.userId, s.nickname]));
  const section = (key: "keyPoints" | "decisions", items: string[]) =>
    items.length ? [h("h3", {}, t(key)), h("ul", {}, items.map((item) => h("li", {}, item)))] : [];
  return h("div", { class: "summary", id: "meeting-summary" },
    section("keyPoints", summary.keyPoints),
    section("decisions", summary.decisions),
    summary.actionItems.length
      ? [h("h3", {}, t("actionItems")), h("ul", {}, summary.actionItems.map((item) =>
        h("li", {}, item.text, item.ownerUserId ? h("span", { class: "owner" }, ` — ${names.get(item.ownerUserId) ?? item.ownerUserId}`) : null)))]
      : [],
    summary.keywords.length ? h("p", { class: "keywords" }, `${t("keywords")}: ${summary.keywords.join(", ")}`) : null,
  );
}

async function allSegments(sdk: MeetingSDK, meetingId: string): Promise<TranscriptSegment[]> {
  const segments: TranscriptSegment[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await sdk.getTranscript(meetingId, { after, limit: 100 });
    segments.push(...page.items);
    if (!page.hasMore || page.items.length === 0) return segments;
    after = page.items[page.items.length - 1]?.id;
  }
}

function segmentItem(nickname: string, start: Date, text: string): HTMLElement {
  const time = start.toLocaleTimeString(language === "zh" ? "zh-CN" : undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return h("li", {},
    h("span", { class: "sender" }, nickname),
    h("time", { dateTime: start.toISOString() }, time),
    h("p", {}, text),
  );
}

function nicknameOf(meeting: Meeting, userId: string): string {
  return meeting.participants.find((p) => p.userId === userId)?.nickname ?? t("someone");
}
