import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start real ffmpeg, RTSP servers and daemons; on a 2-core machine more than
    // two at once turns timing assertions (latency, timeouts) into noise.
    maxWorkers: 2,
    fileParallelism: true,
    // A poll waits for what a screen must come to show; on a loaded 2-core machine a screen's answer
    // can take over the default 1 s. Time bounds that matter are asserted with their own timeout.
    expect: { poll: { timeout: 5_000 } },
  },
});
