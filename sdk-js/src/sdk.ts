/**
 * `MeetingSDK`: the contract's entry point (initialize, create/join, devices, log level,
 * destroy) plus sign-in (register/login/logout, an extension, DECISIONS §8).
 */
import { summaryOf, transcriptPageOf } from "./assistant.js";
import type { SummaryData, TranscriptPageData } from "./assistant.js";
import { MeetingError, SDKErrorCode, invalidArgument } from "./errors.js";
import { Logger } from "./log.js";
import { LocalMedia } from "./media/local.js";
import { Meeting } from "./meeting.js";
import type { ParticipantData } from "./protocol.js";
import { RestClient } from "./rest.js";
import { LogLevel, MeetingState } from "./types.js";
import type {
  CreateMeetingOptions,
  JoinMeetingOptions,
  MediaDeviceInfo,
  MediaDevices,
  MeetingList,
  MeetingListType,
  MeetingSummary,
  SDKConfig,
  Summary,
  TURNServer,
  Tokens,
  TranscriptPage,
  User,
} from "./types.js";

// Any nine digits, as the server takes them (DECISIONS §2; it hands out 1-9 first).
export const MEETING_NUMBER = /^\d{9}$/;

const DEFAULTS = {
  requestTimeout: 10_000,
  heartbeatInterval: 30_000,
  pongTimeout: 5_000,
  reconnectBaseDelay: 250,
  reconnectMaxDelay: 5_000,
  reconnectTimeout: 120_000,
  statsInterval: 2_000,
};

interface Resolved {
  config: SDKConfig;
  apiBase: string;
  origin: string;
  wsUrl: string;
}

interface UserData {
  id: string;
  nickname: string;
  avatar: string | null;
  email?: string;
}

interface MeetingData {
  id: string;
  meeting_number: string;
  title: string | null;
  creator_id?: string;
  status?: string;
  participants?: ParticipantData[];
  started_at?: string | null;
  ended_at?: string | null;
  created_at?: string;
}

interface MeetingListData {
  meetings: MeetingData[];
  pagination: { page: number; limit: number; total: number; total_pages: number };
}

export class MeetingSDK {
  /** extension: who is signed in, or null */
  user: User | null = null;
  private resolved: Resolved | null = null;
  private rest: RestClient | null = null;
  private readonly meetings = new Set<Meeting>();
  private readonly log = new Logger();
  private destroyed = false;

  /**
   * Check the configuration and that the server answers; with tokens in the config, load the
   * user they belong to. Every failure is INIT_FAILED (the cause in `details`).
   */
  async initialize(config: SDKConfig): Promise<void> {
    if (this.rest !== null || this.destroyed) {
      throw new MeetingError(SDKErrorCode.INIT_FAILED, "already initialized or destroyed");
    }
    const problems = configProblems(config);
    if (Object.keys(problems).length) {
      throw new MeetingError(SDKErrorCode.INIT_FAILED, "invalid configuration", problems);
    }
    if (config.logLevel) this.setLogLevel(config.logLevel);
    const resolved = resolve(config);
    const rest = new RestClient(
      {
        apiBase: resolved.apiBase,
        origin: resolved.origin,
        timeoutMs: config.requestTimeout ?? DEFAULTS.requestTimeout,
        language: config.language,
        tokens: { accessToken: config.accessToken ?? null, refreshToken: config.refreshToken ?? null },
      },
      this.log,
    );
    try {
      await rest.health();
      if (config.accessToken || config.refreshToken) {
        this.user = userOf(await rest.call<UserData>("GET", "/users/me"));
      }
    } catch (error) {
      const cause = error instanceof MeetingError ? error : null;
      throw new MeetingError(SDKErrorCode.INIT_FAILED, cause?.message ?? String(error), cause?.details);
    }
    this.resolved = resolved;
    this.rest = rest;
    this.log.info(`initialized for ${resolved.apiBase}`);
  }

  // --- sign-in (extension) -----------------------------------------------------------------

  async register(email: string, password: string, nickname: string): Promise<User> {
    return this.signedIn(await this.api().call("POST", "/auth/register", { email, password, nickname }, false));
  }

