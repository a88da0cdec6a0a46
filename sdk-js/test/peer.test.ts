import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { LocalMedia } from "../src/media/local.js";
import { PeerLink, candidateSignal, sessionOf } from "../src/media/peer.js";
import type { TrackKind } from "../src/types.js";
import { FakeIceCandidate, FakeRTCPeerConnection, fakeLocalMedia, installWebRtcFakes, parseSdp } from "./utils/fake-webrtc.js";
import type { FakeLocal, FakeMediaStream, FakeMediaStreamTrack } from "./utils/fake-webrtc.js";
import { RecordingLog } from "./utils/log.js";
import { nextTask } from "./utils/mesh-room.js";

describe("sessionOf", () => {
  it("reads the session id of the o= line", () => {
    const sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
    expect(sessionOf(sdp)).toBe("4611731400430051336");
  });

  it("accepts any user name and LF-only SDP", () => {
    expect(sessionOf("v=0\no=mozilla...THIS_IS_SDPARTA-99.0 5981925937461257434 0 IN IP4 0.0.0.0\ns=-\n")).toBe(
      "5981925937461257434",
    );
    expect(sessionOf("v=0\r\no=aiortc 3908285372 3908285372 IN IP4 0.0.0.0\r\n")).toBe("3908285372");
  });

  it("is null without an o= line", () => {
    expect(sessionOf("")).toBeNull();
    expect(sessionOf("v=0\r\ns=-\r\nfoo=- 1 2 IN IP4 0.0.0.0\r\n")).toBeNull();
    expect(sessionOf("v=0\r\no=-\r\n")).toBeNull();
  });
});

describe("candidateSignal", () => {
  it("carries DECISIONS §9's three fields, and nothing more", () => {
    const candidate = new FakeIceCandidate("candidate:1 1 udp 1 192.0.2.1 9 typ host", "1", 1, "abcd");
    expect(candidateSignal(candidate as unknown as RTCIceCandidate)).toEqual({
      kind: "candidate",
      candidate: { candidate: "candidate:1 1 udp 1 192.0.2.1 9 typ host", sdpMid: "1", sdpMLineIndex: 1 },
    });
  });

  it("is null at the end of candidates (null, or an empty candidate line)", () => {
    expect(candidateSignal(null)).toEqual({ kind: "candidate", candidate: null });
    const end = new FakeIceCandidate("", "0", 0, "abcd");
    expect(candidateSignal(end as unknown as RTCIceCandidate)).toEqual({ kind: "candidate", candidate: null });
  });
});

/** One PeerLink on a fake RTCPeerConnection, with everything it reports recorded. */
function peer(remoteUserId: string, polite: boolean, local: FakeLocal = fakeLocalMedia()) {
  const sent: Array<Record<string, unknown>> = [];
  const added: Array<{ kind: TrackKind; track: MediaStreamTrack; stream: MediaStream }> = [];
  const removed: Array<{ kind: TrackKind; track: MediaStreamTrack }> = [];
  const log = new RecordingLog();
  const link = new PeerLink(
    remoteUserId,
    { iceServers: [] },
    polite,
    local as unknown as LocalMedia,
    {
      send: (signal) => sent.push(JSON.parse(JSON.stringify(signal)) as Record<string, unknown>),
      trackAdded: (kind, track, stream) => added.push({ kind, track, stream }),
      trackRemoved: (kind, track) => removed.push({ kind, track }),
      stateChanged: () => undefined,
    },
    log,
  );
  const pc = link.pc as unknown as FakeRTCPeerConnection;
  const descriptions = (): Array<Record<string, unknown>> => sent.filter((s) => s.kind === "description");
  const candidates = (): Array<Record<string, unknown>> => sent.filter((s) => s.kind === "candidate");
  return { link, pc, sent, added, removed, log, descriptions, candidates };
}

/** Let queued tasks (negotiationneeded, candidates) and their promise chains run. */
async function tasks(n = 3): Promise<void> {
  for (let i = 0; i < n; i += 1) await nextTask();
}

const sdpOf = (signal: Record<string, unknown> | undefined): string =>
  (signal?.description as { sdp: string } | undefined)?.sdp ?? "";

beforeEach(() => installWebRtcFakes());
afterEach(() => {
  for (const pc of FakeRTCPeerConnection.instances) pc.close();
});

