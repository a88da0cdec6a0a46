/**
 * `Meeting`: a room entered over its own WebSocket, and the media mesh with its members.
 * Keeps `participants` and `state` current, turns server messages into events, and after a
 * reconnect rejoins, fetches the chat missed meanwhile, re-sends what was not echoed (with its
 * `client_msg_id`) and restarts ICE on every media link.
 */
import { assistantStateOf, captionOf } from "./assistant.js";
import type { AssistantStateData } from "./assistant.js";
import { Link } from "./connection.js";
import type { Incoming, LinkOptions, LinkOwner } from "./connection.js";
import { Emitter } from "./emitter.js";
import { MeetingError, SDKErrorCode, invalidArgument, networkError, serverError } from "./errors.js";
import type { Logger } from "./log.js";
import { LocalMedia } from "./media/local.js";
import type { InputKind } from "./media/local.js";
import { Mesh } from "./media/mesh.js";
import { ClientMessage, CloseCode, ErrorCode, MAX_CHAT_LENGTH, MediaAction, ServerMessage } from "./protocol.js";
import type {
  CaptionData,
  ChatMessageData,
  ErrorData,
  MediaStateChangedData,
  MeetingEndedData,
  ParticipantData,
  RoomStateData,
  UserBrief,
  UserJoinedData,
  UserLeftData,
  WebRTCSignalData,
} from "./protocol.js";
import type { RestClient } from "./rest.js";
import { sleep } from "./timing.js";
import { ConnectionState, MeetingEvent, MeetingState } from "./types.js";
import type { AssistantState, ChatMessage, EventHandler, NetworkQuality, Participant, User } from "./types.js";

const HISTORY_PAGE = 100;
const HISTORY_MAX_PAGES = 20; // a catch-up reads at most 2,000 missed messages
/** Chat queued while away goes out at most 8 a second (the server allows a user 10 a second
 * by default): a long reconnect's backlog is not refused (42901) for coming in one burst. */
export const CHAT_RESEND_INTERVAL_MS = 125;
/** A chat refused with 42901 is sent again after the server's `retry_after`; this many
 * refusals of one message, and it fails (its promise rejects, and an `error` event says so).
 * One refused with 50301 (the server cannot store it now: its database is unreachable) is sent
 * again after `retry_after` for as long as a lost connection would be (`reconnectTimeout`). */
export const CHAT_MAX_REFUSALS = 5;

/** A chat message sent (or queued) and not yet echoed by the server. */
interface PendingChat {
  content: string;
  resolve(message: ChatMessage): void;
  reject(error: MeetingError): void;
  /** the connection it was last sent on (`Link.generation`), or null: not sent there yet */
  sentOn: number | null;
  /** times the server refused it as too many (42901) */
  refusals: number;
  /** Date.now() of its first 50301, if any */
  unavailableSince?: number;
}

export interface MeetingDeps {
  rest: RestClient;
  link: LinkOptions;
  me: User;
  detail: { id: string; meeting_number: string; title: string | null; creator_id?: string; status?: string; participants?: ParticipantData[] };
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
  local: LocalMedia;
  statsIntervalMs: number;
  log: Logger;
}

export class Meeting {
  readonly id: string;
  readonly meetingNumber: string;
  readonly title: string | null;
  /** extension */
  readonly creatorId: string | null;
  state: MeetingState;
  private members = new Map<string, Participant>();
  private readonly emitter: Emitter<MeetingEvent>;
  private readonly link: Link;
  private readonly mesh: Mesh;
  private readonly local: LocalMedia;
  private readonly rest: RestClient;
  private readonly me: User;
  private readonly log: Logger;
  private readonly pending = new Map<string, PendingChat>();
  private readonly chatSeqs = new Map<number, string>(); // seq on the current socket → client_msg_id
  private readonly seen = new Set<string>(); // message ids delivered, so none is delivered twice
  private held: ChatMessageData[] | null = null; // live chat held back during a catch-up
  private catchUpDue = 0; // entries (after a reconnect) that want a catch-up after them
  private catchingUp = false; // a catch-up runs (and is retried until it got the history)
  private seatTime: number | null = null; // when we first took our seat (server clock, ms)
  // Who was connected to the room when we last entered it (`room_state.in_room`): we call them.
  private inRoom: readonly string[] | undefined = undefined;
  private lastState = ConnectionState.DISCONNECTED;
  private starting = false;
  private closed = false;
  private queueing = false; // the outbox is sending queued chat: a new one goes behind it
  private enteredOn: number | null = null; // the connection whose room entry is complete
  private chatResumeAt = 0; // Date.now(): no chat goes out before (after a 42901 or 50301)
  private readonly reconnectTimeoutMs: number; // how long a 50301-refused chat is retried

