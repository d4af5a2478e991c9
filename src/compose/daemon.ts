import { mkdirSync } from "node:fs";
import { listen, type RunningServer } from "../../api/server.js";
import { auditReconcile } from "../../recorder/reconcile-audit.js";
import type { Recorder } from "../../recorder/recorder.js";
import { DiskPressurePolicy } from "../../retention/disk-pressure.js";
import { ExportPackageService } from "../../retention/export/downloads.js";
import { ExportJobs } from "../../retention/export/jobs.js";
import { type FolderPackageProducer, packageProducerFromConfig } from "../../retention/export/producer.js";
import { type Retention, retentionFromConfig } from "../../retention/retention.js";
import { SYSTEM_ACTOR } from "../audit/actors.js";
import { openCheckpointKey } from "../audit/checkpoint.js";
import { RequestRefusals } from "../audit/request-refusals.js";
import { AuditWatch } from "../audit/watch.js";
import type { CameraConnection } from "../cameras/connection.js";
import { type Db, openCatalog } from "../catalog/catalog.js";
import { auditDaemonStart } from "../config/changes.js";
import type { Config } from "../config/load.js";
import { watchExportJobWakes } from "../exports/job-wake.js";
import { type ExportSigner, openExportSigner } from "../exports/signing-key.js";
import { HealthHistory } from "../health/history.js";
import { LiveDesk } from "../live/desk.js";
import type { Logger } from "../log/logger.js";
import { checkTools } from "../proc/tools.js";
import { PrivacyZones } from "../ptz/privacy-zones.js";
import { PtzService } from "../ptz/service.js";
import { StorageMonitor } from "../storage/monitor.js";
import { VERSION } from "../version.js";
import { catalogServices } from "./console.js";
import { wireHttp } from "./http.js";
import { wireRecording } from "./recording.js";

/**
 * pscsd's composition root: the one place that wires src/ services into recorder/, retention/ and
 * api/. Start order is catalog → audit → HTTP → (stale partial exports swept) → cameras →
 * recorders → purge schedule → export jobs; stop order is the reverse, so nothing outlives what it
 * depends on.
 */

export interface Pscsd {
  url: string;
  cameras: CameraConnection[];
  recorder: Recorder;
  retention: Retention;
  /** Builds export packages; undefined when the export key could not be made (exports are off, logged). */
  exportProducer: FolderPackageProducer | undefined;
  /** Runs approved exports; undefined with the producer (queued exports then wait, health says so). */
  exportJobs: ExportJobs | undefined;
  stop(): Promise<void>;
}

const SESSION_PURGE_EVERY_MS = 3_600_000;
/** The reconciliation sweep, the audit watch's default period and the storage sample share it. */
const MINUTE_MS = 60_000;

