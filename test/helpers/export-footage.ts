import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { openConsole } from "../../src/compose/console.js";
import { loadConfig } from "../../src/config/load.js";
import { segmentPath } from "../../src/footage/layout.js";
import { createLogger } from "../../src/log/logger.js";
import { descendants, procName } from "../../src/proc/tree.js";
import { FORM_PDF, type TestDaemonDir } from "./pscsd.js";

/**
 * Held footage for export jobs: one-minute MPEG-TS segments cut as the recorder cuts them (segment
 * muxer, timestamps reset per file, 1 s GOP), seeded into a daemon dir's recordings with their
 * catalog rows, and an active hold over them.
 */

const run = promisify(execFile);
export const MIN = 60_000;
/** Where the footage starts: a past hour, so nothing of it is being recorded. */
export const FOOTAGE_START = Date.UTC(2026, 0, 1, 8, 0, 0);

/**
 * `minutes` one-minute segments at `bitrate` (constant: filler keeps each the same size, so a test
 * can make an export big enough to catch while it runs), made once per machine in the temp folder
 * and shared by test files; returns their files.
 */
export async function cutSegments(minutes: number, bitrate = "200k"): Promise<string[]> {
  const work = join(tmpdir(), `pscs-export-footage-v1-${minutes}m-${bitrate}`);
  const files = Array.from({ length: minutes }, (_, i) => join(work, `seg${i}.ts`));
  if (existsSync(work)) return files;
  const tmp = mkdtempSync(`${work}.tmp-`);
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10"],
    ...["-t", String(minutes * 60), "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline"],
    ...["-b:v", bitrate, "-minrate", bitrate, "-maxrate", bitrate, "-bufsize", bitrate],
    ...["-x264-params", "nal-hrd=cbr", "-g", "10", "-pix_fmt", "yuv420p", "-f", "mpegts"],
    join(tmp, "src.ts"),
  ]);
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-i", join(tmp, "src.ts"), "-map", "0:v:0", "-c", "copy"],
    ...["-f", "segment", "-segment_format", "mpegts", "-segment_time", "60", "-reset_timestamps", "1"],
    join(tmp, "seg%d.ts"),
  ]);
  rmSync(join(tmp, "src.ts"));
  // Another test file may have made it meanwhile: theirs stands.
  try {
    renameSync(tmp, work);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  return files;
}

/** The segments as cam1's recordings from FOOTAGE_START, with complete rows; returns their paths. */
export function seedFootage(d: TestDaemonDir, files: string[]): string[] {
  const local = openConsole(loadConfig(d.configFile));
  try {
    const insert = local.db.prepare(
      `INSERT INTO segments (camera, start_ms, end_ms, path, bytes, sha256, state, run, created_at, codec, width, height)
       VALUES ('cam1', ?, ?, ?, ?, ?, 'complete', 'fixture', ?, 'h264', 320, 180)`,
    );
    return files.map((f, i) => {
      const start = FOOTAGE_START + i * MIN;
      const rel = segmentPath("cam1", start);
      const path = join(d.dir, "rec", rel);
      mkdirSync(dirname(path), { recursive: true });
      copyFileSync(f, path);
      const bytes = readFileSync(path);
      insert.run(
        start,
        start + MIN,
        rel,
        bytes.length,
        createHash("sha256").update(bytes).digest("hex"),
        start,
      );
      return path;
    });
  } finally {
    local.close();
  }
}

/** An active hold (id returned) over cam1's first `minutes` of footage: records1 asks, commander1 approves. */
export async function seedActiveHold(d: TestDaemonDir, minutes: number): Promise<number> {
  const local = openConsole(loadConfig(d.configFile));
  try {
    const retention = local.retention(createLogger({ name: "seed", level: "error" }));
    const hold = await retention.holds.request(
      {
        formNumber: "PSCS-H-0100",
        receivedOn: "2026-01-02",
        requestedBy: "Det. A. Example",
        agency: "Norwich Police Department",
        caseNumber: "26-000777",
        legalBasis: "criminal",
        reason: "export jobs test",
        ranges: [{ camera: "cam1", fromMs: FOOTAGE_START, toMs: FOOTAGE_START + minutes * MIN }],
        form: FORM_PDF,
      },
      { actor: "user:records1", role: "records", client: "test" },
    );
    await retention.holds.approve(hold.id, "seeded", {
      actor: "user:commander1",
      role: "commander",
      client: "test",
    });
    return hold.id;
  } finally {
    local.close();
  }
}

/** A criminal export request body for the API over cam1's first `minutes`, on hold `hold`. */
export const exportBody = (hold: number, minutes: number) => ({
  basis: { type: "criminal" as const, caseNumber: "26-000777", requestingOfficer: "Det. A. Example" },
  recipient: { name: "ADA B. Example", organisation: "State's Attorney", delivery: "download" },
  purpose: "Prosecution of case 26-000777",
  ranges: [{ camera: "cam1", from: FOOTAGE_START + 1_500, to: FOOTAGE_START + minutes * MIN - 1_500 }],
  hold,
});

/** The ffmpeg processes under `pid` (an export's remux: no camera records in these tests). */
export const ffmpegsUnder = (pid: number): number[] =>
  descendants(pid).filter((p) => procName(p) === "ffmpeg");
