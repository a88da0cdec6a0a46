/** A page that says why there is no meeting to show (ended, full, wrong number, lost). */
import type { App } from "../app.js";
import { h, show } from "../dom.js";
import { t } from "../i18n.js";

export interface NoticeAction {
  label: string;
  run: () => void;
}

/** Shows the notice; returns its card, for a caller to add to (the meeting's summary). */
export function noticeView(app: App, title: string, text: string, action?: NoticeAction): HTMLElement {
  const home = h("button", { class: action ? "" : "primary", onclick: () => app.go("/") }, t("home"));
  const card = h("main", { class: "card narrow notice", "data-notice": title },
    h("h1", {}, title),
    h("p", {}, text),
    h("div", { class: "row" },
      action ? h("button", { class: "primary", onclick: action.run }, action.label) : null,
      home,
    ),
  );
  show(app.root, card);
  home.focus();
  return card;
}
