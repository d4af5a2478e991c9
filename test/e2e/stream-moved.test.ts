import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retentionFromConfig } from "../../retention/retention.js";
import type { Simulator } from "../../sim/simulator.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/log/logger.js";
import { writeDaemonConfig } from "../helpers/config.js";
import { freePort } from "../helpers/ports.js";
import { type Proc, startProc } from "../helpers/process.js";
import { FORM_PDF, openLocalCatalog, TEST_AUTH } from "../helpers/pscsd.js";
import { simCameraConfigs, startTestCameras } from "../helpers/sim.js";

/**
 * A camera's stream moves to another RTSP path while its ONVIF session stays healthy (a media profile
 * reconfigured): the old URI now answers 404, and only asking the camera again (GetStreamUri after
 * the failure) finds the stream. Without the re-fetch the recorder would retry the dead URI forever.
 */
const PSCSD = join(import.meta.dirname, "../../dist/src/bin/pscsd.js");
const PASSWORD = "Moved-Test-2026!";
const dir = mkdtempSync(join(tmpdir(), "pscs-moved-"));
let sim: Simulator;

beforeAll(async () => {
  sim = await startTestCameras(dir, { user: "recorder", password: PASSWORD });
});
afterAll(async () => {
  await sim?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A written request and its approval, entered beside the running daemon as the CLI would. */
async function approveHold(
  configFile: string,
  camera: string,
  fromMs: number,
  toMs: number,
): Promise<number> {
  const local = openLocalCatalog(configFile);
  try {
    const log = createLogger({ name: "t", level: "error" });
    const retention = retentionFromConfig(
      loadConfig(configFile),
      local.db,
      local.directory,
      local.audit,
      log,
    );
    const by = { actor: "user:clerk", role: "records", client: "test" };
    const h = await retention.holds.request(
      {
        formNumber: "F-1",
        receivedOn: "2026-11-26",
        requestedBy: "Det. X",
        agency: "NPD",
        caseNumber: "26-9",
        legalBasis: "criminal",
        reason: "ongoing incident",
        ranges: [{ camera, fromMs, toMs }],
        form: FORM_PDF,
      },
      by,
    );
    return (
      await retention.holds.approve(h.id, "", { actor: "user:commander", role: "commander", client: "test" })
    ).id;
  } finally {
    local.close();
  }
}

describe("stream URI re-fetched after a failure", () => {
  it("follows a camera whose stream moved, with the gap recorded and no ONVIF reconnect (and links held segments as they close)", async () => {
    writeFileSync(join(dir, "cam.pw"), `${PASSWORD}\n`);
    const cam = sim.describe()[0]?.id as string;
    const cfg = writeDaemonConfig(dir, {
      httpPort: await freePort(),
      // A generous request timeout: the test asserts the session is never dropped, and a loaded CI
      // machine (other e2e files encode video at the same time) can take seconds to answer a heartbeat.
      onvif: { heartbeatSeconds: 5, requestTimeoutSeconds: 10 },
      cameras: simCameraConfigs(sim),
      extra: {
        // The production stall limit, so ffmpeg reports progress every 3 s, as in production: each
        // run's first 4 s segment closes before its first usable progress line.
        recording: { segmentSeconds: 4, stallSeconds: 15 },
        auth: TEST_AUTH,
        // No scheduled purge during the test: held segments must be linked by the recorder's hook.
        retention: { purgeSchedule: "0 0 1 1 *" },
      },
    });
    const daemon: Proc = startProc(process.execPath, [PSCSD, "--config", cfg]);
    const q = <T>(sql: string, ...args: unknown[]): T[] => {
      const d = new Database(join(dir, "catalog.db"), { readonly: true });
      try {
        return d.prepare(sql).all(...args) as T[];
      } finally {
        d.close();
      }
    };
    const completeSince = (ms: number) =>
      q<{ n: number }>(
        "SELECT count(*) n FROM segments WHERE camera = ? AND state = 'complete' AND start_ms >= ?",
        cam,
        ms,
      )[0]?.n ?? 0;
    const waitFor = async (what: string, ok: () => boolean, ms: number) => {
      for (const until = Date.now() + ms; Date.now() < until; await sleep(250)) if (ok()) return;
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    };
    try {
      await daemon.waitForLine(/"msg":"pscsd started"/, 30_000);
      await waitFor("a first complete segment", () => completeSince(0) > 0, 60_000);

      // A hold approved while recording: segments closing inside its range join the evidence tree
      // as they close, not at the next purge run.
      const hold = await approveHold(cfg, cam, Date.now() - 60_000, Date.now() + 600_000);
      const linkedAt = () =>
        q<{ n: number }>("SELECT count(*) n FROM hold_segments WHERE hold = ?", hold)[0]?.n ?? 0;
      const atApproval = linkedAt();
      expect(atApproval).toBeGreaterThan(0);
      await waitFor("a segment linked as it closed", () => linkedAt() > atApproval, 30_000);
      expect(q<{ n: number }>("SELECT count(*) n FROM purge_runs")[0]?.n).toBe(0);

      const movedAt = Date.now();
      await sim.cameras[0]?.setStreamPath("/profile2");
      await waitFor("a segment recorded after the move", () => completeSince(movedAt) > 0, 60_000);

      const resumed = q<{ start_ms: number }>(
        "SELECT min(start_ms) start_ms FROM segments WHERE camera = ? AND start_ms >= ?",
        cam,
        movedAt,
      )[0]?.start_ms as number;
      // ffmpeg exits, one 404 or none, then the new URI: well under the 5 s backoff cap plus a DESCRIBE.
      expect(resumed - movedAt).toBeLessThan(15_000);
      const gap = q<{ start_ms: number; end_ms: number; cause: string }>(
        "SELECT start_ms, end_ms, cause FROM recording_gaps WHERE camera = ? AND end_ms >= ? ORDER BY start_ms",
        cam,
        movedAt,
      )[0];
      expect(gap?.cause).toMatch(/ffmpeg/);
      expect(gap?.end_ms).toBe(resumed);
      // Recording again, so no gap is left open, and every gap ends where a segment begins.
      expect(q("SELECT * FROM recording_gaps WHERE camera = ? AND end_ms IS NULL", cam)).toEqual([]);
      const unmet = q(
        `SELECT * FROM recording_gaps g WHERE camera = ?
           AND NOT EXISTS (SELECT 1 FROM segments s WHERE s.camera = g.camera AND s.start_ms = g.end_ms)`,
        cam,
      );
      expect(unmet, "gaps that do not end at a segment's start").toEqual([]);
      // Progress every 3 s, read every 7 s, never looks like a stall to the 15 s watchdog.
      expect(q("SELECT * FROM recording_gaps WHERE camera = ? AND cause LIKE 'stalled%'", cam)).toEqual([]);
      const mine = (re: RegExp) => daemon.lines.filter((l) => l.includes(`"camera":"${cam}"`) && re.test(l));
      expect(mine(/stream URI changed/).join("\n")).toContain("/profile2");
      expect(mine(/"msg":"camera connected"/), "the ONVIF session was never dropped").toHaveLength(1);
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      const { code } = await daemon.stop("SIGTERM", 15_000);
      expect(code).toBe(0);
    }
  }, 180_000);
});
