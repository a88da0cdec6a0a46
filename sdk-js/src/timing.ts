/** Pure rules of time and quality, shared by the WebSocket link and the media links. */
import { NetworkQuality } from "./types.js";

export const FAIR_RTT_MS = 150;
export const POOR_RTT_MS = 500;
export const FAIR_LOSS = 0.02;
export const POOR_LOSS = 0.1;
export const FAIR_JITTER_MS = 30;
export const POOR_JITTER_MS = 100;
/** pongs missed in a row that mean the connection is dead */
export const DEAD_AFTER_MISSED = 2;

/**
 * The wait before reconnect attempt `attempt` (1, 2, …): exponential from `base`, capped at
 * `max`, times a random factor in [0.5, 1] so that clients dropped together spread out.
 */
export function backoff(attempt: number, base: number, max: number, random = Math.random): number {
  const ceiling = base * 2 ** Math.min(Math.max(attempt - 1, 0), 16);
  return (0.5 + random() / 2) * Math.min(max, ceiling);
}

/** The WebSocket's quality from the last round trip and the pongs missed in a row. */
export function gradeSocket(rttMs: number | null, missed: number): NetworkQuality {
  if (missed >= DEAD_AFTER_MISSED) return NetworkQuality.LOST;
  if (missed > 0 || rttMs === null || rttMs >= POOR_RTT_MS) return NetworkQuality.POOR;
  return rttMs >= FAIR_RTT_MS ? NetworkQuality.FAIR : NetworkQuality.GOOD;
}

/** A media link's quality from its round trip, packet loss (0–1) and jitter. */
export function gradeLink(rttMs: number | null, loss: number | null, jitterMs: number | null): NetworkQuality {
  const rtt = rttMs ?? 0;
  const lost = loss ?? 0;
  const jitter = jitterMs ?? 0;
  if (rtt >= POOR_RTT_MS || lost >= POOR_LOSS || jitter >= POOR_JITTER_MS) return NetworkQuality.POOR;
  if (rtt >= FAIR_RTT_MS || lost >= FAIR_LOSS || jitter >= FAIR_JITTER_MS) return NetworkQuality.FAIR;
  return NetworkQuality.GOOD;
}

const RANK: Record<NetworkQuality, number> = {
  [NetworkQuality.GOOD]: 0,
  [NetworkQuality.FAIR]: 1,
  [NetworkQuality.POOR]: 2,
  [NetworkQuality.LOST]: 3,
};

/** The worse of two qualities: a meeting is as good as its worst link. */
export function worst(a: NetworkQuality, b: NetworkQuality): NetworkQuality {
  return RANK[a] >= RANK[b] ? a : b;
}

/** A JWT's `exp`, Unix seconds (read without verifying it), or null when it has none. */
export function jwtExpiry(token: string | null | undefined): number | null {
  try {
    const payload = (token ?? "").split(".")[1];
    if (!payload) return null;
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp: unknown = JSON.parse(json).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/** True when the token's expiry is within `marginS` seconds (so refresh before using it). */
export function expiresSoon(token: string | null | undefined, marginS = 5, nowMs = Date.now()): boolean {
  const exp = jwtExpiry(token);
  return exp !== null && exp - marginS < nowMs / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
