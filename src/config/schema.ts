import { validate as validateCron } from "node-cron";
import { z } from "zod";
import { cameraIdSchema } from "../cameras/camera-id.js";
import {
  axisSpeedsSchema,
  DEFAULT_AXIS_SPEEDS,
  DEFAULT_FIELD_OF_VIEW,
  fieldOfViewSchema,
  privacyZoneSchema,
} from "../ptz/zones.js";
import { isTimeZone } from "../time/parse.js";

/**
 * The daemon's configuration file, validated before anything starts.
 * Invariant: a config that parses here is complete — every later module reads typed values and never
 * re-checks or defaults them.
 */

/**
 * What one hold request may protect (a pending request protects its footage before anyone reviewed
 * it), and when a pending one is overdue. Why these defaults: 20 ranges name every camera around one
 * scene (a request is about one incident; more is a bulk keep, to be split so the commander reviews
 * each part); 7 days is the longest single incident a request covers (a missing-person search); 31
 * days in all is a month of one camera, more than the whole 30-day retention period; 3 days is a
 * commander's turnaround within a working week; 20 pending requests per person bounds what one
 * account (a stolen one, or a bulk keep) protects unreviewed to 20 × 31 camera-days.
 */
export const HOLD_LIMIT_DEFAULTS = {
  maxRanges: 20,
  maxRangeDays: 7,
  maxTotalDays: 31,
  overdueDays: 3,
  maxPendingPerPerson: 20,
};
const holdsSchema = z
  .strictObject({
    /** At most 64: the API's body schema takes no more. */
    maxRanges: z.int().min(1).max(64).default(HOLD_LIMIT_DEFAULTS.maxRanges),
    maxRangeDays: z.number().positive().max(3650).default(HOLD_LIMIT_DEFAULTS.maxRangeDays),
    maxTotalDays: z.number().positive().max(36500).default(HOLD_LIMIT_DEFAULTS.maxTotalDays),
    overdueDays: z.number().positive().max(365).default(HOLD_LIMIT_DEFAULTS.overdueDays),
    /** Requests one person may have awaiting a commander at once; more are refused (409). */
    maxPendingPerPerson: z.int().min(1).max(10_000).default(HOLD_LIMIT_DEFAULTS.maxPendingPerPerson),
  })
  .default(HOLD_LIMIT_DEFAULTS);

const port = z.int().min(1).max(65535);

export const cameraSchema = z
  .strictObject({
    id: cameraIdSchema,
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
    /**
     * Where this camera may not look (policy, Use Procedures 4): rectangles in pan/tilt space with a
     * zoom limit, enforced by pscsd on every PTZ command (src/ptz/zones.ts). Read-only through the
     * API; admins add more there.
     */
    privacyZones: z.array(privacyZoneSchema).max(100).default([]),
    /** The view's half-width/half-height in pan/tilt units at zoom 0, and zoom 1's magnification. */
    fieldOfView: fieldOfViewSchema.default(DEFAULT_FIELD_OF_VIEW),
    /** Pan/tilt/zoom units per second at velocity 1 (for stopping a continuous move at a zone). */
    ptzSpeed: axisSpeedsSchema.default(DEFAULT_AXIS_SPEEDS),
  })
  .superRefine((cam, ctx) => {
    const ids = new Set<string>();
    cam.privacyZones.forEach((zone, i) => {
      if (ids.has(zone.id)) {
        ctx.addIssue({
          code: "custom",
          path: ["privacyZones", i, "id"],
          message: `expected a unique zone id, '${zone.id}' is used twice`,
        });
      }
      ids.add(zone.id);
    });
    const { password, passwordFile } = cam.onvif;
    if ((password === undefined) === (passwordFile === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["onvif", "password"],
        message: "expected exactly one of 'password' or 'passwordFile'",
      });
    }
  });

/**
 * Sign-in limits. Password hashing shares libuv's four threads with file I/O, so at most
 * `hashConcurrency` hashes run and `hashQueue` wait; one address gets `addressFailures` failed
 * sign-ins per `windowMinutes` (fewer than it takes to lock many accounts); `stormAccounts`
 * accounts locked within that window raise the lockout-storm alert.
 */
const AUTH_THROTTLE_DEFAULTS = {
  hashConcurrency: 2,
  hashQueue: 32,
  addressFailures: 10,
  windowMinutes: 10,
  stormAccounts: 5,
};
const authThrottleSchema = z.strictObject({
  hashConcurrency: z.int().min(1).max(3).default(AUTH_THROTTLE_DEFAULTS.hashConcurrency),
  hashQueue: z.int().min(0).max(1000).default(AUTH_THROTTLE_DEFAULTS.hashQueue),
  addressFailures: z.int().min(1).max(10_000).default(AUTH_THROTTLE_DEFAULTS.addressFailures),
  windowMinutes: z.number().positive().max(1440).default(AUTH_THROTTLE_DEFAULTS.windowMinutes),
  stormAccounts: z.int().min(2).max(10_000).default(AUTH_THROTTLE_DEFAULTS.stormAccounts),
});

