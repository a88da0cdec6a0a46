import { defineConfig } from "vitest/config";

// Unit tests of the SDK's pure logic and state machines, in Node: the browser APIs they touch
// (WebSocket, RTCPeerConnection, MediaStream) are small fakes in test/utils/.
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
    // The tests keep no state between files (globals are stubbed per test and unstubbed after
    // it, fake timers are restored), so one module graph per worker is safe, and twice as fast.
    pool: "threads",
    isolate: false,
    restoreMocks: true,
    unstubGlobals: true,
    testTimeout: 5_000,
  },
});
