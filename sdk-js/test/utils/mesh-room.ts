/**
 * A room of `Mesh`es wired together by a fake relay, as the server relays `webrtc_signal`
 * (docs/realtime.md): each signal goes to its one addressee, as JSON, in order, on a later
 * task. A member may be put offline: what it sends and what is sent to it is lost, as signals
 * are when a WebSocket is down.
 */
import type { LocalMedia } from "../../src/media/local.js";
import { Mesh } from "../../src/media/mesh.js";
import type { PeerLink } from "../../src/media/peer.js";
import type { MeetingEvent } from "../../src/types.js";
import { fakeLocalMedia } from "./fake-webrtc.js";
import type { FakeLocal, FakeRTCPeerConnection } from "./fake-webrtc.js";
import { RecordingLog } from "./log.js";

export interface Relayed {
  from: string;
  to: string;
  signal: Record<string, unknown>;
}

export interface Member {
  id: string;
  mesh: Mesh;
  local: FakeLocal;
  log: RecordingLog;
  events: Array<{ event: MeetingEvent; payload: Record<string, unknown> }>;
}

/** A turn of the event loop: queued tasks (negotiationneeded, candidates) run first. */
export const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class MeshRoom {
  readonly members = new Map<string, Member>();
  /** every signal sent, delivered or lost, in order */
  readonly sent: Relayed[] = [];
  readonly offline = new Set<string>();
  private inFlight: Relayed[] = [];

  join(id: string, local: FakeLocal = fakeLocalMedia()): Member {
    const log = new RecordingLog();
    const member: Member = {
      id,
      local,
      log,
      events: [],
      mesh: new Mesh({
        me: id,
        iceServers: [],
        iceTransportPolicy: "all",
        local: local as unknown as LocalMedia,
        statsIntervalMs: 3_600_000,
        log,
        send: (to, signal) => this.send(id, to, signal),
        emit: (event, payload) => member.events.push({ event, payload: payload as Record<string, unknown> }),
      }),
    };
    this.members.set(id, member);
    return member;
  }

  member(id: string): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  /** Deliver signals until nothing moves any more. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      await nextTask();
      const batch = this.inFlight.splice(0);
      quiet = batch.length ? 0 : quiet + 1;
      for (const { from, to, signal } of batch) {
        if (this.offline.has(to)) continue;
        this.members.get(to)?.mesh.onSignal(from, signal);
      }
    }
  }

  /** The descriptions `from` sent to `to` (offers and answers), in order. */
  descriptions(from: string, to: string): Array<{ type: string; sdp: string; screen_mid?: string | null }> {
    return this.sent
      .filter((s) => s.from === from && s.to === to && s.signal.kind === "description")
      .map((s) => ({
        ...(s.signal.description as { type: string; sdp: string }),
        screen_mid: s.signal.screen_mid as string | null | undefined,
      }));
  }

  closeAll(): void {
    for (const member of this.members.values()) member.mesh.close();
  }

  private send(from: string, to: string, signal: object): void {
    const relayed = { from, to, signal: JSON.parse(JSON.stringify(signal)) as Record<string, unknown> };
    this.sent.push(relayed);
    if (!this.offline.has(from)) this.inFlight.push(relayed);
  }
}

/** Test introspection of a private field: the mesh's link to a member (or undefined). */
export function linkOf(mesh: Mesh, userId: string): PeerLink | undefined {
  return (mesh as unknown as { links: Map<string, PeerLink> }).links.get(userId);
}

/** The fake peer connection behind the mesh's link to a member. */
export function pcOf(mesh: Mesh, userId: string): FakeRTCPeerConnection {
  const link = linkOf(mesh, userId);
  if (link === undefined) throw new Error(`no link to ${userId}`);
  return link.pc as unknown as FakeRTCPeerConnection;
}
