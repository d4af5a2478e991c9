import { mkdir, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { AuditLog } from "../audit/log.js";
import type { AuditChainState } from "../audit/watch.js";
import type { CameraStatus } from "../cameras/connection.js";
import type { Db } from "../catalog/catalog.js";
import { ReadinessProbe } from "../catalog/footage/readiness-probe.js";
import type { StorageMonitor, VolumeStatus } from "../storage/monitor.js";
import type { HealthHistory, HistorySample } from "./history.js";
import type { RecordingState } from "./recording-state.js";

/**
 * What ops needs to know: is the process alive, can it do its job right now (readiness), and the
 * detail behind both. Liveness never looks at dependencies: a camera fault must not get a healthy
 * process restarted.
 */

/** The recorder's view of a camera (recorder/ fills it; src/ only carries it to health and metrics). */
export interface RecordingHealth {
  state: RecordingState;
  since: number;
  restarts: number;
  segments: number;
  bytes: number;
  /** When the last segment was indexed (epoch ms); absent before the first since start. */
  lastSegmentAt?: number;
  writeErrors: number;
  lastError?: string;
}

/** A purge run as recorded in purge_runs. */
export interface PurgeRunSummary {
  id: number;
  trigger: string;
  startedAt: number;
  finishedAt: number | null;
  destroyed: number;
  bytes: number;
  failures: number;
  error: string | null;
}

/** The retention side's state (retention/ fills it; src/ only carries it to health and metrics). */
export interface PurgeHealth {
  retentionDays: number;
  schedule: string;
  onDiskPressure: string;
  lastRun: PurgeRunSummary | null;
  nextRunAt: number | null;
  /** UTC ms of the last frame of the oldest footage no hold protects. */
  oldestUnheldEndMs: number | null;
  /** The oldest unheld footage is older than retention plus one purge interval: the purger is behind. */
  overdue: boolean;
  holds: {
    requested: number;
    active: number;
    /** Requests still pending `overdueAfterDays` after they were entered: the commander is behind. */
    overdueRequests: number;
    overdueAfterDays: number;
    oldestOverdueEnteredAt: number | null;
  };
}

/**
 * A camera as health, metrics and the API show it.
 * Invariant: no stream URI (some makes put the camera's credentials in it, and nobody reading
 * health needs it); the error texts are scrubbed where they are made (connection, recorder).
 */
export interface CameraHealth extends Omit<CameraStatus, "streamUri"> {
  required: boolean;
  recording?: RecordingHealth;
  live?: LiveHealth;
}

/**
 * A camera's live view (recorder/live/ fills it): one camera session shared by its viewers, counted
 * since start. It never degrades health: live view is on demand, recording is the duty.
 */
export interface LiveHealth {
  viewers: number;
  /** pscsd holds a live RTSP session with the camera now (besides the recorder's). */
  open: boolean;
  sessionsOpened: number;
  /** Access-unit bytes from the camera, and handed to viewers (all summed). */
  bytesIn: number;
  bytesOut: number;
  /** Frames not given to a viewer past its bound, or before its first key frame. */
  drops: number;
  lastError?: string;
}

export function toCameraHealth(
  status: CameraStatus,
  required: boolean,
  recording: RecordingHealth | undefined,
  live?: LiveHealth,
): CameraHealth {
  const { streamUri: _, ...shown } = status;
  return { ...shown, required, ...(recording ? { recording } : {}), ...(live ? { live } : {}) };
}

export interface HealthSources {
  db: Db;
  audit: AuditLog;
  storage: StorageMonitor;
  /** Directories that must accept writes for the daemon to be ready. */
  writableDirs: Record<string, string>;
  cameras: () => CameraHealth[];
  version: string;
  startedAt: number;
  /** Read per report (may ask the directory, so it answers later). */
  purge: () => Promise<PurgeHealth>;
  /** The audit watch's latest finding (null before its first walk). */
  chain: () => AuditChainState | null;
  /** False when the export signing key could not be made: approved exports wait, unproduced. */
  exportsOn?: boolean;
  /** The last day, a sample a minute (pscsd's minute timer records it). */
  history?: HealthHistory;
  now?: () => number;
}

export interface Check {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { catalog: Check; storage: Check; cameras: Check };
}

export type { AuditChainState };

/** One reason the report is not ok, in words an engineer paged at night can act on. */
export interface HealthAlert {
  severity: "failing" | "degraded";
  /** What it is about: `camera:<id>`, `storage:<volume>`, `purge`, `holds`, `audit`, `exports`, `readiness`. */
  subject: string;
  text: string;
}

export interface HealthReport {
  status: "ok" | "degraded" | "failing";
  /** Every reason status is not ok; empty when it is. */
  alerts: HealthAlert[];
  version: string;
  startedAt: number;
  uptimeSeconds: number;
  readiness: Readiness;
  cameras: CameraHealth[];
  storage: VolumeStatus[];
  purge: PurgeHealth;
  audit: { entries: number; chain: AuditChainState | null };
  /** Off (degraded) when the export key could not be made: approved exports stay queued. */
  exports: { on: boolean; detail?: string };
}

/**
 * What the ops routes report: readiness, the health document, its recent samples (HealthService is
 * the implementation).
 */
export interface Health {
  /** Each check writes for real, so a volume gone read-only or full fails it. */
  readiness(): Promise<Readiness>;
  report(): Promise<HealthReport>;
  /** The samples taken since `fromMs`, oldest first. */
  history(fromMs: number): HistorySample[];
}

export class HealthService implements Health {
  private readonly now: () => number;
  private readonly probe: ReadinessProbe;

  constructor(private readonly src: HealthSources) {
    this.now = src.now ?? Date.now;
    this.probe = new ReadinessProbe(src.db);
  }

  history(fromMs: number): HistorySample[] {
    return this.src.history?.since(fromMs) ?? [];
  }

  auditChain(): AuditChainState | null {
    return this.src.chain();
  }

  /**
   * Each check writes for real (a catalog row, a file fsynced in each storage folder): a volume gone
   * read-only or full fails here, not at the next segment.
   */
  async readiness(): Promise<Readiness> {
    const [catalog, storage] = [this.catalogWritable(), await this.storageWritable()];
    const down = this.src.cameras().filter((c) => c.required && c.state !== "connected");
    const cameras: Check = down.length
      ? { ok: false, detail: `required camera(s) not connected: ${down.map((c) => c.id).join(", ")}` }
      : { ok: true };
    return { ready: catalog.ok && storage.ok && cameras.ok, checks: { catalog, storage, cameras } };
  }

  async report(): Promise<HealthReport> {
    // Independent reads, at once: the report takes as long as the slowest (the storage fsyncs).
    const [readiness, storage, purge, entries] = await Promise.all([
      this.readiness(),
      this.src.storage.sample(),
      this.src.purge(),
      this.src.audit.headSeq(),
    ]);
    const cameras = this.src.cameras();
    const chain = this.src.chain();
    const exportsOn = this.src.exportsOn ?? true;
    const alerts = healthAlerts(readiness, cameras, storage, purge, chain, exportsOn);
    return {
      status: alerts.some((a) => a.severity === "failing") ? "failing" : alerts.length ? "degraded" : "ok",
      alerts,
      version: this.src.version,
      startedAt: this.src.startedAt,
      uptimeSeconds: Math.round((this.now() - this.src.startedAt) / 1000),
      readiness,
      cameras,
      storage,
      purge,
      audit: { entries, chain },
      exports: exportsOn
        ? { on: true }
        : {
            on: false,
            detail:
              "the export signing key could not be made (see pscsd's log): approved exports wait, queued",
          },
    };
  }

  /** A real write, not a lock probe: see ReadinessProbe for what makes it fail and how long it waits. */
  private catalogWritable(): Check {
    try {
      this.probe.write(this.now());
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: `catalog not writable: ${(e as Error).message}` };
    }
  }

  private async storageWritable(): Promise<Check> {
    // Every folder at once: each waits for its own fsync, not for the others'.
    const failures = (
      await Promise.all(
        Object.entries(this.src.writableDirs).map(async ([name, dir]) => {
          const probe = join(dir, `.pscs-ready-${process.pid}-${name}`);
          try {
            await mkdir(dir, { recursive: true });
            const fh = await open(probe, "w");
            try {
              await fh.write("ok");
              await fh.sync();
            } finally {
              await fh.close();
            }
            await unlink(probe);
            return [];
          } catch (e) {
            return [`${name} (${dir}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`];
          }
        }),
      )
    ).flat();
    return failures.length ? { ok: false, detail: `not writable: ${failures.join("; ")}` } : { ok: true };
  }
}

