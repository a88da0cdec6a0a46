import { describe, expect, it } from "vitest";

import { MEETING_NUMBER, configProblems, resolve } from "../src/sdk.js";
import type { SDKConfig } from "../src/types.js";
import { LogLevel } from "../src/types.js";

const config = (fields: Partial<SDKConfig> = {}): SDKConfig => ({
  apiServer: "http://localhost:3000/v1",
  wsServer: "ws://localhost:3000/v1/ws",
  ...fields,
});

describe("resolve", () => {
  it("keeps full addresses as they are", () => {
    const resolved = resolve(config());
    expect(resolved.apiBase).toBe("http://localhost:3000/v1");
    expect(resolved.origin).toBe("http://localhost:3000");
    expect(resolved.wsUrl).toBe("ws://localhost:3000/v1/ws");
  });

  it.each(["http://localhost:3000", "http://localhost:3000/"])("a bare origin %s gets /v1", (apiServer) => {
    expect(resolve(config({ apiServer })).apiBase).toBe("http://localhost:3000/v1");
  });

  it.each([
    ["ws://localhost:3000", "ws://localhost:3000/v1/ws"],
    ["ws://localhost:3000/", "ws://localhost:3000/v1/ws"],
    ["wss://meet.example.com", "wss://meet.example.com/v1/ws"],
    ["http://localhost:3000", "ws://localhost:3000/v1/ws"],
    ["https://meet.example.com", "wss://meet.example.com/v1/ws"],
    ["https://meet.example.com/v1/ws", "wss://meet.example.com/v1/ws"],
    ["http://10.0.0.2:8080/custom/ws", "ws://10.0.0.2:8080/custom/ws"],
  ])("wsServer %s → %s", (wsServer, wsUrl) => {
    expect(resolve(config({ wsServer })).wsUrl).toBe(wsUrl);
  });

  it("drops a trailing slash of the REST base and keeps a path prefix", () => {
    const resolved = resolve(config({ apiServer: "https://meet.example.com/aimeeting/v1/" }));
    expect(resolved.apiBase).toBe("https://meet.example.com/aimeeting/v1");
    expect(resolved.origin).toBe("https://meet.example.com");
  });

  it("keeps the configuration it resolved", () => {
    const given = config({ logLevel: LogLevel.DEBUG });
    expect(resolve(given).config).toBe(given);
  });
});

