import { dirname, join } from "node:path";
import { LiveView } from "../../recorder/live/live.js";
import { Reconciler } from "../../recorder/reconcile.js";
import { Recorder } from "../../recorder/recorder.js";
import type { AuditLog } from "../audit/log.js";
import { ClockAudit } from "../cameras/clock-audit.js";
import { CameraConnection } from "../cameras/connection.js";
import type { Db } from "../catalog/catalog.js";
import { CameraIdentities } from "../catalog/footage/camera-identities.js";
import { ClockSamples } from "../catalog/footage/clock-samples.js";
import { Gaps } from "../catalog/footage/gaps.js";
import { Segments } from "../catalog/footage/segments.js";
import type { Config } from "../config/load.js";
import { RecordingsService } from "../footage/recordings.js";
import type { CameraHealth } from "../health/health.js";
import { toCameraHealth } from "../health/health.js";
import type { Logger } from "../log/logger.js";

/**
 * pscsd's recording side as the config describes it: one ONVIF connection per camera, paired with
 * its recorder and its live view by the camera's config (never by position), the reconciler,
 * playback, and the cameras' health as connection and recorder see it together. Nothing runs until pscsd starts it.
 */

export interface RecordingWiring {
  /** A closed segment's row id, once it is indexed (the evidence tree links held footage). */
  onSegment: (segment: number) => void;
  /** Why no camera may record now. */
  paused: () => string | undefined;
}

export function wireRecording(config: Config, db: Db, audit: AuditLog, log: Logger, w: RecordingWiring) {
  const clockAudit = new ClockAudit(audit, log);
  const clockSamples = new ClockSamples(db);
  const identities = new CameraIdentities(db);
  const cameras = config.cameras.map((cam) => ({
    config: cam,
    connection: new CameraConnection(cam, {
      log,
      heartbeatMs: config.onvif.heartbeatSeconds * 1000,
      streamingHeartbeatMs: config.onvif.streamingHeartbeatSeconds * 1000,
      requestTimeoutMs: config.onvif.requestTimeoutSeconds * 1000,
      onClockSample: (id, s) => clockSamples.record(id, s),
      onDeviceInfo: (id, d, at) =>
        identities.record(
          id,
          {
            manufacturer: d.manufacturer,
            model: d.model,
            serial: d.serialNumber,
            firmware: d.firmwareVersion,
          },
          at,
        ),
      clockOffsetLimitMs: config.onvif.clockOffsetLimitSeconds * 1000,
      onClockExcursion: (e) => clockAudit.record(e),
      clockWasOff: () => clockAudit.wasOff(cam.id),
    }),
  }));
  const segments = new Segments(db);
  const gaps = new Gaps(db);
  const recorder = new Recorder(cameras, {
    root: config.storage.recordings,
    // Beside the catalog, which is local (SQLite needs that too).
    runDir: join(dirname(config.storage.catalog), "run"),
    recording: config.recording,
    store: segments,
    gaps,
    log,
    onSegment: w.onSegment,
    paused: w.paused,
  });
  const reconciler = new Reconciler({
    root: config.storage.recordings,
    cameras: config.cameras.map((c) => c.id),
    store: segments,
    log,
    ffprobePath: config.recording.ffprobe,
    activeRuns: () => recorder.activeRuns(),
  });
  const playback = new RecordingsService({
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
  });
  // Live view takes its own camera session, opened only while someone watches: never the recorder's.
  const live = new LiveView(cameras, log);
  const cameraHealth = (): CameraHealth[] => {
    const recording = new Map(recorder.status().map(({ camera, ...r }) => [camera, r]));
    const views = new Map(live.stats().map(({ camera, ...l }) => [camera, l]));
    return cameras.map((c) =>
      toCameraHealth(
        c.connection.status(),
        c.config.required,
        recording.get(c.config.id),
        views.get(c.config.id),
      ),
    );
  };
  const connections = cameras.map((c) => c.connection);
  return { connections, recorder, live, reconciler, playback, cameraHealth };
}