  constructor(deps: MeetingDeps) {
    const { detail } = deps;
    this.id = detail.id;
    this.meetingNumber = detail.meeting_number;
    this.title = detail.title ?? null;
    this.creatorId = detail.creator_id ?? null;
    this.state = (detail.status as MeetingState | undefined) ?? MeetingState.ACTIVE;
    this.rest = deps.rest;
    this.me = deps.me;
    this.log = deps.log;
    this.local = deps.local;
    for (const p of detail.participants ?? []) this.members.set(p.user_id, participantOf(p));
    this.emitter = new Emitter(deps.log);
    const owner: LinkOwner = {
      onMessage: (message) => this.onMessage(message),
      enter: (first) => this.enter(first),
      onState: (state, code, reason, error) => this.onState(state, code, reason, error),
      onSocketQuality: (rtt, missed) => this.onSocketQuality(rtt, missed),
    };
    this.link = new Link(deps.link, deps.rest, owner, deps.log);
    this.reconnectTimeoutMs = deps.link.reconnectTimeoutMs;
    this.mesh = new Mesh({
      me: deps.me.id,
      iceServers: deps.iceServers,
      iceTransportPolicy: deps.iceTransportPolicy,
      local: deps.local,
      statsIntervalMs: deps.statsIntervalMs,
      log: deps.log,
      send: (to, signal) => this.sendSignal(to, signal),
      emit: (event, payload) => this.emitter.emit(event, payload),
    });
  }

  // --- the contract's properties -----------------------------------------------------------

  /** Who holds a seat now, oldest seat first. */
  get participants(): Participant[] {
    return [...this.members.values()];
  }

  /** extension: the id of the user this SDK is signed in as */
  get localUserId(): string {
    return this.me.id;
  }

  /** extension: our camera and microphone, or null when neither could be opened */
  get localStream(): MediaStream | null {
    return this.local.stream.getTracks().length ? this.local.stream : null;
  }

  /** extension: a member's camera and microphone as they arrive, or null */
  getRemoteStream(userId: string): MediaStream | null {
    return this.mesh.remoteStream(userId);
  }

  /** extension: a member's screen share, or null when they share none */
  getScreenStream(userId: string): MediaStream | null {
    if (userId === this.me.id) return this.local.screen;
    return this.mesh.screenStream(userId);
  }

  /** extension: connecting, connected, reconnecting or disconnected */
  get connectionState(): ConnectionState {
    return this.link.state;
  }

  /** extension */
  get networkQuality(): NetworkQuality | null {
    return this.mesh.quality;
  }

  // --- the contract's methods --------------------------------------------------------------

  /** Leave the room (the seat is released at once), hang up every link, release devices. */
  async leave(): Promise<void> {
    if (this.closed) return;
    if (this.link.connected) {
      try {
        this.link.send(ClientMessage.LEAVE_ROOM, { room_id: this.id });
        await this.link.ping(); // messages are handled in order: the pong says the leave is done
      } catch {
        // the seat goes after the grace
      }
    }
    this.close(networkError("you left the meeting"));
  }

  /** Stop (or resume) sending our microphone, and tell the room. */
  async muteAudio(muted: boolean): Promise<void> {
    this.checkFlag(muted);
    this.local.setMuted("audio", muted);
    await this.media(MediaAction.MUTE_AUDIO, muted);
  }