describe("configProblems", () => {
  it("finds nothing wrong with a valid configuration", () => {
    expect(configProblems(config())).toEqual({});
    expect(
      configProblems(
        config({
          apiServer: "https://meet.example.com",
          wsServer: "https://meet.example.com",
          stunServers: ["stun:stun.example.com:3478", "stuns:stun.example.com:5349"],
          turnServers: [{ urls: ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com"], username: "u", credential: "c" }],
          logLevel: LogLevel.ERROR,
        }),
      ),
    ).toEqual({});
  });

  it.each([null, undefined, "http://localhost:3000", 42])("a configuration that is not an object (%s)", (value) => {
    expect(configProblems(value as unknown as SDKConfig)).toEqual({ config: "must be an object" });
  });

  it("reports missing addresses by field", () => {
    expect(configProblems({} as SDKConfig)).toEqual({ apiServer: "required", wsServer: "required" });
    expect(configProblems(config({ apiServer: "" }))).toEqual({ apiServer: "required" });
    expect(configProblems(config({ wsServer: 3000 as unknown as string }))).toEqual({ wsServer: "required" });
  });

  it("reports what is not a URL (no page to resolve against in Node)", () => {
    expect(configProblems(config({ apiServer: "http://" }))).toEqual({ apiServer: "not a URL" });
    expect(configProblems(config({ wsServer: "/v1/ws" }))).toEqual({ wsServer: "not a URL" });
  });

  it("reports wrong schemes", () => {
    expect(configProblems(config({ apiServer: "ws://localhost:3000/v1" }))).toEqual({
      apiServer: "must be http: or https: URL",
    });
    expect(configProblems(config({ apiServer: "localhost:3000" }))).toEqual({ apiServer: "must be http: or https: URL" });
    expect(configProblems(config({ wsServer: "ftp://localhost/v1/ws" }))).toEqual({
      wsServer: "must be ws: or wss: or http: or https: URL",
    });
  });

  it("reports STUN servers that are not stun: or stuns: URLs", () => {
    expect(configProblems(config({ stunServers: ["turn:turn.example.com"] }))).toEqual({ stunServers: "a list of stun: or stuns: URLs" });
    expect(configProblems(config({ stunServers: ["stun:ok", "http://stun"] }))).toEqual({ stunServers: "a list of stun: or stuns: URLs" });
    expect(configProblems(config({ stunServers: [42 as unknown as string] }))).toEqual({ stunServers: "a list of stun: or stuns: URLs" });
    expect(configProblems(config({ stunServers: [] }))).toEqual({});
  });

  it("reports TURN servers without turn:/turns: URLs", () => {
    const problem = { turnServers: "a list of {urls: turn: or turns: URLs, username, credential}" };
    expect(configProblems(config({ turnServers: [{ urls: ["stun:stun.example.com"] }] }))).toEqual(problem);
    expect(configProblems(config({ turnServers: [{ urls: [] }] }))).toEqual(problem);
    expect(configProblems(config({ turnServers: [{ urls: "turn:x" as unknown as string[] }] }))).toEqual(problem);
    expect(configProblems(config({ turnServers: [null as unknown as { urls: string[] }] }))).toEqual(problem);
    expect(configProblems(config({ turnServers: [{ urls: ["turn:a"] }, { urls: ["turn:b", "http://c"] }] }))).toEqual(problem);
  });

  it("accepts the ICE transport policies all and relay, and reports others", () => {
    expect(configProblems(config({ iceTransportPolicy: "all" }))).toEqual({});
    expect(configProblems(config({ iceTransportPolicy: "relay" }))).toEqual({});
    expect(configProblems(config({ iceTransportPolicy: "none" as RTCIceTransportPolicy }))).toEqual({
      iceTransportPolicy: '"all" or "relay"',
    });
  });

  it("reports an unknown log level", () => {
    expect(configProblems(config({ logLevel: "verbose" as LogLevel }))).toEqual({ logLevel: "one of debug, info, warn, error" });
  });

  it("reports every problem at once", () => {
    expect(
      Object.keys(
        configProblems({
          apiServer: "ftp://x",
          wsServer: "",
          stunServers: ["x"],
          turnServers: [{ urls: ["x"] }],
          logLevel: "loud" as LogLevel,
        }),
      ).sort(),
    ).toEqual(["apiServer", "logLevel", "stunServers", "turnServers", "wsServer"]);
  });

  // A JavaScript caller may pass a single server where a list is expected; initialize() must
  // then fail with INIT_FAILED naming the field (docs/sdk.md), not with a TypeError.
  it("reports STUN/TURN lists that are not arrays instead of throwing", () => {
    const single = config({ turnServers: { urls: ["turn:turn.example.com"] } as unknown as [] });
    expect(configProblems(single)).toEqual({ turnServers: "a list of {urls: turn: or turns: URLs, username, credential}" });
    expect(configProblems(config({ stunServers: 3478 as unknown as string[] }))).toEqual({ stunServers: "a list of stun: or stuns: URLs" });
  });
});

describe("MEETING_NUMBER", () => {
  it.each(["123456789", "012345678", "000000000"])("takes any nine digits, as the server does: %s", (number) => {
    expect(MEETING_NUMBER.test(number)).toBe(true);
  });

  it.each(["12345678", "1234567890", "12345678a", " 123456789", "١٢٣٤٥٦٧٨٩"])("refuses %s", (number) => {
    expect(MEETING_NUMBER.test(number)).toBe(false);
  });
});
