/**
 * The web app: one page, four screens — sign in, home, the pre-join check, the meeting — and
 * the notices (ended, full, wrong number). Addresses: `/` and `/m/<number>` (a join link).
 */
import type { MeetingSDK } from "@aimeeting/sdk";

import type { App } from "./app.js";
import { h, show } from "./dom.js";
import { errorText, language, t } from "./i18n.js";
import { openSdk } from "./session.js";
import { homeView } from "./views/home.js";
import { prejoinView } from "./views/prejoin.js";
import { signInView } from "./views/signin.js";

const JOIN_PATH = /^\/m\/([^/]*)\/?$/;

async function boot(root: HTMLElement): Promise<void> {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  let sdk: MeetingSDK;
  try {
    sdk = await openSdk();
  } catch (error) {
    show(root, h("main", { class: "card narrow" },
      h("h1", {}, t("appName")),
      h("p", { role: "alert" }, errorText(error)),
      h("button", { class: "primary", onclick: () => location.reload() }, t("tryAgain")),
    ));
    return;
  }
  const app: App = {
    sdk,
    root,
    leaving: null,
    go(path, replace = false) {
      if (path !== location.pathname) history[replace ? "replaceState" : "pushState"](null, "", path);
      route(app);
    },
  };
  window.addEventListener("popstate", () => route(app));
  window.addEventListener("pagehide", () => void app.leaving?.());
  route(app);
}

/** Show what the current address asks for (leaving a meeting shown before). */
function route(app: App): void {
  const leaving = app.leaving;
  app.leaving = null;
  if (leaving) void leaving();
  const number = JOIN_PATH.exec(location.pathname)?.[1];
  if (!app.sdk.user) return signInView(app);
  if (number !== undefined) return prejoinView(app, { number: decodeURIComponent(number) });
  if (location.pathname !== "/") return app.go("/", true);
  homeView(app);
}

void boot(document.getElementById("app") as HTMLElement);
