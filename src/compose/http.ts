import { join } from "node:path";
import { createApp, createUpgrades } from "../../api/app.js";
import type { Retention } from "../../retention/retention.js";
import { AuditInspectionService } from "../audit/inspection.js";
import type { AuditLog } from "../audit/log.js";
import type { RequestRefusals } from "../audit/request-refusals.js";
import type { AuditWatch } from "../audit/watch.js";
import type { AuthService } from "../auth/service.js";
import type { Db } from "../catalog/catalog.js";
import type { Directory } from "../catalog/directory/directory.js";
import type { Config } from "../config/load.js";
import type { ExportPackages } from "../exports/export.js";
import type { Recordings } from "../footage/recordings.js";
import { type CameraHealth, HealthService, type PurgeHealth } from "../health/health.js";
import type { HealthHistory } from "../health/history.js";
import type { Live } from "../live/desk.js";
import type { Logger } from "../log/logger.js";
import { createMetrics } from "../metrics/metrics.js";
import type { PrivacyZones } from "../ptz/privacy-zones.js";
import type { PtzService } from "../ptz/service.js";
import type { StorageMonitor } from "../storage/monitor.js";
import { packageRoot, VERSION } from "../version.js";

/** What pscsd serves: health, metrics and the HTTP API over the services it was handed. */

export interface Served {
  requestRefusals: RequestRefusals;
  db: Db;
  directory: Directory;
  audit: AuditLog;
  auth: AuthService;
  watch: AuditWatch;
  storage: StorageMonitor;
  retention: Retention;
  playback: Recordings;
  /** Undefined when the export key could not be made: exports are off. */
  exportPackages: ExportPackages | undefined;
  cameras: () => CameraHealth[];
  ptz: PtzService;
  zones: PrivacyZones;
  live: Live;
  startedAt: number;
  /** False when the export key could not be made (health reports exports off). */
  exportsOn: boolean;
  history: HealthHistory;
}

export function wireHttp(config: Config, log: Logger, s: Served) {
  const { db, audit, auth, storage, retention, cameras, startedAt } = s;
  // Several gauges read it per scrape: computed at most once a second.
  let purgeCached: { at: number; value: Promise<PurgeHealth> } | undefined;
  const purge = (): Promise<PurgeHealth> => {
    const now = Date.now();
    if (!purgeCached || now - purgeCached.at > 1_000) purgeCached = { at: now, value: retention.health() };
    return purgeCached.value;
  };
  const writableDirs = { recordings: config.storage.recordings, evidence: config.storage.evidence };
  const chain = () => s.watch.state();
  const health = new HealthService({
    db,
    audit,
    storage,
    writableDirs,
    cameras,
    version: VERSION,
    startedAt,
    purge,
    chain,
    exportsOn: s.exportsOn,
    history: s.history,
  });
  const lockouts = () => auth.lockoutState();
  const metrics = createMetrics({
    cameras,
    storage,
    health,
    audit,
    purge,
    version: VERSION,
    lockouts,
  });
  const services = {
    version: VERSION,
    startedAt,
    log,
    auth,
    audit,
    auditInspection: new AuditInspectionService(audit, s.directory),
    health,
    metrics,
    cameras,
    holds: retention.holds,
    exports: retention.exports,
    exportPackages: s.exportPackages,
    purge: retention,
    ptz: s.ptz,
    zones: s.zones,
    live: s.live,
    // ICE needs an address, not a name.
    webrtc: {
      ...config.live.webrtc,
      host: config.live.webrtc.host ?? (config.http.host === "localhost" ? "127.0.0.1" : config.http.host),
    },
    site: config.site,
    stalledMs: config.playback.stalledSeconds * 1000,
    recordings: s.playback,
    requestRefusals: s.requestRefusals,
    secureCookie: secureCookie(config, log),
    sessionMaxHours: config.auth.sessionMaxHours,
    sessionIdleMinutes: config.auth.sessionIdleMinutes,
    webRoot: join(packageRoot(), "dist", "web"),
    liveSockets: {
      stalledSeconds: config.live.stalledSeconds,
      sendBufferKiB: config.live.sendBufferKiB,
    },
    streamSessionCheckSeconds: config.live.sessionCheckSeconds,
  };
  return { app: createApp(services), upgrades: createUpgrades(services) };
}

/** Browsers accept Secure cookies over plain HTTP on loopback only; plain HTTP elsewhere is warned of. */
function secureCookie(config: Config, log: Logger): boolean {
  const loopback = /^(127\.|::1$|localhost$)/.test(config.http.host);
  if (!config.http.tls && !loopback) {
    log.warn(
      { host: config.http.host },
      "HTTP without TLS on a non-loopback address: sessions travel in clear text",
    );
  }
  return config.http.tls !== undefined || loopback;
}