  /** Stop (or resume) sending our camera, and tell the room. */
  async muteVideo(muted: boolean): Promise<void> {
    this.checkFlag(muted);
    this.local.setMuted("video", muted);
    await this.media(MediaAction.MUTE_VIDEO, muted);
  }

  /**
   * Send a chat message; resolves with it as stored, once the server echoed it. Sent while
   * reconnecting, it waits and goes out after the rejoin; a message whose echo was lost is sent
   * again with the same `client_msg_id` (the server stores it once).
   */
  sendChatMessage(content: string): Promise<ChatMessage> {
    const text = typeof content === "string" ? content.trim() : "";
    if (text.length < 1 || text.length > MAX_CHAT_LENGTH) {
      return Promise.reject(invalidArgument(`content must be 1-${MAX_CHAT_LENGTH} characters`));
    }
    try {
      this.ensureOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const clientMsgId = crypto.randomUUID().replace(/-/g, "");
    return new Promise<ChatMessage>((resolve, reject) => {
      const pending: PendingChat = { content, resolve, reject, sentOn: null, refusals: 0 };
      this.pending.set(clientMsgId, pending);
      if (this.link.connected && !this.queueing) this.sendChat(clientMsgId, pending);
    }).finally(() => this.pending.delete(clientMsgId));
  }

  on(event: MeetingEvent, handler: EventHandler): void {
    this.emitter.on(event, handler);
  }

  off(event: MeetingEvent, handler: EventHandler): void {
    this.emitter.off(event, handler);
  }

  // --- extensions --------------------------------------------------------------------------

  /** Share a screen, window or tab with everyone (renegotiated; announced to the room).
   * `options` go to `getDisplayMedia` (e.g. a smaller size); the screen's audio is not sent. */
  async startScreenShare(options?: DisplayMediaStreamOptions): Promise<void> {
    this.ensureOpen();
    if (this.local.screen !== null) return;
    const track = await this.local.startScreen(options);
    track.addEventListener("ended", () => void this.stopScreenShare().catch(() => undefined));
    this.mesh.setScreen(track, this.local.screen);
    this.emitter.emit(MeetingEvent.LOCAL_STREAM_CHANGED, { stream: this.localStream, screen: this.local.screen });
    await this.media(MediaAction.SCREEN_SHARE, true);
  }

  async stopScreenShare(): Promise<void> {
    if (this.local.screen === null) return;
    this.local.stopScreen();
    this.mesh.setScreen(null, null);
    this.emitter.emit(MeetingEvent.LOCAL_STREAM_CHANGED, { stream: this.localStream, screen: null });
    if (!this.closed) await this.media(MediaAction.SCREEN_SHARE, false);
  }

  /** Use another microphone or camera, without leaving (`getDevices()` lists them). */
  async switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    if (kind !== "audioinput" && kind !== "videoinput") {
      throw invalidArgument('kind must be "audioinput" or "videoinput"');
    }
    this.ensureOpen();
    const track = await this.local.switchDevice(kind, deviceId);
    await this.mesh.replaceTrack(track.kind === "audio" ? "audio" : "video", track);
    this.emitter.emit(MeetingEvent.LOCAL_STREAM_CHANGED, { stream: this.localStream, screen: this.local.screen });
  }

  /** End the meeting for everyone (its creator only; else PERMISSION_DENIED). */
  async end(): Promise<void> {
    await this.rest.call("POST", `/meetings/${this.id}/end`);
  }

  /** Stored chat, newest first (`before`: a message id, to page on). */
  async chatHistory(limit = 50, before?: string): Promise<ChatMessage[]> {
    const page = await this.historyPage(limit, before);
    return page.messages.map(chatOf);
  }

  /**
   * extension (docs/assistant.md): bring the assistant in (any member). It takes a seat,
   * captions everyone (`caption` events) and a summary is written when the meeting ends.
   */
  async inviteAssistant(language?: "en" | "zh" | "auto"): Promise<AssistantState> {
    const body = language === undefined ? undefined : { language };
    return assistantStateOf(await this.rest.call<AssistantStateData>("POST", `/meetings/${this.id}/assistant`, body));
  }

