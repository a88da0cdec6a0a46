/** Home: start a meeting, join one by number, and my meetings and history, page by page. */
import type { MeetingListType, MeetingSummary } from "@aimeeting/sdk";

import { MEETING_NUMBER, meetingPath } from "../app.js";
import type { App } from "../app.js";
import { h, show } from "../dom.js";
import { errorText, language, t } from "../i18n.js";
import { forget } from "../session.js";
import { prejoinView } from "./prejoin.js";

const PAGE_SIZE = 10;

export function homeView(app: App): void {
  const user = app.sdk.user;
  show(app.root,
    h("header", { class: "topbar" },
      h("span", { class: "brand" }, t("appName")),
      h("span", { class: "who" }, `${t("signedInAs")} `, h("strong", {}, user?.nickname ?? "")),
      h("button", { onclick: () => void signOut(app) }, t("signOut")),
    ),
    h("main", { class: "home" }, startCard(app), joinCard(app), listsCard(app)),
  );
}

async function signOut(app: App): Promise<void> {
  try {
    await app.sdk.logout();
  } finally {
    forget();
    app.go("/");
  }
}

function startCard(app: App): HTMLElement {
  const title = h("input", { type: "text", name: "title", maxLength: 100, id: "start-title" });
  const onsubmit = (event: Event) => {
    event.preventDefault();
    prejoinView(app, { title: title.value.trim() || undefined });
  };
  return h("section", { class: "card", "aria-labelledby": "start-heading" },
    h("h2", { id: "start-heading" }, t("startMeeting")),
    h("form", { onsubmit },
      h("label", { class: "field" }, h("span", {}, t("titleOptional")), title),
      h("button", { type: "submit", class: "primary" }, t("start")),
    ),
  );
}

function joinCard(app: App): HTMLElement {
  const error = h("p", { class: "error", role: "alert", id: "join-error" });
  const number = h("input", {
    type: "text",
    name: "number",
    inputMode: "numeric",
    autocomplete: "off",
    maxLength: 11,
    required: true,
    "aria-describedby": "join-error",
  });
  const onsubmit = (event: Event) => {
    event.preventDefault();
    const digits = number.value.replace(/[\s-]/g, "");
    if (!MEETING_NUMBER.test(digits)) {
      error.textContent = t("notFoundText");
      return;
    }
    app.go(meetingPath(digits));
  };
  return h("section", { class: "card", "aria-labelledby": "join-heading" },
    h("h2", { id: "join-heading" }, t("joinMeeting")),
    h("form", { onsubmit },
      h("label", { class: "field" }, h("span", {}, t("meetingNumber")), number, h("small", {}, t("numberHint"))),
      error,
      h("button", { type: "submit", class: "primary" }, t("join")),
    ),
  );
}

function listsCard(app: App): HTMLElement {
  const body = h("div", { class: "meeting-list", "aria-live": "polite" });
  const tabs = (["my", "history"] as const).map((type) =>
    h("button", { role: "tab", id: `tab-${type}`, "aria-controls": "meeting-lists", onclick: () => void load(type, 1) },
      type === "my" ? t("myMeetings") : t("history")),
  );

  async function load(type: MeetingListType, page: number): Promise<void> {
    tabs.forEach((tab) => tab.setAttribute("aria-selected", String(tab.id === `tab-${type}`)));
    try {
      const list = await app.sdk.listMeetings(type, page, PAGE_SIZE);
      const pager = list.totalPages > 1
        ? h("nav", { class: "row pager", "aria-label": t("page") },
            h("button", { disabled: page <= 1, onclick: () => void load(type, page - 1) }, t("previous")),
            h("span", {}, `${page} / ${list.totalPages}`),
            h("button", { disabled: page >= list.totalPages, onclick: () => void load(type, page + 1) }, t("next")),
          )
        : null;
      show(body, list.meetings.length ? h("ul", {}, list.meetings.map((m) => row(app, m))) : h("p", {}, t("noMeetings")), pager);
    } catch (error) {
      show(body, h("p", { class: "error", role: "alert" }, errorText(error)));
    }
  }
  void load("my", 1);
  return h("section", { class: "card wide", "aria-labelledby": "lists-heading" },
    h("h2", { id: "lists-heading", class: "visually-hidden" }, `${t("myMeetings")} / ${t("history")}`),
    h("div", { role: "tablist", class: "tabs" }, tabs),
    h("div", { id: "meeting-lists", role: "tabpanel" }, body),
  );
}

function row(app: App, meeting: MeetingSummary): HTMLElement {
  const when = meeting.createdAt.toLocaleString(language === "zh" ? "zh-CN" : undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
  const status = t(meeting.state);
  const open = meeting.state !== "ended"
    ? h("a", { href: meetingPath(meeting.meetingNumber), onclick: (e: Event) => {
        e.preventDefault();
        app.go(meetingPath(meeting.meetingNumber));
      } }, t("open"))
    : null;
  return h("li", { class: "meeting-row" },
    h("span", { class: "title" }, meeting.title || t("untitled")),
    h("span", { class: "number" }, formatNumber(meeting.meetingNumber)),
    h("span", { class: `status ${meeting.state}` }, status),
    h("time", { dateTime: meeting.createdAt.toISOString() }, when),
    open,
  );
}

/** 123 456 789: easier to read aloud. */
export function formatNumber(number: string): string {
  return number.replace(/^(\d{3})(\d{3})(\d{3})$/, "$1 $2 $3");
}