  async login(email: string, password: string): Promise<User> {
    return this.signedIn(await this.api().call("POST", "/auth/login", { email, password }, false));
  }

  /** Leave every meeting, then end the session on the server (its tokens stop working). */
  async logout(): Promise<void> {
    const rest = this.api();
    await this.leaveAll();
    try {
      await rest.call("POST", "/auth/logout");
    } finally {
      rest.tokens.accessToken = null;
      rest.tokens.refreshToken = null;
      this.user = null;
    }
  }

  /** extension: the session's tokens, to save and pass back in `SDKConfig` later */
  get tokens(): Tokens {
    const { accessToken, refreshToken } = this.api().tokens;
    return { accessToken, refreshToken };
  }

  // --- meetings ----------------------------------------------------------------------------

  /** Create a meeting and join it (the creator starts what they create). */
  async createMeeting(options: CreateMeetingOptions = {}): Promise<Meeting> {
    if (options.title !== undefined && typeof options.title !== "string") {
      throw invalidArgument("title must be a string", { title: "must be a string" });
    }
    const body = options.title !== undefined ? { title: options.title } : undefined;
    const created = await this.api().call<MeetingData>("POST", "/meetings", body);
    return this.joinMeeting(created.meeting_number, options);
  }

  /**
   * Open the camera and microphone, take a seat, enter the room and call every member there.
   * Resolves once in the room. A camera or microphone that is refused or missing does not fail
   * the join: the meeting emits `error` (10003/10004) and goes on without it.
   */
  async joinMeeting(meetingNumber: string, options: JoinMeetingOptions = {}): Promise<Meeting> {
    if (typeof meetingNumber !== "string" || !MEETING_NUMBER.test(meetingNumber)) {
      throw invalidArgument("a meeting number is 9 digits", { meetingNumber: "9 digits" });
    }
    const rest = this.api();
    const { config, wsUrl } = this.resolved as Resolved;
    const audioMuted = options.audioMuted ?? false;
    const videoMuted = options.videoMuted ?? false;
    const local = new LocalMedia(this.log);
    const deviceErrors = await local.open({
      audio: options.audio ?? true,
      video: options.video ?? true,
      audioMuted,
      videoMuted,
      audioDeviceId: options.audioDeviceId,
      videoDeviceId: options.videoDeviceId,
      videoConstraints: options.videoConstraints,
    });
    try {
      const body = { audio_muted: audioMuted, video_muted: videoMuted };
      const detail = await rest.call<MeetingData>("POST", `/meetings/${meetingNumber}/join`, body);
      this.user ??= userOf(await rest.call<UserData>("GET", "/users/me"));
      const meeting = new Meeting({
        rest,
        me: this.user,
        detail,
        local,
        log: this.log,
        iceServers: [...configIceServers(config), ...(await this.serverIceServers(rest))],
        iceTransportPolicy: config.iceTransportPolicy ?? "all",
        statsIntervalMs: config.statsInterval ?? DEFAULTS.statsInterval,
        link: {
          wsUrl,
          language: config.language,
          requestTimeoutMs: config.requestTimeout ?? DEFAULTS.requestTimeout,
          heartbeatIntervalMs: config.heartbeatInterval ?? DEFAULTS.heartbeatInterval,
          pongTimeoutMs: config.pongTimeout ?? DEFAULTS.pongTimeout,
          reconnectBaseDelayMs: config.reconnectBaseDelay ?? DEFAULTS.reconnectBaseDelay,
          reconnectMaxDelayMs: config.reconnectMaxDelay ?? DEFAULTS.reconnectMaxDelay,
          reconnectTimeoutMs: config.reconnectTimeout ?? DEFAULTS.reconnectTimeout,
        },
      });
      await meeting.start();
      this.meetings.add(meeting);
      meeting.reportDeviceErrors(deviceErrors);
      return meeting;
    } catch (error) {
      local.close();
      throw error;
    }
  }