  /** extension: send the assistant away (any member); it leaves within a second. */
  async dismissAssistant(): Promise<AssistantState> {
    return assistantStateOf(await this.rest.call<AssistantStateData>("DELETE", `/meetings/${this.id}/assistant`));
  }

  /** extension: whether the assistant is invited now, and its user id. */
  async getAssistant(): Promise<AssistantState> {
    return assistantStateOf(await this.rest.call<AssistantStateData>("GET", `/meetings/${this.id}/assistant`));
  }

  /** extension: the camera/microphone errors met when joining (also emitted as `error`) */
  deviceErrors: MeetingError[] = [];

  /** Emitted on the next turn, so that handlers attached right after the join hear them. */
  reportDeviceErrors(errors: MeetingError[]): void {
    this.deviceErrors = errors;
    if (errors.length) setTimeout(() => errors.forEach((error) => this.emitter.emit(MeetingEvent.ERROR, error)), 0);
  }

  // --- entering ----------------------------------------------------------------------------

  /** Connect and enter the room; resolves once `room_state` arrived. */
  async start(): Promise<void> {
    this.starting = true;
    try {
      await this.link.start();
    } catch (error) {
      this.close(error instanceof MeetingError ? error : networkError(String(error)));
      throw error;
    } finally {
      this.starting = false;
    }
    if (this.state === MeetingState.WAITING) this.state = MeetingState.ACTIVE;
  }

  /** After each (re)connect: join the room, catch up on chat, re-send the unechoed, and call
   * (or re-call) every member. The catch-up is a side request (REST, maybe to another node):
   * it runs beside the socket and is retried with backoff, so a history fetch answered 502 or
   * never does not drop a working socket; live chat is held until it is done (order kept). */
  private async enter(first: boolean): Promise<void> {
    this.chatSeqs.clear();
    this.enteredOn = null;
    if (!first && this.held === null) this.held = []; // an unfinished catch-up's stays held
    await this.joinRoom();
    this.enteredOn = this.link.generation;
    if (!first) {
      this.catchUpDue += 1; // a catch-up running now fetches again after this entry
      if (!this.catchingUp) void this.catchUpUntilDone();
    }
    this.startOutbox(); // what was not echoed on the last socket, or sent meanwhile
    this.mesh.enter(this.participants.map((p) => p.userId), !first, this.inRoom);
    if (!first && this.local.screen !== null && !this.members.get(this.me.id)?.screenSharing) {
      this.link.send(ClientMessage.MEDIA_CONTROL, { room_id: this.id, action: MediaAction.SCREEN_SHARE, value: true });
    }
  }

  private async joinRoom(): Promise<void> {
    try {
      await this.requestRoomState();
    } catch (error) {
      if (!(error instanceof MeetingError) || error.serverCode !== ErrorCode.FORBIDDEN) throw error;
      // Our seat was released (we were away longer than the grace): take one again.
      this.log.info("seat released while away: joining again");
      const me = this.members.get(this.me.id);
      const body = me ? { audio_muted: me.audioMuted, video_muted: me.videoMuted } : undefined;
      await this.rest.call("POST", `/meetings/${this.meetingNumber}/join`, body);
      await this.requestRoomState();
    }
  }

  private async requestRoomState(): Promise<void> {
    const isRoomState = (m: Incoming): boolean => m.type === ServerMessage.ROOM_STATE && m.data.room_id === this.id;
    await this.link.request(ClientMessage.JOIN_ROOM, { room_id: this.id }, isRoomState, { waitConnected: false });
  }

