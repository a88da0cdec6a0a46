/**
 * The meeting: the tiles, the controls (microphone, camera, screen, devices, chat,
 * participants, leave, end for the creator), a "reconnecting…" banner, and the pages shown
 * when it ends or the connection is lost for good.
 */
import { ConnectionState, MeetingError, MeetingEvent, SDKErrorCode } from "@aimeeting/sdk";
import type { ChatMessage, ConnectionStateChangedEvent, MediaDeviceInfo, Meeting } from "@aimeeting/sdk";

import { meetingPath } from "../app.js";
import type { App } from "../app.js";
import { deviceInUse, deviceOptions } from "../devices.js";
import type { InputKind } from "../devices.js";
import { h, icon, show } from "../dom.js";
import { errorText, t } from "../i18n.js";
import type { TextKey } from "../i18n.js";
import { AssistantControl, Captions, TranscriptPanel, showSummary } from "./assistant.js";
import { ChatPanel } from "./chat.js";
import { formatNumber } from "./home.js";
import { noticeView } from "./notice.js";
import { prejoinView } from "./prejoin.js";
import { TileGrid } from "./tiles.js";

type Panel = "chat" | "people" | "devices" | "transcript";

export function meetingView(app: App, meeting: Meeting): void {
  const tiles = new TileGrid(meeting);
  const chat = new ChatPanel(meeting);
  const transcript = new TranscriptPanel(app.sdk, meeting);
  const captions = new Captions(meeting, transcript);
  const banner = h("p", { class: "banner", role: "status", hidden: true }, t("reconnecting"));
  const toast = h("p", { class: "toast", role: "alert" });
  const panel = h("aside", { class: "panel", hidden: true, id: "side-panel", "aria-label": t("chat") });
  const people = h("ul", { class: "people" });
  const badge = h("span", { class: "badge", hidden: true, "aria-live": "polite" });
  let open: Panel | null = null;
  let unread = 0;
  let done = false;

  const toggle = (key: TextKey, iconName: string, onclick: () => void) =>
    h("button", { class: "control", "aria-pressed": "false", onclick, title: t(key) }, icon(iconName), h("span", {}, t(key)));
  const micButton = toggle("mute", "mic", () => void run(() => meeting.muteAudio(!me().audioMuted)));
  const camButton = toggle("stopVideo", "cam", () => void run(() => meeting.muteVideo(!me().videoMuted)));
  const shareButton = toggle("shareScreen", "screen", () => void run(() => toggleScreen(meeting)));
  const chatButton = h("button", { class: "control", "aria-expanded": "false", "aria-controls": "side-panel", onclick: () => setPanel("chat") },
    icon("chat"), h("span", {}, t("chat")), badge);
  const peopleButton = h("button", { class: "control", "aria-expanded": "false", "aria-controls": "side-panel", onclick: () => setPanel("people") },
    icon("people"), h("span", {}, t("participants")));
  const devicesButton = h("button", { class: "control", "aria-expanded": "false", "aria-controls": "side-panel", onclick: () => setPanel("devices") },
    icon("gear"), h("span", {}, t("devices")));
  const transcriptButton = h("button", { class: "control", "aria-expanded": "false", "aria-controls": "side-panel", onclick: () => setPanel("transcript") },
    icon("transcript"), h("span", {}, t("transcript")));
  const assistant = new AssistantControl(meeting, (action) => run(action));
  const leaveButton = h("button", { class: "control danger", onclick: () => void leave() }, icon("leave"), h("span", {}, t("leave")));
  const endDialog = confirmEnd(() => void run(() => meeting.end()));
  const endButton = meeting.creatorId === meeting.localUserId
    ? h("button", { class: "control danger end", onclick: () => endDialog.showModal() }, h("span", {}, t("endMeeting")))
    : null;

  function me() {
    return meeting.participants.find((p) => p.userId === meeting.localUserId) ?? { audioMuted: true, videoMuted: true, screenSharing: false };
  }

  function refresh(): void {
    if (done) return;
    tiles.update();
    const mine = me();
    const sharing = meeting.getScreenStream(meeting.localUserId) !== null;
    setToggle(micButton, mine.audioMuted, "unmute", "mute");
    setToggle(camButton, mine.videoMuted, "startVideo", "stopVideo");
    setToggle(shareButton, sharing, "stopSharing", "shareScreen");
    micButton.disabled = !meeting.localStream?.getAudioTracks().length;
    camButton.disabled = !meeting.localStream?.getVideoTracks().length;
    show(people, meeting.participants.map((p) => h("li", {},
      h("span", {}, p.userId === meeting.localUserId ? `${p.nickname} (${t("you")})` : p.nickname),
      p.audioMuted ? h("span", { class: "mic-off", title: t("muted") }, icon("mic-off"), h("span", { class: "visually-hidden" }, t("muted"))) : null,
      p.videoMuted ? h("span", { class: "visually-hidden" }, t("cameraOff")) : null,
    )));
  }

  function setPanel(next: Panel): void {
    open = open === next ? null : next;
    panel.hidden = open === null;
    const buttons = [[chatButton, "chat"], [peopleButton, "people"], [devicesButton, "devices"], [transcriptButton, "transcript"]] as const;
    for (const [button, key] of buttons) {
      button.setAttribute("aria-expanded", String(open === key));
    }
    if (open === "chat") {
      unread = 0;
      badge.hidden = true;
      panel.setAttribute("aria-label", t("chat"));
      show(panel, h("h2", {}, t("chat")), chat.element);
      chat.focus();
    } else if (open === "people") {
      panel.setAttribute("aria-label", t("participants"));
      show(panel, h("h2", {}, t("participants")), people);
    } else if (open === "transcript") {
      panel.setAttribute("aria-label", t("transcript"));
      show(panel, h("h2", {}, t("transcript")), transcript.element);
    } else if (open === "devices") {
      panel.setAttribute("aria-label", t("devices"));
      void devicePanel(app, meeting, run).then((content) => open === "devices" && show(panel, h("h2", {}, t("devices")), content));
    }
  }

  async function run(action: () => Promise<unknown>): Promise<void> {
    try {
      toast.textContent = "";
      await action();
    } catch (error) {
      toast.textContent = errorText(error);
    }
    refresh();
  }

  async function leave(): Promise<void> {
    await close();
    app.go("/");
  }

  async function close(): Promise<void> {
    if (done) return;
    done = true;
    tiles.clear();
    await meeting.leave();
  }

  function onChat(message: ChatMessage): void {
    if (chat.add(message) && open !== "chat" && message.sender.id !== meeting.localUserId) {
      unread += 1;
      badge.hidden = false;
      badge.textContent = String(unread);
      badge.setAttribute("aria-label", `${unread} ${t("unread")}`);
    }
  }

  function onConnection(event: ConnectionStateChangedEvent): void {
    banner.hidden = event.state !== ConnectionState.RECONNECTING;
    if (event.state !== ConnectionState.DISCONNECTED || done) return;
    void close();
    noticeView(app, t("disconnectedTitle"), t("disconnectedText"), {
      label: t("rejoin"),
      run: () => {
        history.replaceState(null, "", meetingPath(meeting.meetingNumber));
        prejoinView(app, { number: meeting.meetingNumber });
      },
    });
  }

  for (const event of [MeetingEvent.USER_JOINED, MeetingEvent.USER_LEFT, MeetingEvent.MEDIA_STATE_CHANGED,
    MeetingEvent.TRACK_ADDED, MeetingEvent.TRACK_REMOVED, MeetingEvent.LOCAL_STREAM_CHANGED]) {
    meeting.on(event, refresh);
  }
  meeting.on(MeetingEvent.CHAT_MESSAGE, onChat);
  meeting.on(MeetingEvent.CONNECTION_STATE_CHANGED, onConnection);
  meeting.on(MeetingEvent.ERROR, (error: unknown) => (toast.textContent = errorText(error)));
  meeting.on(MeetingEvent.MEETING_ENDED, () => {
    void close();
    const notice = noticeView(app, t("meetingEndedTitle"), t("meetingEndedText"));
    const summary = h("section", { class: "summary-box", "aria-live": "polite" });
    notice.append(summary);
    void showSummary(app.sdk, meeting.id, summary);
  });
  app.leaving = close;

  const title = meeting.title || t("untitled");
  document.title = `${title} · ${t("appName")}`;
  show(app.root, h("div", { class: "meeting" },
    h("header", { class: "topbar" },
      h("h1", { class: "brand" }, title),
      h("span", { class: "number" }, `${t("meetingNumber")} `, h("strong", {}, formatNumber(meeting.meetingNumber))),
      copyButton(t("copyNumber"), meeting.meetingNumber),
      copyButton(t("copyLink"), new URL(meetingPath(meeting.meetingNumber), location.origin).href),
      banner,
    ),
    h("div", { class: "body" }, h("main", {}, tiles.element, captions.element), panel),
    toast,
    h("nav", { class: "controls", "aria-label": t("appName") },
      micButton, camButton, shareButton, devicesButton, chatButton, peopleButton,
      captions.button, transcriptButton, assistant.button, leaveButton, endButton),
    endDialog,
  ));
  refresh();
  void chat.loadHistory();
  void transcript.load();
}

