/** A page that says why there is no meeting to show (ended, full, wrong number, lost). */
import type { App } from "../app.js";
import { h, show } from "../dom.js";
import { t } from "../i18n.js";

export interface NoticeAction {
  label: string;
  run: () => void;
}

export function noticeView(app: App, title: string, text: string, action?: NoticeAction): void {
  const home = h("button", { class: action ? "" : "primary", onclick: () => app.go("/") }, t("home"));
  show(app.root, h("main", { class: "card narrow notice", "data-notice": title },
    h("h1", {}, title),
    h("p", {}, text),
    h("div", { class: "row" },
      action ? h("button", { class: "primary", onclick: action.run }, action.label) : null,
      home,
    ),
  ));
  home.focus();
}