  /** Catch up after the latest entry, retrying a failure (network, 5xx) with the reconnect's
   * backoff for up to `reconnectTimeout`; then deliver the held live chat. Given up (or
   * refused for good), an `error` event says chat may be missing. */
  private async catchUpUntilDone(): Promise<void> {
    this.catchingUp = true;
    const deadline = Date.now() + this.reconnectTimeoutMs;
    let done = 0;
    let attempt = 0;
    try {
      while (done < this.catchUpDue && !this.closed) {
        const due = this.catchUpDue;
        try {
          await this.catchUp();
          done = due;
          attempt = 0;
        } catch (error) {
          const failure = error instanceof MeetingError ? error : networkError(String(error));
          attempt += 1;
          if (!isTransient(failure) || Date.now() >= deadline) {
            this.log.warn(`chat history catch-up failed, given up: ${failure.message}`);
            this.emitter.emit(MeetingEvent.ERROR, failure);
            break;
          }
          const delay = this.link.backoff(attempt);
          this.log.info(`chat history catch-up failed (${failure.message}): again in ${Math.round(delay)} ms`);
          await sleep(delay);
        }
      }
    } finally {
      this.catchingUp = false;
      const held = this.held ?? [];
      this.held = null;
      if (!this.closed) for (const message of held) this.deliverChat(message);
    }
  }

  /** Deliver, oldest first, the chat stored while we were away (and not yet seen). */
  private async catchUp(): Promise<void> {
    const missed: ChatMessageData[] = [];
    let before: string | undefined;
    for (let page = 0; page < HISTORY_MAX_PAGES; page += 1) {
      const { messages, has_more } = await this.historyPage(HISTORY_PAGE, before);
      const fresh = messages.filter((m) => !this.seen.has(m.message_id));
      missed.push(...fresh);
      if (fresh.length < messages.length || !has_more) break;
      before = messages[messages.length - 1]?.message_id;
    }
    for (const message of missed.reverse()) {
      const created = Date.parse(message.created_at);
      if (this.seatTime === null || !(created < this.seatTime)) this.deliverChat(message);
    }
  }

