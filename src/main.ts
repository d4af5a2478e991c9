import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createApp } from "../api/app.js";
import { listen, type RunningServer } from "../api/server.js";
import { type ReconcileReport, Reconciler } from "../recorder/reconcile.js";
import { Recorder } from "../recorder/recorder.js";
import { type Retention, retentionFromConfig } from "../retention/retention.js";
import { canonicalJson } from "./audit/chain.js";
import { openCheckpointKey } from "./audit/checkpoint.js";
import { AuditInspectionService } from "./audit/inspection.js";
import { type AuditEvent, AuditLog } from "./audit/log.js";
import { AuditWatch } from "./audit/watch.js";
import { AuthService } from "./auth/service.js";
import { CameraConnection } from "./cameras/connection.js";
import { type Db, openCatalog } from "./catalog/catalog.js";
import { SqliteDirectory } from "./catalog/directory/sqlite.js";
import { ClockSamples } from "./catalog/footage/clock-samples.js";
import { Gaps } from "./catalog/footage/gaps.js";
import { Segments } from "./catalog/footage/segments.js";
import type { Config } from "./config/load.js";
import { RecordingsService } from "./footage/recordings.js";
import { type CameraHealth, HealthService, type PurgeHealth, toCameraHealth } from "./health/health.js";
import type { Logger } from "./log/logger.js";
import { createMetrics } from "./metrics/metrics.js";
import { checkTools } from "./proc/tools.js";
import { StorageMonitor, type VolumeStatus } from "./storage/monitor.js";
import { VERSION } from "./version.js";

/**
 * The composition root of pscsd: the one place that wires src/ services into recorder/, retention/
 * and api/. Start order is catalog → audit → HTTP → cameras → recorders; stop order is the reverse,
 * so nothing outlives what it depends on.
 */

export interface Pscsd {
  url: string;
  cameras: CameraConnection[];
  recorder: Recorder;
  retention: Retention;
  stop(): Promise<void>;
}

const SYSTEM = { actor: "system", role: null, client: "daemon" };

const SESSION_PURGE_EVERY_MS = 3_600_000;
/** The reconciliation sweep and the storage sample (unless recording pauses on pressure, below). */
const MINUTE_MS = 60_000;
const PAUSED_STORAGE_SAMPLE_EVERY_MS = 5_000;

/** Footage gone from disk and footage recovered after a crash are both facts an auditor must see. */
function auditReconcile(audit: AuditLog, r: ReconcileReport, pass: string): void {
  const base = { actor: "system", role: null, client: "daemon" };
  const events: AuditEvent[] = r.missing.map((m) => ({
    ...base,
    action: "segment.missing",
    target: `camera:${m.camera}`,
    outcome: "failure",
    details: { pass, path: m.path, startMs: m.startMs, endMs: m.endMs, sha256: m.sha256 },
  }));
  if (r.recovered.length || r.damaged.length || r.discarded || r.orphansKilled) {
    events.push({
      ...base,
      action: "segment.reconcile",
      outcome: "success",
      details: {
        pass,
        recovered: r.recovered,
        damaged: r.damaged,
        discardedEmpty: r.discarded,
        orphanFfmpegsKilled: r.orphansKilled,
      },
    });
  }
  if (events.length) audit.appendMany(events);
}

/** The audit log's anchor file sits next to the catalog it vouches for. */
export function auditAnchorFile(catalog: string): string | undefined {
  return catalog === ":memory:" ? undefined : `${catalog}.audit-anchor`;
}