/**
 * Why health is not ok. Failing: not ready (catalog, storage or a required camera) or the audit
 * chain broken. Degraded: anything else that needs a person, though recording goes on.
 */
function healthAlerts(
  readiness: Readiness,
  cameras: readonly CameraHealth[],
  storage: readonly VolumeStatus[],
  purge: PurgeHealth,
  chain: AuditChainState | null,
  exportsOn: boolean,
): HealthAlert[] {
  const alerts: HealthAlert[] = [];
  const add = (severity: HealthAlert["severity"], subject: string, text: string) =>
    alerts.push({ severity, subject, text });
  for (const [name, check] of Object.entries(readiness.checks))
    if (!check.ok) add("failing", "readiness", check.detail ?? `${name} not ready`);
  if (chain !== null && !chain.result.ok)
    add("failing", "audit", "the audit chain is broken: run pscs audit verify and see the breaks");
  if (chain?.checkpointProblem !== undefined) add("degraded", "audit", chain.checkpointProblem);
  for (const c of cameras) {
    const subject = `camera:${c.id}`;
    if (c.state !== "connected")
      add("degraded", subject, `${c.id} is ${c.state}${c.lastError ? `: ${c.lastError}` : ""}`);
    else if (c.recording && c.recording.state !== "recording")
      add("degraded", subject, `${c.id} is not recording (${c.recording.state})`);
    if (c.clockOff !== undefined) add("degraded", subject, c.clockOff);
  }
  for (const v of storage) {
    if (v.error !== undefined) add("degraded", `storage:${v.volume}`, `${v.volume}: ${v.error}`);
    else if (v.low) add("degraded", `storage:${v.volume}`, `${v.volume} is below its free-space floor`);
  }
  if (purge.overdue) add("degraded", "purge", "footage past retention is still on disk: the purge is behind");
  if (purge.lastRun !== null && (purge.lastRun.error !== null || purge.lastRun.failures > 0))
    add(
      "degraded",
      "purge",
      `the last purge run ${purge.lastRun.error ? `failed: ${purge.lastRun.error}` : `could not destroy ${purge.lastRun.failures} segment(s)`}`,
    );
  if (purge.holds.overdueRequests > 0)
    add(
      "degraded",
      "holds",
      `${purge.holds.overdueRequests} hold request(s) pending more than ${purge.holds.overdueAfterDays} days`,
    );
  if (!exportsOn)
    add("degraded", "exports", "the export signing key could not be made: approved exports wait, queued");
  return alerts;
}