  private historyPage(limit: number, before?: string): Promise<{ messages: ChatMessageData[]; has_more: boolean }> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set("before", before);
    return this.rest.call("GET", `/meetings/${this.id}/messages?${query}`);
  }

  private startOutbox(): void {
    if (this.queueing || this.closed) return;
    this.queueing = true;
    void this.sendQueued();
  }

  /** Send, oldest first, each pending chat not yet sent on this connection: one every
   * `CHAT_RESEND_INTERVAL_MS`, and none before a 42901's `retry_after` has passed. Ends when
   * nothing is left, or the connection went (the next entry starts it again). */
  private async sendQueued(): Promise<void> {
    try {
      let last = -Infinity;
      while (!this.closed && this.enteredOn === this.link.generation) {
        const next = [...this.pending].find(([, pending]) => pending.sentOn !== this.link.generation);
        if (next === undefined) return;
        const wait = Math.max(this.chatResumeAt, last + CHAT_RESEND_INTERVAL_MS) - Date.now();
        if (wait > 0) {
          await sleep(wait);
          continue; // a refusal meanwhile may have put an older message first
        }
        last = Date.now();
        if (!this.sendChat(...next)) return;
      }
    } finally {
      this.queueing = false;
    }
  }

  private sendChat(clientMsgId: string, pending: PendingChat): boolean {
    pending.sentOn = this.link.generation;
    const data = { room_id: this.id, content: pending.content, client_msg_id: clientMsgId };
    try {
      this.link.send(ClientMessage.CHAT_MESSAGE, data, (seq) => this.chatSeqs.set(seq, clientMsgId));
      return true;
    } catch {
      pending.sentOn = null; // goes out again after the reconnect
      return false;
    }
  }

  private async media(action: MediaAction, value: boolean): Promise<void> {
    this.ensureOpen();
    const isAck = (m: Incoming): boolean =>
      m.type === ServerMessage.MEDIA_STATE_CHANGED && m.data.user_id === this.me.id;
    await this.link.request(ClientMessage.MEDIA_CONTROL, { room_id: this.id, action, value }, isAck);
  }

  private sendSignal(to: string, signal: object): void {
    // Fire and forget: a signal lost with the connection is made again by the ICE restart
    // that follows the reconnect.
    if (!this.link.post(ClientMessage.WEBRTC_SIGNAL, { room_id: this.id, to_user_id: to, signal })) {
      this.log.debug(`signal to ${to} not sent: not connected`);
    }
  }

  private checkFlag(value: unknown): void {
    if (typeof value !== "boolean") throw invalidArgument("muted must be a boolean");
  }

  private ensureOpen(): void {
    if (this.state === MeetingState.ENDED) throw new MeetingError(SDKErrorCode.INVALID_ARGUMENT, "the meeting has ended");
    if (this.closed) throw networkError("this meeting is closed (left, or its connection was lost)");
  }

  private close(reason: MeetingError): void {
    if (this.closed) return;
    this.closed = true;
    this.link.close();
    this.mesh.close();
    this.local.close();
    for (const pending of this.pending.values()) pending.reject(reason);
    this.pending.clear();
  }

  // --- what the server says ----------------------------------------------------------------

  private onMessage(message: Incoming): void {
    const data = message.data;
    if (typeof data.room_id === "string" && data.room_id !== this.id) return;
    switch (message.type) {
      case ServerMessage.ROOM_STATE:
        return this.onRoomState(data as unknown as RoomStateData);
      case ServerMessage.USER_JOINED:
        return this.onUserJoined(data as unknown as UserJoinedData);
      case ServerMessage.USER_LEFT:
        return this.onUserLeft(data as unknown as UserLeftData);
      case ServerMessage.MEDIA_STATE_CHANGED:
        return this.onMediaState(data as unknown as MediaStateChangedData);
      case ServerMessage.CHAT_MESSAGE:
        return this.onChat(data as unknown as ChatMessageData);
      case ServerMessage.WEBRTC_SIGNAL: {
        const signal = data as unknown as WebRTCSignalData;
        return this.mesh.onSignal(signal.from_user_id, signal.signal);
      }
      case ServerMessage.MEETING_ENDED:
        return this.onMeetingEnded(data as unknown as MeetingEndedData);
      case ServerMessage.CAPTION:
        return this.emitter.emit(MeetingEvent.CAPTION, captionOf(data as unknown as CaptionData));
      case ServerMessage.ERROR:
        return this.onError(data as unknown as ErrorData);
    }
  }

  private onRoomState(data: RoomStateData): void {
    this.inRoom = Array.isArray(data.in_room) ? data.in_room : undefined; // an older server: all
    const current = new Map(data.participants.map((p) => [p.user_id, participantOf(p)]));
    const previous = this.members;
    this.members = current;
    const me = current.get(this.me.id);
    if (me !== undefined && this.seatTime === null) this.seatTime = me.joinedAt.getTime();
    for (const [userId, gone] of previous) {
      if (!current.has(userId)) this.emitLeft(userId, current.size, gone);
    }
    for (const [userId, now] of current) {
      const before = previous.get(userId);
      if (before === undefined && userId !== this.me.id) this.emitJoined(now, current.size);
      else if (before !== undefined && mediaKey(before) !== mediaKey(now)) this.emitMedia(now);
    }
  }

  private onUserJoined(data: UserJoinedData): void {
    const known = this.members.has(data.user.id);
    const participant: Participant = {
      userId: data.user.id,
      nickname: data.user.nickname,
      avatar: data.user.avatar,
      audioMuted: Boolean(data.audio_muted),
      videoMuted: Boolean(data.video_muted),
      screenSharing: Boolean(data.screen_sharing),
      joinedAt: data.joined_at ? new Date(data.joined_at) : new Date(),
    };
    this.members.set(participant.userId, participant);
    // They have just entered the room and will call everyone there (the one who enters offers).
    // A link we opened earlier (to their seat, before they connected) never reached them; were
    // it kept, their offer and ours would cross for ever.
    this.mesh.hangUp(participant.userId);
    if (!known && participant.userId !== this.me.id) this.emitJoined(participant, data.participant_count);
  }

  private onUserLeft(data: UserLeftData): void {
    const gone = this.members.get(data.user_id);
    if (gone === undefined) return;
    this.members.delete(data.user_id);
    this.emitLeft(data.user_id, data.participant_count, gone);
  }

  private onMediaState(data: MediaStateChangedData): void {
    const before = this.members.get(data.user_id);
    const now: Participant | undefined = before && {
      ...before,
      audioMuted: data.audio_muted,
      videoMuted: data.video_muted,
      screenSharing: Boolean(data.screen_sharing),
    };
    if (now !== undefined) this.members.set(data.user_id, now);
    this.emitter.emit(MeetingEvent.MEDIA_STATE_CHANGED, {
      roomId: this.id,
      userId: data.user_id,
      audioMuted: data.audio_muted,
      videoMuted: data.video_muted,
      screenSharing: Boolean(data.screen_sharing),
    });
  }

  private onChat(data: ChatMessageData): void {
    if (this.held !== null) {
      this.held.push(data); // delivered after the missed ones, in order
      this.settlePending(chatOf(data)); // stored: the send need not wait for the catch-up
    } else this.deliverChat(data);
  }

  /** Settle our pending send, and emit the message unless it was delivered before. */
  private deliverChat(data: ChatMessageData): void {
    const message = chatOf(data);
    this.settlePending(message);
    if (this.seen.has(message.messageId)) return;
    this.seen.add(message.messageId);
    this.emitter.emit(MeetingEvent.CHAT_MESSAGE, message);
  }

  private settlePending(message: ChatMessage): void {
    const pending = this.pending.get(message.clientMsgId ?? "");
    if (pending !== undefined && message.sender.id === this.me.id) pending.resolve(message);
  }

  private onMeetingEnded(data: Partial<MeetingEndedData>): void {
    if (this.state === MeetingState.ENDED) return;
    this.state = MeetingState.ENDED;
    this.members.clear();
    this.mesh.close();
    this.emitter.emit(MeetingEvent.MEETING_ENDED, {
      roomId: this.id,
      endedAt: data.ended_at ? new Date(data.ended_at) : null,
    });
  }

  private onError(data: ErrorData): void {
    const error = serverError(data.code, String(data.message ?? ""), data.details);
    const clientMsgId = data.request_seq === null ? undefined : this.chatSeqs.get(data.request_seq);
    const pending = clientMsgId === undefined ? undefined : this.pending.get(clientMsgId);
    if (pending !== undefined) return this.chatRefused(pending, error, data.details);
    this.emitter.emit(MeetingEvent.ERROR, error);
  }

  /** A chat refused as too many (42901) is sent again after `retry_after`, up to
   * `CHAT_MAX_REFUSALS` times; one refused as unavailable (50301) likewise, until it has been
   * refused for `reconnectTimeout`. Then, or refused for another reason, its promise rejects,
   * and a 42901/50301 also fires `error` (so a send nobody awaits is not lost unseen). The same
   * `client_msg_id` goes again: a message stored after all is not stored twice. */
  private chatRefused(pending: PendingChat, error: MeetingError, details: unknown): void {
    const now = Date.now();
    let retry: boolean;
    let why: string;
    if (error.serverCode === ErrorCode.TOO_MANY_REQUESTS) {
      pending.refusals += 1;
      [retry, why] = [pending.refusals < CHAT_MAX_REFUSALS, "too many"];
    } else if (error.serverCode === ErrorCode.SERVICE_UNAVAILABLE) {
      pending.unavailableSince ??= now;
      [retry, why] = [now - pending.unavailableSince < this.reconnectTimeoutMs, "unavailable"];
    } else {
      pending.reject(error);
      return;
    }
    if (retry) {
      const retryAfter = (details as { retry_after?: unknown } | null | undefined)?.retry_after;
      const seconds = typeof retryAfter === "number" ? Math.min(Math.max(retryAfter, 0.1), 60) : 1;
      this.chatResumeAt = Math.max(this.chatResumeAt, now + seconds * 1000);
      pending.sentOn = null;
      this.log.info(`chat refused as ${why}: sent again in ${seconds} s`);
      this.startOutbox();
      return;
    }
    pending.reject(error);
    this.log.warn(`chat refused as ${why} (${error.serverCode}): given up`);
    this.emitter.emit(MeetingEvent.ERROR, error);
  }

  // --- the connection ----------------------------------------------------------------------

  private onState(state: ConnectionState, closeCode: number | null, reason: string | null, error: MeetingError | null): void {
    const previous = this.lastState;
    this.lastState = state;
    if (state === ConnectionState.DISCONNECTED && closeCode === CloseCode.MEETING_ENDED) this.onMeetingEnded({});
    this.emitter.emit(MeetingEvent.CONNECTION_STATE_CHANGED, { state, previous, closeCode, reason });
    if (state === ConnectionState.DISCONNECTED && !(this.closed || this.starting)) {
      const failure = error ?? closeError(closeCode, reason);
      if (failure !== null) this.emitter.emit(MeetingEvent.ERROR, failure);
      this.close(failure ?? networkError("closed"));
    }
  }

  private onSocketQuality(rttMs: number | null, missed: number): void {
    this.mesh.socketQuality(rttMs, missed);
  }

  // --- events ------------------------------------------------------------------------------

  private emitJoined(p: Participant, count: number): void {
    const user: UserBrief = { id: p.userId, nickname: p.nickname, avatar: p.avatar };
    this.emitter.emit(MeetingEvent.USER_JOINED, {
      roomId: this.id,
      user,
      userId: p.userId,
      participantCount: count,
      audioMuted: p.audioMuted,
      videoMuted: p.videoMuted,
      screenSharing: p.screenSharing,
      joinedAt: p.joinedAt,
    });
  }

  private emitLeft(userId: string, count: number, participant: Participant): void {
    this.mesh.hangUp(userId);
    this.emitter.emit(MeetingEvent.USER_LEFT, { roomId: this.id, userId, participantCount: count, participant });
  }

  private emitMedia(p: Participant): void {
    this.emitter.emit(MeetingEvent.MEDIA_STATE_CHANGED, {
      roomId: this.id,
      userId: p.userId,
      audioMuted: p.audioMuted,
      videoMuted: p.videoMuted,
      screenSharing: p.screenSharing,
    });
  }
}

