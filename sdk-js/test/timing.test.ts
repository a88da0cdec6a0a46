import { describe, expect, it } from "vitest";

import { backoff, expiresSoon, gradeLink, gradeSocket, jwtExpiry, worst } from "../src/timing.js";
import { NetworkQuality } from "../src/types.js";
import { base64url, unsignedJwt } from "./utils/jwt.js";

const { GOOD, FAIR, POOR, LOST } = NetworkQuality;

describe("backoff", () => {
  const low = (): number => 0;
  const high = (): number => 1;

  it.each([
    [1, 125, 250],
    [2, 250, 500],
    [3, 500, 1000],
    [4, 1000, 2000],
    [5, 2000, 4000],
    [6, 2500, 5000],
    [7, 2500, 5000],
    [50, 2500, 5000],
  ])("attempt %i waits between %i and %i ms (base 250, max 5000)", (attempt, min, max) => {
    expect(backoff(attempt, 250, 5000, low)).toBe(min);
    expect(backoff(attempt, 250, 5000, high)).toBe(max);
    const middle = backoff(attempt, 250, 5000, () => 0.5);
    expect(middle).toBeGreaterThan(min);
    expect(middle).toBeLessThan(max);
  });

  it("doubles until the cap, then stays there", () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoff(attempt, 100, 1000, high));
    expect(waits).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it("treats attempt 0 (or less) as the first", () => {
    expect(backoff(0, 100, 1000, high)).toBe(100);
    expect(backoff(-3, 100, 1000, high)).toBe(100);
  });

  it("stays finite for absurd attempt numbers", () => {
    expect(backoff(10_000, 250, 5000, high)).toBe(5000);
    expect(backoff(Number.MAX_SAFE_INTEGER, 250, 5000, low)).toBe(2500);
  });

  it("uses Math.random by default, within [0.5, 1] of the step", () => {
    for (let i = 0; i < 50; i += 1) {
      const wait = backoff(3, 100, 10_000);
      expect(wait).toBeGreaterThanOrEqual(200);
      expect(wait).toBeLessThanOrEqual(400);
    }
  });
});

describe("gradeSocket", () => {
  it.each([
    [0, 0, GOOD],
    [149.9, 0, GOOD],
    [150, 0, FAIR],
    [499, 0, FAIR],
    [500, 0, POOR],
    [20, 1, POOR],
    [null, 0, POOR],
    [null, 1, POOR],
    [20, 2, LOST],
    [null, 5, LOST],
  ])("rtt %s ms, %i missed → %s", (rtt, missed, quality) => {
    expect(gradeSocket(rtt, missed)).toBe(quality);
  });
});

describe("gradeLink", () => {
  it.each([
    [null, null, null, GOOD],
    [10, 0, 1, GOOD],
    [149, 0.0199, 29, GOOD],
    [150, 0, 0, FAIR],
    [0, 0.02, 0, FAIR],
    [0, 0, 30, FAIR],
    [499, 0.099, 99, FAIR],
    [500, 0, 0, POOR],
    [0, 0.1, 0, POOR],
    [0, 0, 100, POOR],
    [600, 0.5, 300, POOR],
  ])("rtt %s, loss %s, jitter %s → %s", (rtt, loss, jitter, quality) => {
    expect(gradeLink(rtt, loss, jitter)).toBe(quality);
  });
});

describe("worst", () => {
  it("is the worse of two, in the order good < fair < poor < lost", () => {
    const order = [GOOD, FAIR, POOR, LOST];
    for (const [i, a] of order.entries()) {
      for (const [j, b] of order.entries()) {
        expect(worst(a, b)).toBe(order[Math.max(i, j)]);
      }
    }
  });
});

describe("jwtExpiry", () => {
  it("reads exp without verifying", () => {
    expect(jwtExpiry(unsignedJwt({ sub: "user_1", exp: 1_700_000_000 }))).toBe(1_700_000_000);
  });

  it("decodes base64url payloads (- and _, no padding)", () => {
    // "???>>>" encodes to base64 with "/" and "+": base64url has "_" and "-" instead
    const token = unsignedJwt({ exp: 1_700_000_123, sub: "???>>>" });
    const payload = token.split(".")[1] as string;
    expect(payload).toMatch(/[-_]/);
    expect(payload).not.toMatch(/[+/=]/);
    expect(jwtExpiry(token)).toBe(1_700_000_123);
  });

  it.each([1, 2, 3, 4])("decodes a payload of any length (padding %i)", (pad) => {
    const token = unsignedJwt({ exp: 1_700_000_000, n: "x".repeat(pad) });
    expect(jwtExpiry(token)).toBe(1_700_000_000);
  });

  it("reads exp next to UTF-8 claims", () => {
    expect(jwtExpiry(unsignedJwt({ nickname: "张三", exp: 42 }))).toBe(42);
  });

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["empty", ""],
    ["not a JWT", "opaque-token"],
    ["payload not base64", "a.!!!.c"],
    ["payload not JSON", `a.${base64url("not json")}.c`],
    ["payload JSON null", `a.${base64url("null")}.c`],
    ["no exp", unsignedJwt({ sub: "user_1" })],
    ["exp a string", unsignedJwt({ exp: "1700000000" })],
  ])("%s → null", (_, token) => {
    expect(jwtExpiry(token)).toBeNull();
  });
});

describe("expiresSoon", () => {
  const now = 1_700_000_000_000;
  const expiring = (inS: number): string => unsignedJwt({ exp: now / 1000 + inS });

  it("is true for a token expired or expiring within the margin", () => {
    expect(expiresSoon(expiring(-100), 5, now)).toBe(true);
    expect(expiresSoon(expiring(0), 5, now)).toBe(true);
    expect(expiresSoon(expiring(4.9), 5, now)).toBe(true);
  });

  it("is false for a token valid beyond the margin", () => {
    expect(expiresSoon(expiring(5), 5, now)).toBe(false);
    expect(expiresSoon(expiring(3600), 5, now)).toBe(false);
  });

  it("honours another margin", () => {
    expect(expiresSoon(expiring(30), 60, now)).toBe(true);
    expect(expiresSoon(expiring(30), 0, now)).toBe(false);
  });

  it("is false when the expiry cannot be read (the server decides)", () => {
    expect(expiresSoon(null, 5, now)).toBe(false);
    expect(expiresSoon("opaque-token", 5, now)).toBe(false);
    expect(expiresSoon(unsignedJwt({ sub: "user_1" }), 5, now)).toBe(false);
  });

  it("uses the clock by default", () => {
    const inS = (s: number): string => unsignedJwt({ exp: Date.now() / 1000 + s });
    expect(expiresSoon(inS(2))).toBe(true);
    expect(expiresSoon(inS(60))).toBe(false);
  });
});
