import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Writable } from "node:stream";
import { expect } from "vitest";
import { packageProducerFromConfig } from "../../retention/export/producer.js";
import { hashPassword } from "../../src/auth/password.js";
import type { Role } from "../../src/auth/roles.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import { type ConsoleServices, openConsole } from "../../src/compose/console.js";
import { type Pscsd, startPscsd } from "../../src/compose/daemon.js";
import { loadConfig } from "../../src/config/load.js";
import type { ExportRecord } from "../../src/exports/export.js";
import { ExportSigner } from "../../src/exports/signing-key.js";
import { segmentPath } from "../../src/footage/layout.js";
import { createLogger } from "../../src/log/logger.js";
import { writeDaemonConfig } from "./config.js";
import { freePort } from "./ports.js";

/** Fast scrypt for tests (the production default is 16); the format and code path are the same. */
export const TEST_AUTH = { scryptLogN: 10 };
export const PASSWORD = "Example-Passw0rd!";

/** A catalog opened beside the daemon, as the pscs CLI opens it. */
export type LocalCatalog = ConsoleServices;

export function openLocalCatalog(configFile: string): LocalCatalog {
  return openConsole(loadConfig(configFile));
}

export interface TestDaemonDir {
  dir: string;
  configFile: string;
  httpPort: number;
}