function participantOf(p: ParticipantData): Participant {
  return {
    userId: p.user_id,
    nickname: p.nickname,
    avatar: p.avatar,
    audioMuted: p.audio_muted,
    videoMuted: p.video_muted,
    screenSharing: Boolean(p.screen_sharing),
    joinedAt: new Date(p.joined_at),
  };
}

function chatOf(m: ChatMessageData): ChatMessage {
  return {
    messageId: m.message_id,
    roomId: m.room_id,
    sender: { id: m.sender.id, nickname: m.sender.nickname, avatar: m.sender.avatar },
    content: m.content,
    createdAt: new Date(m.created_at),
    clientMsgId: m.client_msg_id ?? null,
  };
}

function mediaKey(p: Participant): string {
  return `${p.audioMuted}/${p.videoMuted}/${p.screenSharing}`;
}

/** What to report when the connection ended for good; a meeting's end is no error. */
/** A failure worth trying again: no answer, a balancer's 5xx page, or a server 5xx. */
function isTransient(error: MeetingError): boolean {
  if (error.code === SDKErrorCode.NETWORK_ERROR) return true;
  return error.serverCode !== null && error.serverCode !== undefined && error.serverCode >= 50_000;
}

function closeError(code: number | null, reason: string | null): MeetingError | null {
  if (code === CloseCode.MEETING_ENDED) return null;
  if (code === CloseCode.UNAUTHORIZED) {
    return new MeetingError(SDKErrorCode.PERMISSION_DENIED, "logged out", { closeCode: code });
  }
  return networkError(reason ?? "connection lost", { closeCode: code });
}
