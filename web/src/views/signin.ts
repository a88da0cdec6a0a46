/** Sign in or create an account; afterwards the address asked for is shown (a join link too). */
import type { App } from "../app.js";
import { h, show } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { remember } from "../session.js";

export function signInView(app: App, registering = false): void {
  const error = h("p", { class: "error", role: "alert", id: "signin-error" });
  const field = (label: string, input: HTMLInputElement, hint?: string) =>
    h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", {}, hint) : null);
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: registering ? "new-password" : "current-password",
    required: true,
  });
  const nickname = h("input", { type: "text", name: "nickname", autocomplete: "nickname", required: true, maxLength: 50 });
  const submit = h("button", { type: "submit", class: "primary" }, registering ? t("register") : t("signIn"));

  async function onsubmit(event: Event): Promise<void> {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      if (registering) await app.sdk.register(email.value.trim(), password.value, nickname.value.trim());
      else await app.sdk.login(email.value.trim(), password.value);
      remember(app.sdk);
      app.go(location.pathname, true);
    } catch (failure) {
      error.textContent = errorText(failure);
      submit.disabled = false;
    }
  }

  show(app.root, h("main", { class: "card narrow" },
    h("h1", {}, t("appName")),
    h("h2", {}, registering ? t("register") : t("signIn")),
    h("form", { onsubmit, "aria-describedby": "signin-error" },
      field(t("email"), email),
      field(t("password"), password, registering ? t("passwordHint") : undefined),
      registering ? field(t("nickname"), nickname) : null,
      error,
      submit,
    ),
    h("button", { type: "button", class: "link", onclick: () => signInView(app, !registering) },
      registering ? t("haveAccount") : t("newHere")),
  ));
  email.focus();
}
