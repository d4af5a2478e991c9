// Live view latency, glass to glass, in headless Debian chromium: every path plays the same simulated
// camera (640x360@15) at the same moment, and each page reads the simulator's time code strip from
// every rendered frame (requestVideoFrameCallback + canvas) against the wall clock. Paths: pscsd's
// WebRTC and MSE, an HLS baseline (ffmpeg `-c copy -f hls`, 1 s segments, hls.js tuned: what Frigate
// and Shinobi fall back to) and the peer to beat, Janus 1.1.2's streaming plugin fed over RTP by
// `ffmpeg -c copy -f rtp` (ZoneMinder's live view). Then time to first frame over repeated joins,
// and pscsd's CPU and memory at 1, 8 and 16 viewers of each of its paths against no viewer.
// Everything runs in a network namespace the benchmark makes and removes (see live/netns.mjs): this
// process, as root, makes it and runs itself inside it.
// Options: --seconds 60 (per path, all at once) --joins 10 --viewers 1,8,16 --load-seconds 20
//          --paths webrtc,mse,hls,janus
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createNetns, removeNetns } from "./live/netns.mjs";

const self = fileURLToPath(import.meta.url);

if (process.env.PSCS_BENCH_NETNS) {
  await import("./live/inside.mjs");
} else {
  if (process.getuid?.() !== 0) {
    process.stderr.write("bench live: must run as root (it makes a network namespace: ip netns add)\n");
    process.exit(2);
  }
  // Janus is the benchmark's peer, not a dependency of pscsd: installed here when missing.
  if (spawnSync("janus", ["--version"]).error) {
    process.stdout.write("janus missing: apt-get install -y janus\n");
    const r = spawnSync("apt-get", ["install", "-y", "janus"], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) process.stdout.write("janus could not be installed: its path will be skipped\n");
  }
  const name = `pscs-bench-${process.pid}`;
  createNetns(name);
  process.on("exit", () => removeNetns(name));
  const child = spawn("ip", ["netns", "exec", name, process.execPath, self, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, PSCS_BENCH_NETNS: name },
  });
  // A signal goes to the run inside, which stops what it started; the namespace goes on exit.
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  const code = await new Promise((resolve) => child.once("exit", (c, s) => resolve(c ?? (s ? 130 : 1))));
  removeNetns(name);
  if (spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.includes(name))
    process.stderr.write(`bench live: namespace ${name} could not be removed\n`);
  process.exit(code);
}