describe("PeerLink: offering", () => {
  it("start() sends our tracks, which makes the offer, then trickles candidates", async () => {
    const a = peer("user_b", true);
    a.link.start();
    await tasks();
    expect(a.pc.signalingState).toBe("have-local-offer");
    const [offer, ...rest] = a.sent;
    expect(offer).toMatchObject({ kind: "description", description: { type: "offer" }, screen_mid: null });
    expect(parseSdp(sdpOf(offer)).media.map((m) => `${m.kind} ${m.direction}`)).toEqual(["audio sendrecv", "video sendrecv"]);
    expect(sessionOf(sdpOf(offer))).toBe(a.pc.session);
    expect(rest).toEqual([
      { kind: "candidate", candidate: { candidate: expect.stringMatching(/^candidate:/), sdpMid: "0", sdpMLineIndex: 0 } },
      { kind: "candidate", candidate: null },
    ]);
  });

  it("asks to receive what it does not send", async () => {
    const a = peer("user_b", true, fakeLocalMedia({ audio: false, video: false }));
    a.link.start();
    await tasks();
    expect(parseSdp(sdpOf(a.descriptions()[0])).media.map((m) => `${m.kind} ${m.direction}`)).toEqual([
      "audio recvonly",
      "video recvonly",
    ]);
  });

  it("tells which of its m-lines carries the screen (screen_mid)", async () => {
    const a = peer("user_b", true, fakeLocalMedia({ screen: true }));
    a.link.start();
    await tasks();
    const offer = a.descriptions()[0];
    const media = parseSdp(sdpOf(offer)).media;
    expect(media.map((m) => m.kind)).toEqual(["audio", "video", "video"]);
    expect(offer?.screen_mid).toBe(media[2]?.mid);
  });
});

describe("PeerLink: answering", () => {
  it("answers an offer with its own tracks on the offered m-lines, and receives theirs", async () => {
    const a = peer("user_b", true);
    const b = peer("user_a", false, fakeLocalMedia({ video: false }));
    a.link.start();
    await tasks();
    await b.link.handle(a.descriptions()[0] ?? {});
    await tasks(); // their media starts to arrive
    expect(b.pc.signalingState).toBe("stable");
    const answer = b.descriptions()[0];
    expect(answer).toMatchObject({ kind: "description", description: { type: "answer" }, screen_mid: null });
    expect(parseSdp(sdpOf(answer)).media.map((m) => `${m.kind} ${m.direction}`)).toEqual([
      "audio sendrecv",
      "video recvonly",
    ]);
    expect(b.added.map((t) => t.kind)).toEqual(["audio", "video"]);
    expect(b.added.every((t) => t.stream === (b.link.camera as unknown as MediaStream))).toBe(true);
    expect((b.link.camera as unknown as FakeMediaStream).getTracks()).toHaveLength(2);
    expect(b.link.remoteSession).toBe(a.pc.session);

    await a.link.handle(answer ?? {});
    await tasks();
    expect(a.pc.signalingState).toBe("stable");
    expect(a.added.map((t) => t.kind)).toEqual(["audio"]);
    expect(a.link.remoteSession).toBe(b.pc.session);
    expect(b.descriptions()).toHaveLength(1); // nothing left to negotiate: the answerer never offers
    expect(a.descriptions()).toHaveLength(1);
  });

  it("applies signals one at a time, in order (a candidate right behind its offer)", async () => {
    const a = peer("user_b", true);
    const b = peer("user_a", false);
    a.link.start();
    await tasks();
    const [offer, candidate, end] = a.sent;
    const done = Promise.all([b.link.handle(offer ?? {}), b.link.handle(candidate ?? {}), b.link.handle(end ?? {})]);
    await expect(done).resolves.toBeDefined();
    expect(b.pc.candidates).toEqual([candidate?.candidate, null]);
  });

  it("logs a candidate it cannot use when it is not ignoring an offer", async () => {
    const b = peer("user_a", false);
    await b.link.handle({ kind: "candidate", candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0 } });
    expect(b.log.problems).toEqual([expect.stringContaining("signal from user_a failed")]);
  });

  it("ignores unknown kinds", async () => {
    const b = peer("user_a", false);
    await expect(b.link.handle({ kind: "bye" })).resolves.toBeUndefined();
    await expect(b.link.handle({ kind: "description-v2", description: { type: "offer", sdp: "v=0" } })).resolves.toBeUndefined();
    await tasks();
    expect(b.sent).toEqual([]);
    expect(b.pc.appliedRemote).toEqual([]);
    expect(b.log.problems).toEqual([]);
  });
});

describe("PeerLink: crossing offers (perfect negotiation)", () => {
  it("the impolite side ignores the polite side's offer and candidates; the polite side rolls back and answers", async () => {
    const polite = peer("user_z", true); // we are user_a: "user_a" < "user_z"
    const impolite = peer("user_a", false); // we are user_z
    polite.link.start();
    impolite.link.start();
    await tasks();
    const [politeOffer, ...politeCandidates] = polite.sent;
    const [impoliteOffer] = impolite.sent;
    expect(polite.pc.signalingState).toBe("have-local-offer");
    expect(impolite.pc.signalingState).toBe("have-local-offer");

    // the impolite side: the polite offer is ignored, and so are its candidates, without throwing
    await expect(impolite.link.handle(politeOffer ?? {})).resolves.toBeUndefined();
    for (const candidate of politeCandidates) await expect(impolite.link.handle(candidate)).resolves.toBeUndefined();
    expect(impolite.pc.appliedRemote).toEqual([]);
    expect(impolite.pc.signalingState).toBe("have-local-offer");
    expect(impolite.pc.candidates).toEqual([]);
    expect(impolite.log.problems).toEqual([]);

    // the polite side: its own offer rolled back, the impolite one answered
    await polite.link.handle(impoliteOffer ?? {});
    expect(polite.pc.appliedRemote.map((d) => d.type)).toEqual(["offer"]);
    const answer = polite.descriptions().at(-1);
    expect(answer).toMatchObject({ description: { type: "answer" } });
    expect(polite.pc.signalingState).toBe("stable");

    await impolite.link.handle(answer ?? {});
    await tasks();
    expect(impolite.pc.signalingState).toBe("stable");
    expect(polite.added.map((t) => t.kind)).toEqual(["audio", "video"]);
    expect(impolite.added.map((t) => t.kind)).toEqual(["audio", "video"]);
    expect(polite.log.problems).toEqual([]);
  });
});

