// Cost of the simulated camera (Node renderer + ffmpeg x264 encoder + gst-rtsp-server), for 1, 4 and 8
// cameras at 640x360@15, against a bare baseline in the same run: N plain ffmpeg x264 encoders of
// lavfi testsrc2 with the same encoder settings to RTP (no Node, no RTSP server).
// Every camera has one RTSP client attached (ffmpeg -c copy to null) so the RTSP server does real work;
// the clients are not counted. Options: --cameras 1,4,8 --seconds 15
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { rtspUrlWithCredentials } from "../../dist/recorder/recorder.js";
import { x264RtpArgs } from "../../dist/sim/video/encoder.js";
import { descendants, procName } from "../../dist/src/proc/tree.js";
import { start, stop } from "./children.mjs";
import { measure } from "./procstat.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: { cameras: { type: "string", default: "1,4,8" }, seconds: { type: "string", default: "15" } },
});
const counts = values.cameras.split(",").map(Number);
const seconds = Number(values.seconds);
const W = 640;
const H = 360;
const FPS = 15;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = "Bench-Only-1!";

async function runSim(n, base) {
  const sim = start(
    process.execPath,
    [
      join(root, "dist/sim/main.js"),
      "--cameras",
      String(n),
      "--base-port",
      String(base),
      "--state-dir",
      mkdtempSync(join(tmpdir(), "bench-sim-")),
      "--log-level",
      "warn",
    ],
    {
      env: { ...process.env, PSCS_SIM_PASSWORD: PASSWORD },
    },
  );
  const ready = await new Promise((resolve, reject) => {
    sim.once("exit", (code) => reject(new Error(`pscs-sim exited ${code}`)));
    createInterface({ input: sim.stdout }).on("line", (l) => {
      if (l.includes('"event":"ready"')) resolve(JSON.parse(l));
    });
  });
  const clients = ready.cameras.map((c) =>
    start("ffmpeg", [
      "-loglevel",
      "error",
      "-rtsp_transport",
      "tcp",
      "-i",
      // RTSP Digest, once per client's DESCRIBE/SETUP/PLAY: nothing per frame.
      rtspUrlWithCredentials(c.rtsp, c.onvif.user, PASSWORD),
      "-c",
      "copy",
      "-f",
      "null",
      "-",
    ]),
  );
  await sleep(3000);
  const tree = () => descendants(sim.pid);
  const r = await measure(
    {
      node: () => [sim.pid],
      encoders: () => tree().filter((p) => procName(p) === "ffmpeg"),
      rtspServer: () => tree().filter((p) => procName(p)?.startsWith("python")),
      total: () => [sim.pid, ...tree()],
    },
    seconds,
  );
  await stop([...clients, sim]);
  return r;
}

async function runBare(n, base) {
  const encoders = Array.from({ length: n }, (_, i) =>
    start("ffmpeg", [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-re",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${W}x${H}:rate=${FPS}`,
      ...x264RtpArgs({ fps: FPS, rtpPort: base + 200 + i }),
    ]),
  );
  await sleep(3000);
  const r = await measure({ total: () => encoders.map((e) => e.pid) }, seconds);
  await stop(encoders);
  return r;
}

const results = [];
for (const [k, n] of counts.entries()) {
  const base = 23000 + k * 300;
  const sim = await runSim(n, base);
  const bare = await runBare(n, base);
  const row = {
    cameras: n,
    simCpuPctPerCamera: sim.total.cpuPct / n,
    nodeCpuPct: sim.node.cpuPct,
    encodersCpuPct: sim.encoders.cpuPct,
    rtspServerCpuPct: sim.rtspServer.cpuPct,
    simRssMB: sim.total.rssMB,
    bareCpuPctPerCamera: bare.total.cpuPct / n,
    ratioToBare: sim.total.cpuPct / bare.total.cpuPct,
  };
  results.push(row);
  process.stdout.write(
    `${n} camera(s): sim ${row.simCpuPctPerCamera.toFixed(1)}% of a core per camera (node ${row.nodeCpuPct.toFixed(1)}%, encoders ${row.encodersCpuPct.toFixed(1)}%, rtsp ${row.rtspServerCpuPct.toFixed(1)}%, RSS ${row.simRssMB.toFixed(0)} MB) | bare x264 ${row.bareCpuPctPerCamera.toFixed(1)}%/camera | ratio ${row.ratioToBare.toFixed(2)}x\n`,
  );
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/sim.json"),
  `${JSON.stringify({ benchmark: "sim", when: new Date().toISOString(), size: `${W}x${H}@${FPS}`, seconds, results }, null, 2)}\n`,
);
process.stdout.write("wrote bench/results/sim.json\n");