/** Every service, made in dependency order; nothing runs yet but the start's audit entries. */
async function wire(
  config: Config,
  log: Logger,
  db: Db,
  key: ReturnType<typeof openCheckpointKey>,
  exportSigner: ExportSigner | undefined,
  startedAt: number,
) {
  const { directory, audit, auth } = catalogServices(config, db);
  await auditDaemonStart(audit, config, VERSION);
  const watch = new AuditWatch({
    audit,
    log,
    signer: key.signer,
    keyCreated: key.created,
    keyProblem: key.problem,
    verifyMs: config.audit.verifySeconds * 1000,
    checkpointMs: config.audit.checkpointSeconds * 1000,
  });
  // The volumes are measured from the first moment, before the recorder has written anything.
  mkdirSync(config.storage.recordings, { recursive: true });
  const floorBytes = config.health.storageFloorGiB * 2 ** 30;
  const storage = new StorageMonitor(
    { recordings: config.storage.recordings, evidence: config.storage.evidence },
    floorBytes,
  );
  const freeBytes = async () =>
    (await storage.sample()).find((v) => v.volume === "recordings" && !v.error)?.freeBytes ??
    Number.POSITIVE_INFINITY;
  // The desk tells the jobs of approvals and cancels at once; the jobs are made below, with the producer.
  let exportJobs: ExportJobs | undefined;
  const retention = retentionFromConfig(
    config,
    db,
    directory,
    audit,
    log,
    { floorBytes, freeBytes },
    (id, status) => exportJobs?.changed(id, status),
  );
  const pressure = new DiskPressurePolicy({
    onDiskPressure: config.retention.onDiskPressure,
    floorGiB: config.health.storageFloorGiB,
    storage,
    purger: retention.purger,
    audit,
    log,
  });
  const recording = wireRecording(config, db, audit, log, {
    // A segment closing inside an active hold's range goes into the evidence tree at once.
    onSegment: (segment) => {
      retention.evidence
        .sync({ segment })
        .catch((err: unknown) => log.error({ err, segment }, "evidence sync failed"));
    },
    paused: () => pressure.paused(),
  });
  pressure.onPauseChange(() => recording.recorder.pauseChanged());
  const { playback, cameraHealth: cameras } = recording;
  const byId = new Map(recording.connections.map((c) => [c.status().id, c]));
  const live = new LiveDesk({
    feed: recording.live,
    cameras: new Set(byId.keys()),
    audit,
    log: log.child({ component: "live" }),
    maxPerUser: config.live.maxPerUser,
    signIns: auth,
    sessionCheckMs: config.live.sessionCheckSeconds * 1000,
  });
  const zones = new PrivacyZones({
    directory,
    audit,
    cameras: new Map(
      config.cameras.map((c) => [
        c.id,
        { zones: c.privacyZones, fieldOfView: c.fieldOfView, speeds: c.ptzSpeed },
      ]),
    ),
  });
  const ptz = new PtzService({
    directory,
    audit,
    cameras: { ids: new Set(byId.keys()), ptz: (camera) => byId.get(camera)?.ptz() },
    zones,
    log: log.child({ component: "ptz" }),
    limits: {
      leaseMs: config.ptz.leaseSeconds * 1000,
      deadmanMs: config.ptz.deadmanMs,
      keepAliveMs: config.ptz.keepAliveMs,
      cameraCallsPerSecond: config.ptz.cameraCallsPerSecond,
      commandsPerSecond: config.ptz.commandsPerSecond,
      commandBurst: 2 * config.ptz.commandsPerSecond,
      zoneWatchMs: config.ptz.zoneWatchMs,
    },
  });
  // PTZ sessions a stopped pscsd left open end as stopped before HTTP listens (no one holds control yet).
  await ptz.start();
  const exportProducer = exportSigner && packageProducerFromConfig(config, db, exportSigner);
  const exportPackages =
    exportProducer &&
    new ExportPackageService({
      directory,
      audit,
      root: config.storage.exports,
      key: () => exportProducer.key(),
    });
  const history = new HealthHistory();
  // Before HTTP: its refusals of malformed requests are audited through it.
  const requestRefusals = new RequestRefusals(audit, log.child({ component: "http" }));
  const { app, upgrades } = wireHttp(config, log, {
    requestRefusals,
    db,
    directory,
    audit,
    auth,
    watch,
    storage,
    retention,
    playback,
    exportPackages,
    cameras,
    ptz,
    zones,
    live,
    startedAt,
    exportsOn: exportSigner !== undefined,
    history,
  });
  if (exportProducer) {
    exportJobs = new ExportJobs({
      directory,
      audit,
      producer: exportProducer,
      exportsRoot: config.storage.exports,
      evidenceRoot: config.storage.evidence,
      log: log.child({ component: "exports" }),
    });
  }
  return {
    ...recording,
    liveDesk: live,
    history,
    storage,
    audit,
    auth,
    watch,
    retention,
    pressure,
    app,
    requestRefusals,
    upgrades,
    ptz,
    exportProducer,
    exportJobs,
  };
}

