/**
 * The check before joining: a camera preview, a microphone level meter, device pickers, and
 * "join muted" / "camera off". A camera or microphone that fails is said in words; joining
 * still works, receive-only for what is missing.
 */
import { ErrorCode, MeetingError, SDKErrorCode } from "@aimeeting/sdk";
import type { MediaDeviceInfo, Meeting } from "@aimeeting/sdk";

import { MEETING_NUMBER, meetingPath } from "../app.js";
import type { App } from "../app.js";
import { LevelMeter } from "../audio.js";
import { deviceInUse, deviceOptions } from "../devices.js";
import type { InputKind } from "../devices.js";
import { h, show } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { remember } from "../session.js";
import { formatNumber } from "./home.js";
import { meetingView } from "./meeting.js";
import { noticeView } from "./notice.js";

/** `number` joins that meeting; without it, a new meeting (with `title`) is started. */
export interface PrejoinTarget {
  number?: string;
  title?: string;
}

export function prejoinView(app: App, target: PrejoinTarget): void {
  if (target.number !== undefined && !MEETING_NUMBER.test(target.number)) {
    noticeView(app, t("notFoundTitle"), t("notFoundText"));
    return;
  }
  const preview = h("video", { class: "preview", autoplay: true, muted: true, playsInline: true, "aria-label": t("camera") });
  const level = h("meter", { id: "mic-level", min: 0, max: 1, low: 0.05, value: 0 });
  const note = h("p", { class: "note", role: "status" });
  const cameras = h("select", { id: "camera-select" });
  const microphones = h("select", { id: "microphone-select" });
  const muted = h("input", { type: "checkbox", id: "join-muted" });
  const cameraOff = h("input", { type: "checkbox", id: "join-camera-off" });
  const error = h("p", { class: "error", role: "alert" });
  const join = h("button", { class: "primary", id: "join-button" }, target.number ? t("joinNow") : t("startNow"));
  const meter = new LevelMeter((value) => (level.value = value));
  let stream: MediaStream | null = null;
  let checked = false; // the devices were tried (a quick click may come before)

  async function open(): Promise<void> {
    stop();
    checked = false;
    const tries: MediaStreamConstraints[] = [
      { video: videoConstraints(cameras.value), audio: audioConstraints(microphones.value) },
      { audio: audioConstraints(microphones.value) },
      { video: videoConstraints(cameras.value) },
    ];
    for (const constraints of tries) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(constraints);
        break;
      } catch {
        // the next, smaller try: keep what works
      }
    }
    const hasVideo = !!stream?.getVideoTracks().length;
    const hasAudio = !!stream?.getAudioTracks().length;
    checked = true;
    note.textContent = hasVideo && hasAudio ? "" : t("noDevices");
    preview.srcObject = stream;
    preview.hidden = !hasVideo;
    if (stream && hasAudio) meter.watch(stream);
    await fillDevices();
  }

  async function fillDevices(): Promise<void> {
    const devices = await app.sdk.getDevices();
    const fill = (select: HTMLSelectElement, list: MediaDeviceInfo[], kind: InputKind, unnamed: string) => {
      show(select, deviceOptions(list, deviceInUse(stream, kind) ?? select.value, unnamed));
      select.disabled = list.length === 0;
    };
    fill(cameras, devices.videoDevices, "videoinput", t("camera"));
    fill(microphones, devices.audioInputDevices, "audioinput", t("microphone"));
  }

  function stop(): void {
    meter.stop();
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  async function enter(): Promise<void> {
    join.disabled = true;
    join.textContent = t("joining");
    error.textContent = "";
    // Without a working microphone or camera the room is told we are muted / camera off.
    const noAudio = checked && !stream?.getAudioTracks().length;
    const noVideo = checked && !stream?.getVideoTracks().length;
    stop(); // the SDK opens the devices itself
    const options = {
      audioMuted: muted.checked || noAudio,
      videoMuted: cameraOff.checked || noVideo,
      audioDeviceId: microphones.value || undefined,
      videoDeviceId: cameras.value || undefined,
    };
    let meeting: Meeting;
    try {
      meeting = target.number
        ? await app.sdk.joinMeeting(target.number, options)
        : await app.sdk.createMeeting({ ...options, title: target.title });
    } catch (failure) {
      remember(app.sdk);
      if (refusal(app, failure)) return;
      error.textContent = errorText(failure);
      join.disabled = false;
      join.textContent = target.number ? t("joinNow") : t("startNow");
      void open();
      return;
    }
    remember(app.sdk);
    history.replaceState(null, "", meetingPath(meeting.meetingNumber));
    meetingView(app, meeting);
  }

  cameras.onchange = microphones.onchange = () => void open();
  join.onclick = () => void enter();
  app.leaving = async () => stop();
  show(app.root, h("main", { class: "card prejoin" },
    h("h1", {}, t("checkDevices")),
    target.number ? h("p", {}, `${t("meetingNumber")}: `, h("strong", {}, formatNumber(target.number))) : null,
    h("div", { class: "preview-box" }, preview, note),
    h("label", { class: "field" }, h("span", {}, t("micLevel")), level),
    h("label", { class: "field" }, h("span", {}, t("camera")), cameras),
    h("label", { class: "field" }, h("span", {}, t("microphone")), microphones),
    h("label", { class: "check" }, muted, t("joinMuted")),
    h("label", { class: "check" }, cameraOff, t("joinCameraOff")),
    error,
    h("div", { class: "row" }, join, h("button", { onclick: () => app.go("/") }, t("back"))),
  ));
  join.focus();
  void open();
}

/** The refusals that get a page of their own; true when one was shown. */
function refusal(app: App, failure: unknown): boolean {
  if (!(failure instanceof MeetingError)) return false;
  const server = failure.serverCode;
  if (failure.code === SDKErrorCode.MEETING_NOT_FOUND) noticeView(app, t("notFoundTitle"), t("notFoundText"));
  else if (server === ErrorCode.MEETING_FULL) noticeView(app, t("meetingFullTitle"), t("meetingFullText"));
  else if (server === ErrorCode.MEETING_ENDED) noticeView(app, t("meetingEndedTitle"), "");
  else return false;
  return true;
}

function videoConstraints(deviceId: string): MediaTrackConstraints {
  return { deviceId: deviceId ? { exact: deviceId } : undefined, width: { ideal: 640 }, height: { ideal: 480 } };
}

function audioConstraints(deviceId: string): MediaTrackConstraints | boolean {
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}