export async function startPscsd(config: Config, log: Logger): Promise<Pscsd> {
  const startedAt = Date.now();
  checkTools({ "recording.ffmpeg": config.recording.ffmpeg, "recording.ffprobe": config.recording.ffprobe });
  // Before the catalog: a key that cannot be made or is refused stops the start with nothing written.
  const key = openCheckpointKey(config.audit.checkpointKey, config.storage.catalog, log);
  const db = openCatalog(config.storage.catalog);
  const directory = new SqliteDirectory(db);
  const timers: NodeJS.Timeout[] = [];
  let server: RunningServer | undefined;
  let audit: AuditLog;
  let watch: AuditWatch | undefined;
  let retention: Retention;
  /** Set while the recordings volume is below its floor and the config says stop recording. */
  let recordingPaused: string | undefined;
  const stopRecordingOnPressure = config.retention.onDiskPressure === "stop_recording";
  /** Samples the volumes and acts on what it finds (onStorage, below). */
  let sampleStorage: () => void;
  const cameras: CameraConnection[] = config.cameras.map(
    (cam, i) =>
      new CameraConnection(cam, {
        log,
        heartbeatMs: config.onvif.heartbeatSeconds * 1000,
        streamingHeartbeatMs: config.onvif.streamingHeartbeatSeconds * 1000,
        streamArriving: (): boolean => recorder.cameras[i]?.status().state === "recording",
        requestTimeoutMs: config.onvif.requestTimeoutSeconds * 1000,
        onClockSample: (id, s) => clockSamples.record(id, s),
        clockOffsetLimitMs: config.onvif.clockOffsetLimitSeconds * 1000,
        // Burned-in camera time that stops matching the recording is a fact an auditor must see.
        onClockExcursion: (e) => {
          try {
            audit.append({
              ...SYSTEM,
              action: e.off ? "camera.clock_off" : "camera.clock_restored",
              target: `camera:${e.camera}`,
              outcome: e.off ? "failure" : "success",
              details: { offsetMs: e.sample.offsetMs, rttMs: e.sample.rttMs, limitMs: e.limitMs },
            });
          } catch (err) {
            // A catalog that refuses the entry must not make the camera look unreachable.
            log.error({ err, camera: e.camera, off: e.off }, "camera clock excursion not audited");
          }
        },
        clockWasOff: () => {
          const last = (action: string) =>
            audit.list({ target: `camera:${cam.id}`, action, order: "desc", limit: 1 })[0]?.seq ?? 0;
          return last("camera.clock_off") > last("camera.clock_restored");
        },
      }),
  );
  const clockSamples = new ClockSamples(db);
  const segments = new Segments(db);
  const gaps = new Gaps(db);
  const recorder = new Recorder(config.cameras, cameras, {
    root: config.storage.recordings,
    // Beside the catalog, which is local (SQLite needs that too).
    runDir: join(dirname(config.storage.catalog), "run"),
    recording: config.recording,
    store: segments,
    gaps,
    log,
    // A segment closing inside an active hold's range goes into the evidence tree at once.
    onSegment: (segment) => {
      retention?.evidence
        .sync({ segment })
        .catch((err: unknown) => log.error({ err, segment }, "evidence sync failed"));
    },
    paused: () => recordingPaused,
  });
  const reconciler = new Reconciler({
    root: config.storage.recordings,
    cameras: config.cameras.map((c) => c.id),
    store: segments,
    log,
    ffprobePath: config.recording.ffprobe,
    activeRuns: () => recorder.activeRuns(),
  });
  try {
    audit = new AuditLog(db, { anchorFile: auditAnchorFile(config.storage.catalog) });
    auditStart(db, audit, config);
    watch = new AuditWatch({
      audit,
      log,
      signer: key.signer,
      keyCreated: key.created,
      keyProblem: key.problem,
      verifyMs: config.audit.verifySeconds * 1000,
      checkpointMs: config.audit.checkpointSeconds * 1000,
    });
    const auth = new AuthService(directory, audit, config.auth);
    const required = new Map(config.cameras.map((c) => [c.id, c.required]));
    const cameraHealth = (): CameraHealth[] =>
      cameras.map((c, i) => {
        const st = c.status();
        const { camera: _, ...recording } = recorder.cameras[i]?.status() ?? { camera: "" };
        return toCameraHealth(st, required.get(st.id) ?? true, "state" in recording ? recording : undefined);
      });
    // The volumes are measured from the first moment, before the recorder has written anything.
    mkdirSync(config.storage.recordings, { recursive: true });
    const floorBytes = config.health.storageFloorGiB * 2 ** 30;
    const storage = new StorageMonitor(
      { recordings: config.storage.recordings, evidence: config.storage.evidence },
      floorBytes,
    );
    const recordingsFree = async () =>
      (await storage.sample()).find((v) => v.volume === "recordings" && !v.error)?.freeBytes ??
      Number.POSITIVE_INFINITY;
    retention = retentionFromConfig(config, db, directory, audit, log, {
      floorBytes,
      freeBytes: recordingsFree,
    });
    // Several gauges read it per scrape: computed at most once a second.
    let purgeCached: { at: number; value: Promise<PurgeHealth> } | undefined;
    const purgeHealth = (): Promise<PurgeHealth> => {
      const now = Date.now();
      if (!purgeCached || now - purgeCached.at > 1_000) purgeCached = { at: now, value: retention.health() };
      return purgeCached.value;
    };
    const health = new HealthService({
      db,
      audit,
      storage,
      writableDirs: { recordings: config.storage.recordings, evidence: config.storage.evidence },
      cameras: cameraHealth,
      version: VERSION,
      startedAt,
      purge: purgeHealth,
      chain: () => watch?.state() ?? null,
    });
    // At the default period the watch rides on the minute timer below (one wake-up a minute, not two).
    await watch.start({ ownTimer: watch.periodMs !== MINUTE_MS });
    const metrics = createMetrics({
      cameras: cameraHealth,
      storage,
      health,
      audit,
      purge: purgeHealth,
      version: VERSION,
      lockouts: () => auth.lockoutState(),
    });
    const loopback = /^(127\.|::1$|localhost$)/.test(config.http.host);
    if (!config.http.tls && !loopback) {
      log.warn(
        { host: config.http.host },
        "HTTP without TLS on a non-loopback address: sessions travel in clear text",
      );
    }
    const app = createApp({
      version: VERSION,
      startedAt,
      log,
      auth,
      audit,
      auditInspection: new AuditInspectionService(audit),
      health,
      metrics,
      cameras: cameraHealth,
      holds: retention.holds,
      purge: retention,
      timeZone: config.site.timezone,
      recordings: new RecordingsService({
        segments,
        gaps,
        root: config.storage.recordings,
        cameras: new Set(config.cameras.map((c) => c.id)),
        audit,
        log: log.child({ component: "playback" }),
        maxPlaybacksPerUser: config.playback.maxPerUser,
        stalledMs: config.playback.stalledSeconds * 1000,
        ffmpegPath: config.recording.ffmpeg,
        ffprobePath: config.recording.ffprobe,
      }),
      // Browsers accept Secure cookies over plain HTTP on loopback only.
      secureCookie: config.http.tls !== undefined || loopback,
      sessionMaxHours: config.auth.sessionMaxHours,
    });
    /** Acts on the recordings volume's state: alert, and destroy early or pause, as configured. */
    const onStorage = (vols: VolumeStatus[]) => {
      for (const v of vols) if (v.low) log.warn({ volume: v }, "storage low");
      const rec = vols.find((v) => v.volume === "recordings");
      const low = rec?.low === true && !rec.error;
      if (low && config.retention.onDiskPressure === "purge_oldest") {
        // Disk pressure does not wait for the hourly run.
        retention
          .run("disk_pressure", SYSTEM)
          .catch((err: unknown) => log.error({ err }, "disk-pressure purge failed"));
      }
      if (stopRecordingOnPressure) {
        const was = recordingPaused;
        recordingPaused =
          low && rec
            ? `recording stopped: recordings volume has ${(rec.freeBytes / 2 ** 30).toFixed(2)} GiB free, below its floor of ${config.health.storageFloorGiB} GiB`
            : undefined;
        if (!was !== !recordingPaused) {
          // A pause closes every camera's segment now, not at the watchdog's next look; a resume
          // wakes the paused cameras.
          recorder.pauseChanged();
          log.warn(
            { paused: recordingPaused ?? null },
            recordingPaused ? "recording paused" : "recording resumed",
          );
          audit.append({
            ...SYSTEM,
            action: recordingPaused ? "recording.pause" : "recording.resume",
            outcome: "success",
            details: {
              reason: recordingPaused ?? "free space above the floor again",
              freeBytes: rec?.freeBytes,
            },
          });
        }
      }
    };
    onStorage(await storage.sample());
    sampleStorage = (): void => {
      storage.sample().then(onStorage, (err: unknown) => log.error({ err }, "storage sampling failed"));
    };
    server = await listen(app, config.http);
    timers.push(
      setInterval(() => {
        auth.purgeExpiredSessions().catch((err: unknown) => log.error({ err }, "session purge failed"));
      }, SESSION_PURGE_EVERY_MS),
    );
    // With stop_recording, recording stops and resumes within seconds of the floor being crossed;
    // otherwise the sample rides on the reconciliation sweep's timer (one wake-up a minute, not two).
    if (stopRecordingOnPressure) timers.push(setInterval(sampleStorage, PAUSED_STORAGE_SAMPLE_EVERY_MS));
    for (const t of timers) t.unref();
  } catch (e) {
    for (const t of timers) clearInterval(t);
    watch?.halt();
    db.close();
    throw e;
  }
  for (const c of cameras) c.start();
  // The disk and the catalog agree before anything new is written.
  auditReconcile(audit, await reconciler.startup(), "startup");
  recorder.start();
  retention.schedule.start();
  const minute = setInterval(() => {
    if (watch?.periodMs === MINUTE_MS) void watch.check();
    if (!stopRecordingOnPressure) sampleStorage();
    reconciler.sweep().then(
      (r) => auditReconcile(audit, r, "sweep"),
      (err: unknown) => log.error({ err }, "reconciliation sweep failed"),
    );
  }, MINUTE_MS);
  minute.unref();
  timers.push(minute);
  const running = server;
  log.info({ url: running.url, cameras: cameras.length, version: VERSION }, "pscsd started");

  return {
    url: running.url,
    cameras,
    recorder,
    retention,
    async stop() {
      for (const t of timers) clearInterval(t);
      await retention.schedule.stop();
      await running.close();
      await recorder.stop();
      await Promise.all(cameras.map((c) => c.stop()));
      audit.append({
        actor: "system",
        role: null,
        client: "daemon",
        outcome: "success",
        action: "daemon.stop",
      });
      await watch?.stop();
      db.close();
      log.info("pscsd stopped");
    },
  };
}

