/** The signed-in session, kept in `localStorage` so a reload or a new tab stays signed in. */
import { MeetingSDK } from "@aimeeting/sdk";
import type { SDKConfig, Tokens } from "@aimeeting/sdk";

import { language } from "./i18n.js";

const KEY = "aimeeting.session";

function saved(): Tokens | null {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? "null") as Tokens | null;
    return value && typeof value.refreshToken === "string" ? value : null;
  } catch {
    return null;
  }
}

/** Remember the SDK's current tokens (it refreshes the access token by itself). */
export function remember(sdk: MeetingSDK): void {
  const tokens = sdk.tokens;
  if (tokens.refreshToken) localStorage.setItem(KEY, JSON.stringify(tokens));
  else localStorage.removeItem(KEY);
}

export function forget(): void {
  localStorage.removeItem(KEY);
}

/**
 * An SDK for the page's own server, signed in when a saved session still works. A session the
 * server no longer accepts is forgotten (the person signs in again); a server that cannot be
 * reached is an error for the caller to show.
 */
export async function openSdk(): Promise<MeetingSDK> {
  const base: SDKConfig = { apiServer: location.origin, wsServer: location.origin, language };
  const tokens = saved();
  if (tokens) {
    const sdk = new MeetingSDK();
    try {
      await sdk.initialize({ ...base, accessToken: tokens.accessToken ?? undefined, refreshToken: tokens.refreshToken ?? undefined });
      remember(sdk);
      return sdk;
    } catch (error) {
      const serverCode = (error as { details?: { serverCode?: number } }).details?.serverCode;
      if (serverCode === undefined) throw error; // the server is unreachable: keep the session
      forget();
    }
  }
  const sdk = new MeetingSDK();
  await sdk.initialize(base);
  return sdk;
}
