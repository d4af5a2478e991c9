import { validate as validateCron } from "node-cron";
import { z } from "zod";

/**
 * The daemon's configuration file, validated before anything starts.
 * Invariant: a config that parses here is complete — every later module reads typed values and never
 * re-checks or defaults them.
 */

const port = z.int().min(1).max(65535);
const cameraId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,31}$/,
    "expected 1-32 lowercase letters, digits or '-', starting with a letter or digit",
  );

export const cameraSchema = z
  .strictObject({
    id: cameraId,
    name: z.string().min(1).max(100),
    /** A required camera that is not connected makes the daemon not ready (/readyz). */
    required: z.boolean().default(true),
    onvif: z.strictObject({
      host: z.string().min(1),
      port: port.default(80),
      user: z.string().min(1),
      password: z.string().min(1).optional(),
      passwordFile: z.string().min(1).optional(),
      /** Media profile token; the camera's first profile when absent. */
      profile: z.string().min(1).optional(),
    }),
  })
  .superRefine((cam, ctx) => {
    const { password, passwordFile } = cam.onvif;
    if ((password === undefined) === (passwordFile === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["onvif", "password"],
        message: "expected exactly one of 'password' or 'passwordFile'",
      });
    }
  });

export const configSchema = z
  .strictObject({
    site: z.strictObject({ name: z.string().min(1).default("PSCS") }).default({ name: "PSCS" }),
    http: z
      .strictObject({
        host: z.string().min(1).default("127.0.0.1"),
        port: port.default(8080),
        tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      })
      .default({ host: "127.0.0.1", port: 8080 }),
    storage: z.strictObject({
      recordings: z.string().min(1),
      evidence: z.string().min(1),
      catalog: z.string().min(1),
    }),
    recording: z
      .strictObject({
        segmentSeconds: z.int().min(2).max(600).default(60),
        /** No new media for this long restarts the camera's ffmpeg (a frozen RTSP session). */
        stallSeconds: z.number().min(2).max(600).default(15),
        ffmpeg: z.string().min(1).default("ffmpeg"),
        /** Reads recorded files: reconciliation, playback, a segment whose ffmpeg died mid-write. */
        ffprobe: z.string().min(1).default("ffprobe"),
        /**
         * Waits between ffmpeg restarts after failures: doubling from baseSeconds up to capSeconds,
         * back to base after a run that kept 10 s of footage. The cap is also how late a camera whose
         * RTSP alone failed is recorded again; an ONVIF reconnect or a new stream URI retries at once.
         */
        retry: z
          .strictObject({
            baseSeconds: z.number().min(0.05).max(60).default(0.5),
            capSeconds: z.number().min(0.1).max(600).default(30),
          })
          .refine((r) => r.capSeconds >= r.baseSeconds, "capSeconds must be at least baseSeconds")
          .default({ baseSeconds: 0.5, capSeconds: 30 }),
      })
      .default({
        segmentSeconds: 60,
        stallSeconds: 15,
        ffmpeg: "ffmpeg",
        ffprobe: "ffprobe",
        retry: { baseSeconds: 0.5, capSeconds: 30 },
      }),
    retention: z
      .strictObject({
        /** Connecticut retention schedule as applied by the PSCS policy: 30 days. */
        days: z.int().min(1).max(3650).default(30),
        purgeSchedule: z
          .string()
          .refine((s) => validateCron(s), "expected a cron expression, e.g. '0 * * * *'")
          .default("0 * * * *"),
        /**
         * Below health.storageFloorGiB free on the recordings volume: 'purge_oldest' destroys the
         * oldest unheld footage (at least an hour old) early, audited as disk_pressure;
         * 'stop_recording' closes the current segments and records nothing new until there is room
         * again (a gap with that cause); 'alert' only alerts. Held footage is never touched.
         */
        onDiskPressure: z.enum(["purge_oldest", "stop_recording", "alert"]).default("purge_oldest"),
        /** Segments destroyed per batch (two catalog commits and one fsync per directory each). */
        purgeBatchSize: z.int().min(1).max(100_000).default(2_000),
      })
      .default({
        days: 30,
        purgeSchedule: "0 * * * *",
        onDiskPressure: "purge_oldest",
        purgeBatchSize: 2_000,
      }),
    onvif: z
      .strictObject({
        /** How often a connected camera is polled (GetSystemDateAndTime): how fast "down" is noticed. */
        heartbeatSeconds: z.number().min(1).max(3600).default(30),
        /**
         * The poll's period while the camera's stream is arriving (the stream shows the camera is up;
         * a stream failure polls at once): how fast a camera's ONVIF service failing alone is noticed,
         * and how often its clock is sampled. Never shorter than heartbeatSeconds.
         */
        streamingHeartbeatSeconds: z.number().min(1).max(3600).default(300),
        /** Bound on every ONVIF request. */
        requestTimeoutSeconds: z.number().min(1).max(120).default(10),
      })
      .default({ heartbeatSeconds: 30, streamingHeartbeatSeconds: 300, requestTimeoutSeconds: 10 }),
    auth: z
      .strictObject({
        /** Re-authentication after inactivity (policy: no unattended logged-in consoles). */
        sessionIdleMinutes: z.number().positive().max(1440).default(30),
        /** Absolute session lifetime, whatever the activity: about one shift. */
        sessionMaxHours: z.number().positive().max(168).default(12),
        lockoutAttempts: z.int().min(1).max(100).default(5),
        lockoutMinutes: z.number().positive().max(1440).default(15),
        /** scrypt cost as log2(N); 16 = 64 MiB, about 0.2 s a login on this class of machine. */
        scryptLogN: z.int().min(10).max(20).default(16),
      })
      .default({
        sessionIdleMinutes: 30,
        sessionMaxHours: 12,
        lockoutAttempts: 5,
        lockoutMinutes: 15,
        scryptLogN: 16,
      }),
    health: z
      .strictObject({
        /** Free space under which storage is reported as low (alert), in GiB. */
        storageFloorGiB: z.number().min(0).default(10),
      })
      .default({ storageFloorGiB: 10 }),
    log: z
      .strictObject({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
        pretty: z.boolean().default(false),
      })
      .default({ level: "info", pretty: false }),
    cameras: z.array(cameraSchema).min(1, "expected at least one camera"),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.cameras.forEach((cam, i) => {
      const first = seen.get(cam.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["cameras", i, "id"],
          message: `expected a unique camera id, '${cam.id}' is already used by cameras[${first}]`,
        });
      } else seen.set(cam.id, i);
    });
  });

export type ConfigFile = z.infer<typeof configSchema>;
export type CameraConfigFile = z.infer<typeof cameraSchema>;