/**
 * Every start is audited with a hash per configuration section; a section whose hash differs from
 * the previous start is a configuration change, audited as such (config lives in a file edited
 * outside the daemon, so the start is where a change becomes visible).
 */
function auditStart(db: Db, audit: AuditLog, config: Config): void {
  const { file, ...rest } = config;
  const sections: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) {
    sections[k] = createHash("sha256").update(canonicalJson(v)).digest("hex").slice(0, 16);
  }
  const prev = db
    .prepare<[], { details: string }>(
      "SELECT details FROM audit_log WHERE action = 'daemon.start' ORDER BY seq DESC LIMIT 1",
    )
    .get();
  const before = prev
    ? ((JSON.parse(prev.details) as { config?: Record<string, string> }).config ?? {})
    : undefined;
  const base = { actor: "system", role: null, client: "daemon", outcome: "success" as const };
  if (before) {
    const changed = Object.keys({ ...before, ...sections }).filter((k) => before[k] !== sections[k]);
    if (changed.length) {
      audit.append({
        ...base,
        action: "config.change",
        target: `config:${file}`,
        details: { sections: changed, previous: before, current: sections },
      });
    }
  }
  audit.append({
    ...base,
    action: "daemon.start",
    target: `config:${file}`,
    details: { version: VERSION, config: sections },
  });
}