const HTTP_DEFAULTS = {
  maxConnections: 256,
  maxConnectionsPerAddress: 64,
  headersTimeoutSeconds: 10,
  requestTimeoutSeconds: 30,
};

export const configSchema = z
  .strictObject({
    site: z
      .strictObject({
        name: z.string().min(1).default("PSCS"),
        /** IANA zone in which times typed without an offset are read and times are echoed back. */
        timezone: z
          .string()
          .refine(isTimeZone, "expected an IANA time zone such as 'America/New_York' or 'UTC'")
          .default("UTC"),
      })
      .default({ name: "PSCS", timezone: "UTC" }),
    http: z
      .strictObject({
        host: z.string().min(1).default("127.0.0.1"),
        port: port.default(8080),
        tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
        /**
         * Open sockets pscsd accepts; Node drops any beyond. 256 leaves most of a 1024 descriptor
         * limit to segment files, the catalog and the recorders' ffmpegs, and is far more than a
         * site's browsers and playbacks hold at once.
         */
        maxConnections: z.int().min(2).max(100_000).default(HTTP_DEFAULTS.maxConnections),
        /**
         * Open sockets one client address may hold, so one client cannot take every slot. Behind a
         * reverse proxy every client is the proxy's address: raise it to maxConnections there.
         */
        maxConnectionsPerAddress: z.int().min(1).max(100_000).default(HTTP_DEFAULTS.maxConnectionsPerAddress),
        /** A client has this long from connecting (or its previous response) to send all headers. */
        headersTimeoutSeconds: z.number().min(0.1).max(300).default(HTTP_DEFAULTS.headersTimeoutSeconds),
        /**
         * A client has this long to send a whole request, body included (a 15 MB hold form scan takes
         * well under a second on a LAN). Responses are not bounded by it: playbacks stream on.
         */
        requestTimeoutSeconds: z.number().min(0.1).max(3600).default(HTTP_DEFAULTS.requestTimeoutSeconds),
      })
      .refine((h) => h.headersTimeoutSeconds <= h.requestTimeoutSeconds, {
        message: "headersTimeoutSeconds must be at most requestTimeoutSeconds",
        path: ["headersTimeoutSeconds"],
      })
      .default({ host: "127.0.0.1", port: 8080, ...HTTP_DEFAULTS }),
    storage: z.strictObject({
      recordings: z.string().min(1),
      evidence: z.string().min(1),
      catalog: z.string().min(1),
      /** Where export packages are written (default: `exports` beside the evidence folder). */
      exports: z.string().min(1).optional(),
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
        holds: holdsSchema,
      })
      .default({
        days: 30,
        purgeSchedule: "0 * * * *",
        onDiskPressure: "purge_oldest",
        purgeBatchSize: 2_000,
        holds: HOLD_LIMIT_DEFAULTS,
      }),
    playback: z
      .strictObject({
        /** Playbacks one user may have streaming at once (each is an ffmpeg); more are refused with 429. */
        maxPerUser: z.int().min(1).max(100).default(3),
        /**
         * A playback whose viewer has read nothing for this long is stopped (its ffmpeg killed); a
         * package or segment download whose client has read nothing for this long is cut off.
         */
        stalledSeconds: z.number().min(1).max(3600).default(30),
      })
      .default({ maxPerUser: 3, stalledSeconds: 30 }),
    live: z
      .strictObject({
        /** Live sessions one person may have open at once (a 16-tile wall and a spare screen). */
        maxPerUser: z.int().min(1).max(64).default(20),
        /**
         * Unsent bytes a live socket may hold before pscsd stops feeding it (the viewer then resumes at
         * the next key frame): what one slow viewer can cost in memory.
         */
        sendBufferKiB: z.int().min(16).max(16_384).default(512),
        /** A live viewer whose socket has taken nothing for this long, while full, is closed as stalled. */
        stalledSeconds: z.number().min(1).max(3600).default(15),
        /**
         * How often a live viewer's sign-in is re-checked (ended, or no longer holding video.live: its
         * sessions end, either transport); the timer runs only while someone watches (pscsd's idle
         * wake-ups budget).
         */
        sessionCheckSeconds: z.number().min(1).max(3600).default(30),
        /**
         * WebRTC live view. pscsd offers one ICE host candidate, on `host` (default: http.host; 0.0.0.0
         * or :: gathers on every interface), from a UDP port in `portMin`–`portMax` (default: any the
         * system gives). No STUN or TURN: a client behind NAT needs a TURN server (not yet offered).
         */
        webrtc: z
          .strictObject({
            host: z.union([z.ipv4(), z.ipv6()]).optional(),
            portMin: z.int().min(1024).max(65_535).optional(),
            portMax: z.int().min(1024).max(65_535).optional(),
          })
          .refine((w) => (w.portMin === undefined) === (w.portMax === undefined), {
            path: ["portMax"],
            message: "portMin and portMax are given together",
          })
          .refine((w) => w.portMin === undefined || w.portMax === undefined || w.portMax > w.portMin, {
            path: ["portMax"],
            message: "portMax must be above portMin",
          })
          .default({}),
      })
      .default({
        maxPerUser: 20,
        sendBufferKiB: 512,
        stalledSeconds: 15,
        sessionCheckSeconds: 30,
        webrtc: {},
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
        /**
         * How far a camera's clock may be from this server's before health is degraded, an alert
         * raised and the excursion audited (burned-in times stop matching the recording). At least
         * 1 s: a sample is only known to ±(500 ms + rtt/2).
         */
        clockOffsetLimitSeconds: z.number().min(1).max(86_400).default(2),
      })
      .default({
        heartbeatSeconds: 30,
        streamingHeartbeatSeconds: 300,
        requestTimeoutSeconds: 10,
        clockOffsetLimitSeconds: 2,
      }),
    ptz: z
      .strictObject({
        /** A PTZ operator lock lapses after this long without a command or keep-alive. */
        leaseSeconds: z.number().min(5).max(3600).default(30),
        /** A continuous move is stopped by pscsd when its client's keep-alives lapse this long. */
        deadmanMs: z.int().min(200).max(10_000).default(1_000),
        /** How often a client sends keep-alives during a continuous move (told to it with control). */
        keepAliveMs: z.int().min(100).max(5_000).default(500),
        /** Camera calls per second per camera for a continuous move's coalesced updates. */
        cameraCallsPerSecond: z.number().min(1).max(50).default(5),
        /** PTZ commands per second per person (sustained; bursts of twice as many). */
        commandsPerSecond: z.number().min(1).max(100).default(5),
        /**
         * How often a continuous move's position is read (GetStatus) on a camera with privacy zones:
         * it is stopped this far, and twice the call's time, ahead of a zone's edge (× 2 margin).
         */
        zoneWatchMs: z.int().min(20).max(1_000).default(100),
      })
      // A client keeping to keepAliveMs must never trip the dead-man.
      .refine((p) => p.keepAliveMs < p.deadmanMs, {
        path: ["keepAliveMs"],
        message: "must be shorter than deadmanMs",
      })
      .default({
        leaseSeconds: 30,
        deadmanMs: 1_000,
        keepAliveMs: 500,
        cameraCallsPerSecond: 5,
        commandsPerSecond: 5,
        zoneWatchMs: 100,
      }),
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
        throttle: authThrottleSchema.default(AUTH_THROTTLE_DEFAULTS),
      })
      .default({
        sessionIdleMinutes: 30,
        sessionMaxHours: 12,
        lockoutAttempts: 5,
        lockoutMinutes: 15,
        scryptLogN: 16,
        throttle: AUTH_THROTTLE_DEFAULTS,
      }),
    health: z
      .strictObject({
        /** Free space under which storage is reported as low (alert), in GiB. */
        storageFloorGiB: z.number().min(0).default(10),
      })
      .default({ storageFloorGiB: 10 }),
    audit: z
      .strictObject({
        /** How often pscsd walks the entries added since its last walk (all of them after another process wrote). */
        verifySeconds: z.number().min(1).max(3600).default(60),
        /** How often pscsd signs the chain head (also at start and stop). */
        checkpointSeconds: z.number().min(1).max(86_400).default(300),
        /**
         * The Ed25519 key that signs checkpoints (created at first start, 0600; `<key>.pub` beside it).
         * Default: beside this config file. Keep it out of the catalog's directory, whose copies travel.
         */
        checkpointKey: z.string().min(1).optional(),
      })
      .default({ verifySeconds: 60, checkpointSeconds: 300 }),
    exports: z
      .strictObject({
        /**
         * The Ed25519 key that signs export packages (created at first start, 0600; `<key>.pub`
         * beside it). Default: beside this config file. Refused inside the footage, evidence or
         * exports trees: a copy of those must not carry the key that vouches for them.
         */
        signingKey: z.string().min(1).optional(),
      })
      .default({}),
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
