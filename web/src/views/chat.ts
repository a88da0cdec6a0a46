/** The chat panel: the meeting's stored history first, then live messages; a send box. */
import type { ChatMessage, Meeting } from "@aimeeting/sdk";

import { h } from "../dom.js";
import { errorText, language, t } from "../i18n.js";

export class ChatPanel {
  readonly element: HTMLElement;
  // Focusable: a list that scrolls must be reachable from the keyboard.
  private readonly list = h("ol", { class: "messages", tabindex: 0, "aria-live": "polite", "aria-label": t("chat") });
  private readonly error = h("p", { class: "error", role: "alert" });
  private readonly input = h("input", { type: "text", maxLength: 2000, autocomplete: "off", id: "chat-input" });
  private readonly seen = new Set<string>();

  constructor(private readonly meeting: Meeting) {
    this.element = h("div", { class: "chat" },
      this.list,
      this.error,
      h("form", { class: "row", onsubmit: (event: Event) => void this.send(event) },
        h("label", { class: "visually-hidden", for: "chat-input" }, t("message")),
        this.input,
        h("button", { type: "submit", class: "primary" }, t("send")),
      ),
    );
  }

  /** The stored messages, oldest first (the history endpoint pages newest first). */
  async loadHistory(): Promise<void> {
    try {
      const older = await this.meeting.chatHistory(50);
      const first = this.list.firstChild;
      for (const message of older.reverse()) {
        if (!this.seen.has(message.messageId)) this.list.insertBefore(this.item(message), first);
      }
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  /** A live message; false when it was already shown. */
  add(message: ChatMessage): boolean {
    if (this.seen.has(message.messageId)) return false;
    this.list.append(this.item(message));
    this.list.lastElementChild?.scrollIntoView({ block: "nearest" });
    return true;
  }

  focus(): void {
    this.input.focus();
  }

  private item(message: ChatMessage): HTMLElement {
    this.seen.add(message.messageId);
    const mine = message.sender.id === this.meeting.localUserId;
    const time = message.createdAt.toLocaleTimeString(language === "zh" ? "zh-CN" : undefined, { hour: "2-digit", minute: "2-digit" });
    return h("li", { class: mine ? "mine" : "" },
      h("span", { class: "sender" }, mine ? t("youSender") : message.sender.nickname),
      h("time", { dateTime: message.createdAt.toISOString() }, time),
      h("p", {}, message.content),
    );
  }

  private async send(event: Event): Promise<void> {
    event.preventDefault();
    const content = this.input.value.trim();
    if (!content) return;
    this.input.value = "";
    this.error.textContent = "";
    try {
      this.add(await this.meeting.sendChatMessage(content));
    } catch (error) {
      this.input.value = content; // nothing typed is lost
      this.error.textContent = errorText(error);
    }
  }
}