  /**
   * extension: one page of my meetings (`my`: created by me, `history`: joined by me), newest
   * first, as `GET /meetings` gives them.
   */
  async listMeetings(type: MeetingListType = "my", page = 1, limit = 20): Promise<MeetingList> {
    if (type !== "my" && type !== "history") throw invalidArgument("type is my or history", { type: "my | history" });
    for (const [name, value, max] of [["page", page, Infinity], ["limit", limit, 100]] as const) {
      if (!Number.isInteger(value) || value < 1 || value > max) {
        throw invalidArgument(`${name} must be an integer from 1${max === Infinity ? "" : ` to ${max}`}`, {
          [name]: "out of range",
        });
      }
    }
    const query = new URLSearchParams({ type, page: String(page), limit: String(limit) });
    const data = await this.api().call<MeetingListData>("GET", `/meetings?${query}`);
    const { pagination } = data;
    return {
      meetings: data.meetings.map(meetingSummaryOf),
      page: pagination.page,
      limit: pagination.limit,
      total: pagination.total,
      totalPages: pagination.total_pages,
    };
  }

  /**
   * extension (docs/assistant.md): a meeting's transcript, oldest first, for anyone who may see
   * the meeting (during it and after); `after`: the last segment id of the previous page.
   */
  async getTranscript(meetingId: string, options: { after?: string; limit?: number } = {}): Promise<TranscriptPage> {
    const { after, limit = 50 } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw invalidArgument("limit must be an integer from 1 to 100", { limit: "out of range" });
    }
    const query = new URLSearchParams({ limit: String(limit), ...(after ? { after } : {}) });
    const path = `/meetings/${encodeURIComponent(meetingId)}/transcript?${query}`;
    return transcriptPageOf(await this.api().call<TranscriptPageData>("GET", path));
  }

  /** extension: the summary written when the meeting ended (`status` says whether it is yet). */
  async getSummary(meetingId: string): Promise<Summary> {
    return summaryOf(await this.api().call<SummaryData>("GET", `/meetings/${encodeURIComponent(meetingId)}/summary`));
  }

  // --- devices, logs, teardown -------------------------------------------------------------

  /** The browser's cameras, microphones and speakers (labels appear once a device was allowed). */
  async getDevices(): Promise<MediaDevices> {
    const devices: MediaDevices = { videoDevices: [], audioInputDevices: [], audioOutputDevices: [] };
    const list = navigator.mediaDevices ? await navigator.mediaDevices.enumerateDevices() : [];
    for (const device of list) {
      const info: MediaDeviceInfo = { deviceId: device.deviceId, label: device.label, kind: device.kind };
      if (device.kind === "videoinput") devices.videoDevices.push(info);
      else if (device.kind === "audioinput") devices.audioInputDevices.push(info);
      else if (device.kind === "audiooutput") devices.audioOutputDevices.push(info);
    }
    return devices;
  }

  setLogLevel(level: LogLevel): void {
    if (!Object.values(LogLevel).includes(level)) throw invalidArgument(`unknown log level ${String(level)}`);
    this.log.level = level;
  }

  /** Leave every meeting and forget the session. Idempotent; later calls are INIT_FAILED. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.leaveAll();
    this.rest = null;
  }

  // --- helpers -----------------------------------------------------------------------------

  private api(): RestClient {
    if (this.rest === null) {
      const state = this.destroyed ? "destroyed" : "not initialized: call initialize()";
      throw new MeetingError(SDKErrorCode.INIT_FAILED, `the SDK is ${state}`);
    }
    return this.rest;
  }

  private signedIn(data: unknown): User {
    const { user, tokens } = data as { user: UserData; tokens: { access_token: string; refresh_token: string } };
    const rest = this.api();
    rest.tokens.accessToken = tokens.access_token;
    rest.tokens.refreshToken = tokens.refresh_token;
    this.user = userOf(user);
    return this.user;
  }

  /** The server's STUN/TURN list (DECISIONS §9); an older server without it gives none. */
  private async serverIceServers(rest: RestClient): Promise<RTCIceServer[]> {
    try {
      const data = await rest.call<{ ice_servers: TURNServer[] }>("GET", "/rtc/ice-servers");
      return data.ice_servers.map(iceServerOf);
    } catch (error) {
      if (error instanceof MeetingError && error.code === SDKErrorCode.PERMISSION_DENIED) throw error;
      this.log.warn("no ICE servers from the server; using the configured ones", error);
      return [];
    }
  }

  private async leaveAll(): Promise<void> {
    const meetings = [...this.meetings];
    this.meetings.clear();
    await Promise.allSettled(meetings.map((meeting) => meeting.leave()));
  }
}