describe("PeerLink: their tracks", () => {
  async function connected(local: FakeLocal = fakeLocalMedia()) {
    const a = peer("user_b", true, local);
    const b = peer("user_a", false);
    a.link.start();
    await tasks();
    await b.link.handle(a.descriptions()[0] ?? {});
    await a.link.handle(b.descriptions()[0] ?? {});
    await tasks();
    return { a, b };
  }

  /** Carry the next offer from → to, and its answer back. */
  async function renegotiate(from: ReturnType<typeof peer>, to: ReturnType<typeof peer>): Promise<void> {
    await tasks();
    const offer = from.descriptions().at(-1);
    expect(offer).toMatchObject({ description: { type: "offer" } });
    await to.link.handle(offer ?? {});
    await from.link.handle(to.descriptions().at(-1) ?? {});
    await tasks();
  }

  it("classifies the m-line named by screen_mid as the screen, in a stream of its own", async () => {
    const { b } = await connected(fakeLocalMedia({ screen: true }));
    expect(b.added.map((t) => t.kind)).toEqual(["audio", "video", "screen"]);
    const screen = b.added[2];
    expect(screen?.stream).toBe(b.link.screenStream as unknown as MediaStream);
    expect(screen?.stream).not.toBe(b.link.camera as unknown as MediaStream);
    expect((b.link.camera as unknown as FakeMediaStream).getTracks().map((t) => t.kind)).toEqual(["audio", "video"]);
  });

  it("a screen added later arrives as the screen; removed, it is reported removed", async () => {
    const local = fakeLocalMedia();
    const { a, b } = await connected(local);
    const { track, stream } = local.shareScreen();
    a.link.setScreen(track as unknown as MediaStreamTrack, stream as unknown as MediaStream);
    await renegotiate(a, b);
    expect(b.added.map((t) => t.kind)).toEqual(["audio", "video", "screen"]);
    const screenTrack = b.added[2]?.track;

    a.link.setScreen(null, null);
    await renegotiate(a, b);
    expect(a.descriptions().at(-1)?.screen_mid).toBeNull();
    expect(b.removed).toEqual([{ kind: "screen", track: screenTrack }]);
    expect((b.link.screenStream as unknown as FakeMediaStream).getTracks()).toEqual([]);
    expect(b.pc.signalingState).toBe("stable");
    expect(a.pc.signalingState).toBe("stable");
  });

  it("close() reports every received track removed and closes the peer connection", async () => {
    const { b } = await connected();
    b.link.close();
    b.link.close();
    expect(b.removed.map((t) => t.kind)).toEqual(["audio", "video"]);
    expect(b.pc.closed).toBe(true);
    await expect(b.link.handle({ kind: "candidate", candidate: null })).resolves.toBeUndefined();
  });

  it("announces a remote track when its media starts to arrive, not when the description promised it", async () => {
    const a = peer("user_b", true);
    const b = peer("user_a", false);
    b.pc.holdMedia = true;
    a.link.start();
    await tasks();
    await b.link.handle(a.descriptions()[0] ?? {});
    await tasks();
    expect(b.pc.signalingState).toBe("stable");
    expect((b.link.camera as unknown as FakeMediaStream).getTracks()).toHaveLength(2); // in the stream already
    expect(b.added).toEqual([]);
    b.pc.flowMedia();
    expect(b.added.map((t) => t.kind)).toEqual(["audio", "video"]);
  });

  it("a track gone before its media arrived is never announced, nor reported removed", async () => {
    const local = fakeLocalMedia();
    const { a, b } = await connected(local);
    b.pc.holdMedia = true;
    const { track, stream } = local.shareScreen();
    a.link.setScreen(track as unknown as MediaStreamTrack, stream as unknown as MediaStream);
    await renegotiate(a, b);
    expect((b.link.screenStream as unknown as FakeMediaStream).getTracks()).toHaveLength(1);
    a.link.setScreen(null, null);
    await renegotiate(a, b);
    expect((b.link.screenStream as unknown as FakeMediaStream).getTracks()).toEqual([]);
    b.pc.flowMedia();
    await tasks();
    expect(b.added.map((t) => t.kind)).toEqual(["audio", "video"]);
    expect(b.removed).toEqual([]);
    b.link.close();
    expect(b.removed.map((t) => t.kind)).toEqual(["audio", "video"]);
  });

  it("a remote track that ends is reported removed once", async () => {
    const { b } = await connected();
    const video = b.added[1]?.track as unknown as FakeMediaStreamTrack;
    video.end();
    video.end();
    expect(b.removed).toEqual([{ kind: "video", track: video }]);
  });
});
