/**
 * The REST API over `fetch`: envelopes unwrapped, errors mapped to `MeetingError`, and an
 * expired access token (40102) refreshed once and the request retried once.
 */
import { MeetingError, SDKErrorCode, networkError, serverError } from "./errors.js";
import type { Logger } from "./log.js";
import { ErrorCode } from "./protocol.js";
import { expiresSoon } from "./timing.js";
import type { Tokens } from "./types.js";

export interface RestOptions {
  apiBase: string;
  origin: string;
  timeoutMs: number;
  language?: string;
  tokens: Tokens;
}

type Method = "GET" | "POST" | "DELETE";

export class RestClient {
  readonly tokens: Tokens;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly options: RestOptions,
    private readonly log: Logger,
  ) {
    this.tokens = options.tokens;
  }

  /** The server answers `/healthz` (throws otherwise). */
  async health(): Promise<void> {
    await this.send("GET", `${this.options.origin}/healthz`, undefined, null);
  }

  /** `data` of the envelope; a 40102 refreshes the access token and retries once. */
  async call<T = unknown>(method: Method, path: string, body?: unknown, auth = true): Promise<T> {
    const url = this.options.apiBase + path;
    if (!auth) return (await this.send(method, url, body, null)) as T;
    const { accessToken, refreshToken } = this.tokens;
    if (refreshToken && (!accessToken || expiresSoon(accessToken))) {
      await this.refresh(this.tokens.accessToken);
    }
    const token = this.tokens.accessToken;
    try {
      return (await this.send(method, url, body, token)) as T;
    } catch (error) {
      if (!(error instanceof MeetingError) || error.serverCode !== ErrorCode.TOKEN_EXPIRED) throw error;
      if (!this.tokens.refreshToken) throw error;
    }
    await this.refresh(token);
    return (await this.send(method, url, body, this.tokens.accessToken)) as T;
  }

  /** A new access token from the refresh token; concurrent callers refresh once. */
  async refresh(expired: string | null): Promise<void> {
    while (this.refreshing) await this.refreshing;
    if (this.tokens.accessToken !== expired) return; // another caller refreshed meanwhile
    if (!this.tokens.refreshToken) {
      throw new MeetingError(SDKErrorCode.PERMISSION_DENIED, "not logged in");
    }
    const body = { refresh_token: this.tokens.refreshToken };
    this.refreshing = (async () => {
      const data = (await this.send("POST", `${this.options.apiBase}/auth/refresh`, body, null)) as {
        access_token: string;
      };
      this.tokens.accessToken = data.access_token;
      this.log.info("access token refreshed");
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  private async send(method: Method, url: string, body: unknown, token: string | null): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.options.language) headers["Accept-Language"] = this.options.language;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const path = new URL(url, globalThis.location?.href).pathname;
    let response: Response;
    let envelope: unknown;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      envelope = await response.json();
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      if (name === "TimeoutError" || name === "AbortError") {
        throw networkError(`${method} ${path} timed out`, { reason: String(error) });
      }
      if (name === "SyntaxError") throw networkError(`${method} ${path}: not an API answer`);
      throw networkError(`${method} ${path} failed`, { reason: String(error) });
    }
    const answer = envelope as { code?: unknown; message?: unknown; data?: unknown; details?: unknown };
    if (answer === null || typeof answer !== "object" || answer.code !== 0) {
      if (answer && typeof answer.code === "number") {
        throw serverError(answer.code, String(answer.message ?? ""), answer.details);
      }
      throw networkError(`unexpected answer (HTTP ${response.status})`, { httpStatus: response.status });
    }
    return answer.data;
  }
}
