/**
 * The video tiles: one per member (ourselves first), each with a name, a mute icon, initials
 * when there is no picture, and a "speaking" ring from its audio level; a shared screen shown
 * large, with the cameras beside it.
 */
import type { Meeting, Participant } from "@aimeeting/sdk";

import { LevelMeter, SPEAKING_LEVEL } from "../audio.js";
import { h, icon, initials } from "../dom.js";
import { t } from "../i18n.js";

interface Tile {
  root: HTMLElement;
  video: HTMLVideoElement;
  audio: HTMLAudioElement | null;
  meter: LevelMeter;
  avatar: HTMLElement;
  mic: HTMLElement;
  audioMuted: boolean;
}

export class TileGrid {
  readonly element = h("section", { class: "stage", "aria-label": t("participants") });
  private readonly grid = h("div", { class: "grid" });
  private readonly screen = h("div", { class: "screen", hidden: true });
  private readonly tiles = new Map<string, Tile>();
  private screenOwner: string | null = null;

  constructor(private readonly meeting: Meeting) {
    this.element.append(this.screen, this.grid);
  }

  /** Make the tiles match the members and their streams (after any event). */
  update(): void {
    const members = this.meeting.participants;
    const me = this.meeting.localUserId;
    const ordered = [...members.filter((p) => p.userId === me), ...members.filter((p) => p.userId !== me)];
    for (const [userId, tile] of this.tiles) {
      if (!members.some((p) => p.userId === userId)) this.remove(userId, tile);
    }
    for (const participant of ordered) this.render(participant);
    // Keep the DOM order (ourselves first) without re-appending playing videos needlessly.
    ordered.forEach((p, index) => {
      const tile = this.tiles.get(p.userId) as Tile;
      if (this.grid.children[index] !== tile.root) this.grid.insertBefore(tile.root, this.grid.children[index] ?? null);
    });
    this.grid.dataset.count = String(ordered.length);
    this.renderScreen(ordered);
  }

  /** Stop every meter and player (the meeting is over). */
  clear(): void {
    for (const [userId, tile] of this.tiles) this.remove(userId, tile);
  }

  private render(p: Participant): void {
    const local = p.userId === this.meeting.localUserId;
    const tile = this.tiles.get(p.userId) ?? this.create(p, local);
    const stream = local ? this.meeting.localStream : this.meeting.getRemoteStream(p.userId);
    setSource(tile.video, stream);
    if (tile.audio) setSource(tile.audio, stream);
    // A member's stream gets its audio track when that starts to arrive: watch it from then.
    if (stream && tile.meter.stream !== stream) tile.meter.watch(stream);
    const showsVideo = !p.videoMuted && !!stream?.getVideoTracks().some((track) => track.readyState === "live");
    tile.video.hidden = !showsVideo;
    tile.avatar.hidden = showsVideo;
    tile.audioMuted = p.audioMuted;
    tile.mic.hidden = !p.audioMuted;
    tile.root.classList.toggle("muted", p.audioMuted);
    const states = [p.audioMuted ? t("muted") : "", showsVideo ? "" : t("cameraOff")].filter(Boolean);
    tile.root.setAttribute("aria-label", [local ? `${p.nickname} (${t("you")})` : p.nickname, ...states].join(", "));
  }

  private create(p: Participant, local: boolean): Tile {
    const video = h("video", { autoplay: true, muted: true, playsInline: true, class: local ? "mirror" : "" });
    // Remote sound plays from its own element: a hidden <video> (camera off) keeps playing it.
    const audio = local ? null : h("audio", { autoplay: true });
    const avatar = h("div", { class: "avatar", "aria-hidden": "true" }, initials(p.nickname));
    const mic = h("span", { class: "mic-off", title: t("muted") }, icon("mic-off"));
    const label = h("span", { class: "name" }, local ? `${p.nickname} (${t("you")})` : p.nickname, mic);
    const root = h("figure", { class: "tile", "data-user": p.userId, role: "group" }, video, avatar, audio, h("figcaption", {}, label));
    const meter = new LevelMeter((level) => root.classList.toggle("speaking", !tile.audioMuted && level > SPEAKING_LEVEL));
    const tile: Tile = { root, video, audio, avatar, mic, audioMuted: p.audioMuted, meter };
    this.tiles.set(p.userId, tile);
    this.grid.append(root);
    return tile;
  }

  private remove(userId: string, tile: Tile): void {
    tile.meter.stop();
    tile.video.srcObject = null;
    if (tile.audio) tile.audio.srcObject = null;
    tile.root.remove();
    this.tiles.delete(userId);
  }

  private renderScreen(members: Participant[]): void {
    const sharer = members.find((p) => this.meeting.getScreenStream(p.userId) !== null) ?? null;
    this.element.classList.toggle("sharing", sharer !== null);
    this.screen.hidden = sharer === null;
    if (sharer === null) {
      this.screen.replaceChildren();
      this.screenOwner = null;
      return;
    }
    const stream = this.meeting.getScreenStream(sharer.userId);
    let video = this.screen.querySelector("video");
    if (!video || this.screenOwner !== sharer.userId) {
      video = h("video", { autoplay: true, muted: true, playsInline: true, "aria-label": `${t("screenOf")} ${sharer.nickname}` });
      this.screen.replaceChildren(video, h("p", { class: "caption" }, `${sharer.nickname} ${t("sharing")}`));
      this.screenOwner = sharer.userId;
    }
    setSource(video, stream);
  }
}

function setSource(element: HTMLMediaElement, stream: MediaStream | null): void {
  if (element.srcObject !== stream) element.srcObject = stream;
}