/** Start or stop sharing; closing the browser's screen picker is a choice, not an error. */
async function toggleScreen(meeting: Meeting): Promise<void> {
  if (meeting.getScreenStream(meeting.localUserId)) return meeting.stopScreenShare();
  try {
    await meeting.startScreenShare({ video: true, audio: false });
  } catch (error) {
    if (!(error instanceof MeetingError && error.code === SDKErrorCode.PERMISSION_DENIED)) throw error;
  }
}

function setToggle(button: HTMLButtonElement, on: boolean, onKey: TextKey, offKey: TextKey): void {
  button.setAttribute("aria-pressed", String(on));
  const label = t(on ? onKey : offKey);
  button.title = label;
  const text = button.querySelector("span");
  if (text) text.textContent = label;
}

function copyButton(label: string, value: string): HTMLButtonElement {
  const button = h("button", { class: "small" }, label);
  button.onclick = async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = t("copied");
    } catch {
      // no clipboard (an insecure page): let the person copy it by hand
      prompt(label, value);
    }
    setTimeout(() => (button.textContent = label), 1500);
  };
  return button;
}

function confirmEnd(onConfirm: () => void): HTMLDialogElement {
  const dialog = h("dialog", { "aria-labelledby": "end-title" });
  dialog.append(
    h("h2", { id: "end-title" }, t("endConfirm")),
    h("div", { class: "row" },
      h("button", { class: "danger", onclick: () => { dialog.close(); onConfirm(); } }, t("endMeeting")),
      h("button", { onclick: () => dialog.close() }, t("cancel")),
    ),
  );
  return dialog;
}

/** Pick another camera or microphone mid-meeting. */
async function devicePanel(app: App, meeting: Meeting, run: (action: () => Promise<unknown>) => Promise<void>): Promise<HTMLElement> {
  const devices = await app.sdk.getDevices();
  const picker = (id: string, label: string, list: MediaDeviceInfo[], kind: InputKind) => {
    const select = h("select", { id, disabled: list.length === 0 },
      deviceOptions(list, deviceInUse(meeting.localStream, kind), label));
    select.onchange = () => void run(() => meeting.switchDevice(kind, select.value));
    return h("label", { class: "field" }, h("span", {}, label), select);
  };
  return h("div", {},
    picker("switch-camera", t("camera"), devices.videoDevices, "videoinput"),
    picker("switch-microphone", t("microphone"), devices.audioInputDevices, "audioinput"),
  );
}