export async function startPscsd(config: Config, log: Logger): Promise<Pscsd> {
  const startedAt = Date.now();
  checkTools({ "recording.ffmpeg": config.recording.ffmpeg, "recording.ffprobe": config.recording.ffprobe });
  // Before the catalog: a key that cannot be made or is refused stops the start with nothing written.
  const key = openCheckpointKey(config.audit.checkpointKey, config.storage.catalog, log);
  const { recordings, evidence, exports } = config.storage;
  const exportSigner = openExportSigner(config.exports.signingKey, [recordings, evidence, exports], log);
  const db = openCatalog(config.storage.catalog);
  const timers: NodeJS.Timeout[] = [];
  let d: Awaited<ReturnType<typeof wire>> | undefined;
  let server: RunningServer;
  try {
    d = await wire(config, log, db, key, exportSigner, startedAt);
    const { watch, pressure, auth } = d;
    // At the default period the watch rides on the minute timer below (one wake-up a minute, not two).
    await watch.start({ ownTimer: watch.periodMs !== MINUTE_MS });
    await pressure.checkNow();
    server = await listen(d.app, config.http, d.upgrades);
    timers.push(
      setInterval(() => {
        auth.purgeExpiredSessions().catch((err: unknown) => log.error({ err }, "session purge failed"));
      }, SESSION_PURGE_EVERY_MS),
    );
    // Otherwise the storage sample rides on the minute timer below.
    if (pressure.sampleEveryMs) timers.push(setInterval(() => pressure.check(), pressure.sampleEveryMs));
    for (const t of timers) t.unref();
  } catch (e) {
    for (const t of timers) clearInterval(t);
    d?.watch.halt();
    db.close();
    throw e;
  }
  const {
    audit,
    watch,
    connections,
    recorder,
    live,
    liveDesk,
    history,
    storage,
    cameraHealth,
    reconciler,
    retention,
    pressure,
    ptz,
    requestRefusals,
    exportProducer,
    exportJobs,
  } = d;
  // A package a killed pscsd left half-written is never completed: the export jobs fail its export.
  const unfinished = await exportProducer?.sweep();
  if (unfinished) log.warn({ removed: unfinished }, "unfinished export packages removed");
  for (const c of connections) c.start();
  // The disk and the catalog agree before anything new is written.
  await auditReconcile(audit, await reconciler.startup(), "startup");
  recorder.start();
  retention.schedule.start();
  history.record(Date.now(), cameraHealth(), storage.status());
  // After the sweep: what was running when pscsd stopped is failed, then the queue runs. Another
  // process (pscs export approve|cancel) wakes the jobs through a watched file, and the minute timer
  // looks too; a poll every second or two would break pscsd's idle wake-up budget
  // (test/e2e/idle-wakeups.test.ts).
  await exportJobs?.start();
  const wakes = exportJobs && watchExportJobWakes(config.storage.exports, () => exportJobs.wake());
  const minute = setInterval(() => {
    history.record(Date.now(), cameraHealth(), storage.status());
    exportJobs?.wake();
    if (watch.periodMs === MINUTE_MS) void watch.check();
    if (!pressure.sampleEveryMs) pressure.check();
    reconciler.sweep().then(
      (r) =>
        auditReconcile(audit, r, "sweep").catch((err: unknown) =>
          log.error({ err }, "reconciliation sweep not audited"),
        ),
      (err: unknown) => log.error({ err }, "reconciliation sweep failed"),
    );
  }, MINUTE_MS);
  minute.unref();
  timers.push(minute);
  log.info({ url: server.url, cameras: connections.length, version: VERSION }, "pscsd started");

  return {
    url: server.url,
    cameras: connections,
    recorder,
    retention,
    exportProducer,
    exportJobs,
    async stop() {
      for (const t of timers) clearInterval(t);
      wakes?.close();
      // A production still running is aborted (its partial folder removed) and failed as stopped.
      await exportJobs?.stop();
      await retention.schedule.stop();
      await server.close();
      // Refusals still held for their period are written while the audit log is open.
      await requestRefusals.stop();
      // Cameras still moving are stopped while their ONVIF sessions are up.
      await ptz.stop();
      // Each viewer's close entry is written while the audit log is open.
      await liveDesk.stop();
      await live.stop();
      await recorder.stop();
      await Promise.all(connections.map((c) => c.stop()));
      await audit.append({ ...SYSTEM_ACTOR, outcome: "success", action: "daemon.stop" });
      await watch.stop();
      db.close();
      log.info("pscsd stopped");
    },
  };
}
