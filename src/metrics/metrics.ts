import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { AuditLog } from "../audit/log.js";
import type { CameraHealth, HealthService, PurgeHealth } from "../health/health.js";
import { RECORDING_STATES } from "../health/recording-state.js";
import type { StorageMonitor } from "../storage/monitor.js";

/**
 * The Prometheus registry: process metrics plus PSCS state. Gauges read live state at scrape time
 * (collect callbacks), so a value is never older than the scrape; counters are incremented where
 * the event happens.
 */

export interface MetricsSources {
  cameras: () => CameraHealth[];
  storage: StorageMonitor;
  health: HealthService;
  audit: AuditLog;
  purge: () => Promise<PurgeHealth>;
  version: string;
  /** Account lockouts since start, and whether many accounts were locked within a short window. */
  lockouts: () => { lockouts: number; storm: boolean };
}

const CAMERA_STATES = ["connecting", "connected", "offline"] as const;

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route">;
  logins: Counter<"outcome">;
}

export function createMetrics(src: MetricsSources): Metrics {
  const registry = new Registry();
  // prom-client's event-loop lag histogram is fed by a native timer that wakes the process once per
  // period (at 1 s, 5 ms of CPU a minute: a third of what recording one camera may cost in all) and
  // sees a stall shorter than the period only by chance. Its timer is set to an hour and its
  // gauges dropped; pscs_event_loop_busy_seconds_total (below) measures every moment the loop was
  // busy, from libuv's own accounting, at no cost. The lag probed at each scrape stays.
  collectDefaultMetrics({ register: registry, prefix: "pscsd_", eventLoopMonitoringPrecision: 3_600_000 });
  for (const m of [
    ...["min", "max", "mean", "stddev", "p50", "p90", "p99"].map((s) => `nodejs_eventloop_lag_${s}_seconds`),
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool rejects
    // them); the handle and request counts are not worth a renamed copy.
    "nodejs_active_handles_total",
    "nodejs_active_requests_total",
    "nodejs_active_resources_total",
  ]) {
    registry.removeSingleMetric(`pscsd_${m}`);
  }
  new Counter({
    name: "pscs_event_loop_busy_seconds_total",
    help: "Time pscsd's event loop spent running code rather than waiting; its rate is the loop's utilization (1 = saturated)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(performance.eventLoopUtilization().active / 1000);
    },
  });

  new Gauge({
    name: "pscs_build_info",
    help: "Always 1; the version label says which pscsd is running",
    labelNames: ["version"],
    registers: [registry],
    collect() {
      this.set({ version: src.version }, 1);
    },
  });
  new Gauge({
    name: "pscs_camera_up",
    help: "1 when the camera's ONVIF session is connected, else 0",
    labelNames: ["camera", "required"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras())
        this.set({ camera: c.id, required: String(c.required) }, c.state === "connected" ? 1 : 0);
    },
  });
  new Gauge({
    name: "pscs_camera_state",
    help: "1 for the camera's current connection state, 0 for the others",
    labelNames: ["camera", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras())
        for (const s of CAMERA_STATES) this.set({ camera: c.id, state: s }, c.state === s ? 1 : 0);
    },
  });
  new Gauge({
    name: "pscs_camera_connect_attempts",
    help: "Connection attempts since the camera's last state change",
    labelNames: ["camera"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras()) this.set({ camera: c.id }, c.attempts);
    },
  });
  new Gauge({
    name: "pscs_camera_clock_offset_seconds",
    help: "Camera clock minus server clock at the last sample (known to ±(0.5 s + half the round trip))",
    labelNames: ["camera"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras()) if (c.clock) this.set({ camera: c.id }, c.clock.offsetMs / 1000);
    },
  });
  new Gauge({
    name: "pscs_camera_clock_off",
    help: "1 while the camera's clock is beyond onvif.clockOffsetLimitSeconds (alert on it), else 0",
    labelNames: ["camera"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras()) if (c.clock) this.set({ camera: c.id }, c.clockOff ? 1 : 0);
    },
  });
  new Gauge({
    name: "pscs_recorder_state",
    help: "1 for the camera recorder's current state, 0 for the others",
    labelNames: ["camera", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras()) {
        if (!c.recording) continue;
        for (const s of RECORDING_STATES)
          this.set({ camera: c.id, state: s }, c.recording.state === s ? 1 : 0);
      }
    },
  });
  /** A total a camera's health carries, as a counter per camera read at scrape; absent: not shown. */
  const cameraCounter = (name: string, help: string, value: (c: CameraHealth) => number | undefined) =>
    new Counter({
      name,
      help,
      labelNames: ["camera"],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of src.cameras()) {
          const v = value(c);
          if (v !== undefined) this.inc({ camera: c.id }, v);
        }
      },
    });
  // Totals kept by the recorders themselves since start.
  cameraCounter(
    "pscs_recorded_segments_total",
    "Segments finished (hashed, indexed) since pscsd started",
    (c) => c.recording?.segments,
  );
  cameraCounter(
    "pscs_recorded_bytes_total",
    "Bytes of finished segments since pscsd started",
    (c) => c.recording?.bytes,
  );
  cameraCounter(
    "pscs_recorder_restarts_total",
    "ffmpeg restarts since pscsd started",
    (c) => c.recording?.restarts,
  );
  cameraCounter(
    "pscs_segment_write_errors_total",
    "Segments that could not be finished (ENOSPC, EIO, …)",
    (c) => c.recording?.writeErrors,
  );
  for (const [name, help, pick] of [
    [
      "pscs_purge_last_run_timestamp_seconds",
      "When the last purge run finished (or started, if it has not finished)",
      (p: PurgeHealth) => p.lastRun && (p.lastRun.finishedAt ?? p.lastRun.startedAt) / 1000,
    ],
    [
      "pscs_purge_last_run_destroyed_segments",
      "Segments the last purge run destroyed",
      (p: PurgeHealth) => p.lastRun?.destroyed ?? null,
    ],
    [
      "pscs_purge_last_run_failures",
      "Segments the last purge run could not destroy (plus 1 if the run itself failed)",
      (p: PurgeHealth) => p.lastRun && p.lastRun.failures + (p.lastRun.error ? 1 : 0),
    ],
    [
      "pscs_purge_next_run_timestamp_seconds",
      "When the next scheduled purge run is due",
      (p: PurgeHealth) => p.nextRunAt && p.nextRunAt / 1000,
    ],
    [
      "pscs_oldest_unheld_footage_age_seconds",
      "Age of the last frame of the oldest footage no hold protects (retention is 30 days by default)",
      (p: PurgeHealth) => p.oldestUnheldEndMs && (Date.now() - p.oldestUnheldEndMs) / 1000,
    ],
    ["pscs_holds_active", "Active evidence holds", (p: PurgeHealth) => p.holds.active],
    [
      "pscs_hold_requests_pending",
      "Hold requests waiting for the commander (their footage is already protected)",
      (p: PurgeHealth) => p.holds.requested,
    ],
    [
      "pscs_hold_requests_overdue",
      "Hold requests still waiting for the commander past retention.holds.overdueDays",
      (p: PurgeHealth) => p.holds.overdueRequests,
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        const v = pick(await src.purge());
        if (v !== null && v !== undefined) this.set(v);
      },
    });
  }
  new Gauge({
    name: "pscs_storage_free_bytes",
    help: "Free bytes on the volume holding each storage directory",
    labelNames: ["volume"],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of src.storage.status()) if (!v.error) this.set({ volume: v.volume }, v.freeBytes);
    },
  });
  new Gauge({
    name: "pscs_storage_low",
    help: "1 when free space is under the configured floor (or the volume cannot be read)",
    labelNames: ["volume"],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of src.storage.status()) this.set({ volume: v.volume }, v.low ? 1 : 0);
    },
  });
  new Gauge({
    name: "pscs_storage_days_left",
    help: "Days until free space reaches the floor at the measured write rate (absent when unknown)",
    labelNames: ["volume"],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of src.storage.status())
        if (v.daysLeft !== null) this.set({ volume: v.volume }, v.daysLeft);
    },
  });
  new Counter({
    name: "pscs_audit_export_entries_total",
    help: "Audit entries read for CSV exports, a page at a time; it stops rising while an export's reader stops or after it leaves",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.audit.exportedEntries);
    },
  });
  new Gauge({
    name: "pscs_audit_entries",
    help: "Entries in the audit chain",
    registers: [registry],
    async collect() {
      this.set(await src.audit.headSeq());
    },
  });
  new Gauge({
    name: "pscs_audit_chain_ok",
    help: "1 when the last walk of the audit chain found it intact, 0 when it found a break or before the first walk (pscsd walks the chain before it serves)",
    registers: [registry],
    collect() {
      this.reset();
      const c = src.health.auditChain();
      if (c) this.set(c.result.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: "pscs_audit_chain_breaks",
    help: "Broken entries, gaps and failed anchor checkpoints found by pscsd's watch of the audit chain (alert on > 0; 0 before the first walk)",
    registers: [registry],
    collect() {
      this.reset();
      const c = src.health.auditChain();
      if (c) this.set(c.result.breakCount);
    },
  });
  new Gauge({
    name: "pscs_audit_checkpoint_timestamp_seconds",
    help: "When pscsd last signed the audit chain's head (a checkpoint in the anchor and the log); 0 if it has not since it started",
    registers: [registry],
    collect() {
      this.reset();
      const at = src.health.auditChain()?.checkpointAt;
      if (at) this.set(at / 1000);
    },
  });
  new Gauge({
    name: "pscs_audit_chain_checked_timestamp_seconds",
    help: "When the audit chain was last walked (0 before the first walk)",
    registers: [registry],
    collect() {
      this.reset();
      const c = src.health.auditChain();
      if (c) this.set(c.checkedAt / 1000);
    },
  });

  new Counter({
    name: "pscs_auth_lockouts_total",
    help: "Accounts locked after too many failed sign-ins, since pscsd started",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.lockouts().lockouts);
    },
  });
  new Gauge({
    name: "pscs_auth_lockout_storm",
    help: "1 while many accounts have been locked within the throttle window (an attack on the site; alert)",
    registers: [registry],
    collect() {
      this.set(src.lockouts().storm ? 1 : 0);
    },
  });

  new Gauge({
    name: "pscs_live_viewers",
    help: "Viewers watching the camera live now (all share one camera session)",
    labelNames: ["camera"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras()) if (c.live) this.set({ camera: c.id }, c.live.viewers);
    },
  });
  new Gauge({
    name: "pscs_live_session_open",
    help: "1 while pscsd holds a live RTSP session with the camera (besides the recorder's), else 0",
    labelNames: ["camera"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.cameras()) if (c.live) this.set({ camera: c.id }, c.live.open ? 1 : 0);
    },
  });
  cameraCounter(
    "pscs_live_sessions_opened_total",
    "Live RTSP sessions pscsd opened with the camera",
    (c) => c.live?.sessionsOpened,
  );
  cameraCounter(
    "pscs_live_received_bytes_total",
    "H.264 bytes received from the camera for live view",
    (c) => c.live?.bytesIn,
  );
  cameraCounter(
    "pscs_live_delivered_bytes_total",
    "H.264 bytes handed to live viewers, all viewers summed",
    (c) => c.live?.bytesOut,
  );
  cameraCounter(
    "pscs_live_dropped_frames_total",
    "Frames not given to a live viewer: it was past its queue bound (paused until the next key frame) or had not had its first key frame",
    (c) => c.live?.drops,
  );

  return {
    registry,
    httpRequests: new Counter({
      name: "pscs_http_requests_total",
      help: "HTTP requests answered, by route template and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "pscs_http_request_duration_seconds",
      help: "Time to answer HTTP requests, by route template",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    logins: new Counter({
      name: "pscs_logins_total",
      help: "Login attempts by outcome (success, failure, throttled)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}