function userOf(data: UserData): User {
  return { id: data.id, nickname: data.nickname, avatar: data.avatar ?? null, email: data.email };
}

function iceServerOf(server: TURNServer): RTCIceServer {
  const entry: RTCIceServer = { urls: server.urls };
  if (server.username !== undefined) entry.username = server.username;
  if (server.credential !== undefined) entry.credential = server.credential;
  return entry;
}

function configIceServers(config: SDKConfig): RTCIceServer[] {
  const servers: RTCIceServer[] = [];
  if (config.stunServers?.length) servers.push({ urls: config.stunServers });
  for (const turn of config.turnServers ?? []) servers.push(iceServerOf(turn));
  return servers;
}

/** The REST base, its origin and the WebSocket URL; a bare origin gets `/v1` and `/v1/ws`. */
export function resolve(config: SDKConfig): Resolved {
  const here = globalThis.location?.href;
  const api = new URL(config.apiServer, here);
  if (api.pathname === "/" || api.pathname === "") api.pathname = "/v1";
  const ws = new URL(config.wsServer, here);
  if (ws.protocol === "http:") ws.protocol = "ws:";
  if (ws.protocol === "https:") ws.protocol = "wss:";
  if (ws.pathname === "/" || ws.pathname === "") ws.pathname = "/v1/ws";
  return { config, apiBase: api.toString().replace(/\/$/, ""), origin: api.origin, wsUrl: ws.toString() };
}

/** What is wrong with a configuration, by field; empty when nothing is. */
export function configProblems(config: SDKConfig | undefined | null): Record<string, string> {
  const problems: Record<string, string> = {};
  if (config === null || typeof config !== "object") return { config: "must be an object" };
  const here = globalThis.location?.href;
  const check = (field: "apiServer" | "wsServer", schemes: string[]): void => {
    const value = config[field];
    if (typeof value !== "string" || !value) return void (problems[field] = "required");
    try {
      const url = new URL(value, here);
      if (!schemes.includes(url.protocol)) problems[field] = `must be ${schemes.join(" or ")} URL`;
    } catch {
      problems[field] = "not a URL";
    }
  };
  check("apiServer", ["http:", "https:"]);
  check("wsServer", ["ws:", "wss:", "http:", "https:"]);
  const { stunServers, turnServers } = config;
  if (stunServers !== undefined) {
    if (!Array.isArray(stunServers) || stunServers.some((u) => typeof u !== "string" || !/^stuns?:/.test(u))) {
      problems.stunServers = "a list of stun: or stuns: URLs";
    }
  }
  if (turnServers !== undefined) {
    const bad = (server: TURNServer): boolean =>
      !Array.isArray(server?.urls) || !server.urls.length || server.urls.some((u) => typeof u !== "string" || !/^turns?:/.test(u));
    if (!Array.isArray(turnServers) || turnServers.some(bad)) {
      problems.turnServers = "a list of {urls: turn: or turns: URLs, username, credential}";
    }
  }
  if (config.iceTransportPolicy !== undefined && !["all", "relay"].includes(config.iceTransportPolicy)) {
    problems.iceTransportPolicy = '"all" or "relay"';
  }
  if (config.logLevel !== undefined && !Object.values(LogLevel).includes(config.logLevel)) {
    problems.logLevel = `one of ${Object.values(LogLevel).join(", ")}`;
  }
  return problems;
}

function dateOrNull(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

export function meetingSummaryOf(data: MeetingData): MeetingSummary {
  return {
    id: data.id,
    meetingNumber: data.meeting_number,
    title: data.title,
    creatorId: data.creator_id ?? "",
    state: (data.status as MeetingState | undefined) ?? MeetingState.WAITING,
    startedAt: dateOrNull(data.started_at),
    endedAt: dateOrNull(data.ended_at),
    createdAt: dateOrNull(data.created_at) ?? new Date(0),
  };
}