/** A config for a daemon with one optional camera that is not there (no simulator needed). */
export async function daemonDir(
  auth: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<TestDaemonDir> {
  const dir = mkdtempSync(join(tmpdir(), "pscs-api-"));
  const httpPort = await freePort();
  const deadCamera = await freePort();
  const configFile = writeDaemonConfig(dir, {
    httpPort,
    cameras: [{ id: "cam1", port: deadCamera, required: false }],
    onvif: { heartbeatSeconds: 60, requestTimeoutSeconds: 1 },
    extra: { auth: { ...TEST_AUTH, ...auth }, ...extra },
  });
  return { dir, configFile, httpPort };
}

export async function seedUsers(local: LocalCatalog, users: Record<string, Role[]>): Promise<void> {
  for (const [username, roles] of Object.entries(users)) {
    await local.auth.addUser(
      { username, displayName: username, roles, password: PASSWORD, mustChangePassword: false },
      { actor: "local:test", role: "admin", client: "cli" },
    );
  }
}

/**
 * A user written straight into the users table, past the account service's rules: for accounts the
 * admin flow refuses to make (one person holding records and commander), as an older catalog may hold.
 */
export async function insertUserRow(local: LocalCatalog, username: string, roles: Role[]): Promise<void> {
  const now = Date.now();
  const passwordHash = await hashPassword(PASSWORD, TEST_AUTH.scryptLogN);
  const made = await local.directory.tx((d) =>
    d.users.insert({
      username,
      displayName: username,
      passwordHash,
      roles,
      disabled: false,
      mustChangePassword: false,
      createdAt: now,
      createdBy: "local:test",
      passwordChangedAt: now,
    }),
  );
  if (!made) throw new Error(`user ${username} already exists`);
}

/** pscsd in this process (real HTTP, real catalog file), for tests that need many fresh daemons. */
export async function startInProcess(d: TestDaemonDir): Promise<Pscsd> {
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  return startPscsd(
    loadConfig(d.configFile),
    createLogger({ name: "pscsd", destination: quiet, level: "warn" }),
  );
}

export interface Client {
  url: string;
  cookie?: string;
  csrf?: string;
  bearer?: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
}

export function client(url: string, init: { bearer?: string } = {}): Client {
  const c: Client = {
    url,
    ...init,
    request(method, path, body, headers = {}) {
      const h: Record<string, string> = { ...headers };
      if (c.cookie) h.cookie = c.cookie;
      if (c.csrf) h["x-csrf-token"] = c.csrf;
      if (c.bearer) h.authorization = `Bearer ${c.bearer}`;
      if (body !== undefined && !h["content-type"]) h["content-type"] = "application/json";
      return fetch(new URL(path, url), {
        method,
        headers: h,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        redirect: "manual",
      });
    },
  };
  return c;
}

/** Signs in; the returned client carries the session cookie and CSRF token. */
export async function login(url: string, username: string, password = PASSWORD): Promise<Client> {
  const c = client(url);
  const res = await c.request("POST", "/api/session", { username, password });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  const cookie = /pscs_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
  c.cookie = `pscs_session=${cookie}`;
  c.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  return c;
}

/** A real 2-second H.264 MPEG-TS segment (320x180, 10 fps, 1 s GOP), made once per test file. */
export async function sampleSegment(dir: string): Promise<string> {
  const file = join(dir, "sample.ts");
  await new Promise<void>((resolve, reject) => {
    const ff = spawn("ffmpeg", [
      ...[
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=10",
        "-t",
        "2",
      ],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", "-f", "mpegts", file],
    ]);
    ff.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
  return file;
}

export const SAMPLE_START = Date.UTC(2026, 0, 1);

/** Puts `sample` into a daemon dir's recordings as cam1's segment at `startMs`, with its row. */
export function seedSegment(d: TestDaemonDir, sample: string, startMs = SAMPLE_START): void {
  const rel = segmentPath("cam1", startMs);
  mkdirSync(dirname(join(d.dir, "rec", rel)), { recursive: true });
  copyFileSync(sample, join(d.dir, "rec", rel));
  const bytes = readFileSync(sample);
  const db = openCatalog(join(d.dir, "catalog.db"));
  new Segments(db).insertRecovered({
    camera: "cam1",
    startMs,
    endMs: startMs + 2_000,
    path: rel,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    codec: "h264",
    width: 320,
    height: 180,
    fps: 10,
  });
  db.close();
}

/** A minimal signed-form scan: the holds service checks the type by these bytes. */
export const FORM_PDF = Buffer.from("%PDF-1.4\n% PSCS hold request form (test)\n%%EOF\n");

/**
 * Holds on the seeded segment, as the hold route examples expect: 1 and 2 requested, 3 active.
 * Call after seedSegment.
 */
export async function seedHolds(d: TestDaemonDir): Promise<void> {
  const local = openConsole(loadConfig(d.configFile));
  try {
    const retention = local.retention(createLogger({ name: "seed", level: "error" }));
    const by = { actor: "user:records1", role: "records", client: "test" };
    for (const n of [1, 2, 3]) {
      await retention.holds.request(
        {
          formNumber: `PSCS-H-000${n}`,
          receivedOn: "2026-01-02",
          requestedBy: "Det. A. Example",
          agency: "Norwich Police Department",
          caseNumber: `26-00012${n}`,
          legalBasis: "criminal",
          reason: "seeded for the permission matrix",
          ranges: [{ camera: "cam1", fromMs: SAMPLE_START, toMs: SAMPLE_START + 600_000 }],
          form: FORM_PDF,
        },
        by,
      );
    }
    await retention.holds.approve(3, "seeded", {
      actor: "user:commander1",
      role: "commander",
      client: "test",
    });
  } finally {
    local.close();
  }
}

/**
 * Exports 1, 2 and 3, requested by records1 on hold 3 (active), as the export route examples expect.
 * Call after seedHolds.
 */
export async function seedExports(d: TestDaemonDir): Promise<void> {
  const local = openConsole(loadConfig(d.configFile));
  try {
    const retention = local.retention(createLogger({ name: "seed", level: "error" }));
    const by = { actor: "user:records1", role: "records", client: "test" };
    for (const n of [1, 2, 3]) {
      await retention.exports.request(
        {
          basis: { type: "criminal", caseNumber: `26-00012${n}`, requestingOfficer: "Det. A. Example" },
          recipient: { name: "ADA B. Example", organisation: "State's Attorney", delivery: "download" },
          purpose: "seeded for the permission matrix",
          ranges: [{ camera: "cam1", fromMs: SAMPLE_START, toMs: SAMPLE_START + 60_000 }],
          hold: 3,
        },
        by,
      );
    }
  } finally {
    local.close();
  }
}

const SEED_RECORDS = { actor: "user:records1", role: "records", client: "test" };
const SEED_COMMANDER = { actor: "user:commander1", role: "commander", client: "test" };

/**
 * An export on hold 3 requested by records1, approved by commander1 and marked done, its package
 * made by `makePackage` in the exports root under `export-<id>` (returning its manifest's SHA-256
 * and bytes): the job runner's part, done by hand. Call after seedHolds.
 */
export async function seedDone(
  d: TestDaemonDir,
  range: { fromMs: number; toMs: number },
  makePackage: (
    e: ExportRecord,
    local: LocalCatalog,
  ) => Promise<{ dir: string; manifestSha256: string; bytes: number; at: number }>,
): Promise<ExportRecord> {
  const local = openConsole(loadConfig(d.configFile));
  try {
    const { exports } = local.retention(createLogger({ name: "seed", level: "error" }));
    const asked = await exports.request(
      {
        basis: { type: "criminal", caseNumber: "26-000124", requestingOfficer: "Det. A. Example" },
        recipient: { name: "ADA B. Example", organisation: "State's Attorney", delivery: "download" },
        purpose: "Prosecution of case 26-000124",
        ranges: [{ camera: "cam1", ...range }],
        hold: 3,
      },
      SEED_RECORDS,
    );
    const e = await exports.approve(asked.id, "seeded", SEED_COMMANDER);
    const made = await makePackage(e, local);
    const packagePath = relative(local.config.storage.exports, made.dir);
    await local.directory.tx((x) => x.exports.markProduced(e.id, { ...made, packagePath }));
    return await exports.get(e.id, SEED_RECORDS);
  } finally {
    local.close();
  }
}

/**
 * Export 4, done: a real package produced with the department's key (made here, where pscsd makes
 * it at first start) from the seeded 2 s segment, as the download and verify examples expect.
 * Call after seedExports.
 */
export function seedDoneExport(d: TestDaemonDir): Promise<ExportRecord> {
  return seedDone(d, { fromMs: SAMPLE_START, toMs: SAMPLE_START + 2_000 }, async (e, local) => {
    const { config } = local;
    const { recordings, evidence, exports } = config.storage;
    const signer = ExportSigner.open(config.exports.signingKey, [recordings, evidence, exports]);
    const producer = packageProducerFromConfig(config, local.db, signer);
    const made = await producer.produce(
      {
        exportId: e.id,
        hold: e.hold,
        basis: e.basis,
        scanFiles: {},
        recipient: e.recipient,
        purpose: e.purpose,
        ranges: e.ranges,
        requestedBy: { user: e.requestedBy, at: e.requestedAt },
        approvedBy: { user: e.decidedBy ?? "", at: e.decidedAt ?? 0 },
      },
      {},
    );
    return { ...made, at: Date.parse(made.manifest.producedBy.at) };
  });
}

/** A refusal's body, once its type is problem+json as every API refusal's is. */
export async function problemBody<T>(res: Response): Promise<T> {
  expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
  return (await res.json()) as T;
}
