import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { startPscsd } from "../../src/compose/daemon.js";
import { loadConfig } from "../../src/config/load.js";
import type { ExportRecord } from "../../src/exports/export.js";
import { MANIFEST_FILE } from "../../src/exports/package-format.js";
import { createLogger } from "../../src/log/logger.js";
import { writeTestPackage } from "../helpers/export-package.js";
import { runPscs } from "../helpers/process.js";
import {
  type Client,
  daemonDir,
  type LocalCatalog,
  login,
  openLocalCatalog,
  PASSWORD,
  SAMPLE_START,
  sampleSegment,
  seedDone,
  seedDoneExport,
  seedHolds,
  seedSegment,
  seedUsers,
  startInProcess,
  type TestDaemonDir,
} from "../helpers/pscsd.js";

/**
 * A done export leaves the building through the real HTTP API and the CLI: a stored zip whose
 * bytes unzip and `pscs verify` accept against the fingerprint `pscs export key` prints, its
 * length announced; every download (whole, abandoned half-way, stalled) recorded with who, from
 * where, bytes and whether it was complete, and audited; no footage for ops, auditor or dispatcher;
 * no package before it is done; the server's check of the stored package audited.
 */

const run = promisify(execFile);
const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
/** The synthetic package's first clip: large enough that sockets cannot buffer it all. */
const BIG_CLIP = 160 * 1024 * 1024;

let d: TestDaemonDir;
let daemon: Pscsd;
let local: LocalCatalog;
let real: ExportRecord;
let big: ExportRecord;
let records: Client;
let commander: Client;
const logLines: { level: number; msg: string }[] = [];

type Download = { by: string; at: number; from: string; bytes: number; complete: boolean };

async function downloadsOf(id: number): Promise<Download[]> {
  const res = await records.request("GET", `/api/exports/${id}`);
  return ((await res.json()) as { downloads: Download[] }).downloads;
}

async function until<T>(f: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const details = (e: { details: string | null } | undefined) => JSON.parse(e?.details ?? "{}");

beforeAll(async () => {
  d = await daemonDir();
  local = openLocalCatalog(d.configFile);
  await seedUsers(local, {
    records1: ["records"],
    commander1: ["commander"],
    dispatcher1: ["dispatcher"],
    ops1: ["ops"],
    auditor1: ["auditor"],
  });
  seedSegment(d, await sampleSegment(d.dir));
  await seedHolds(d);
  real = await seedDoneExport(d);
  // A package of random bytes signed by a key of its own: the download reads no media.
  big = await seedDone(d, { fromMs: SAMPLE_START, toMs: SAMPLE_START + 1_000 }, async (e, l) => {
    const dir = join(l.config.storage.exports, `export-${e.id}`);
    const p = writeTestPackage(dir, { exportId: e.id, clipBytes: BIG_CLIP });
    const manifest = readFileSync(join(dir, MANIFEST_FILE));
    return {
      dir,
      manifestSha256: createHash("sha256").update(manifest).digest("hex"),
      bytes: p.manifest.files.reduce((n, f) => n + f.bytes, 0),
      at: Date.parse(p.manifest.producedBy.at),
    };
  });
  const capture = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const line of chunk.toString().split("\n").filter(Boolean))
        logLines.push(JSON.parse(line) as { level: number; msg: string });
      cb();
    },
  });
  daemon = await startPscsd(
    loadConfig(d.configFile),
    createLogger({ name: "pscsd", destination: capture, level: "info" }),
  );
  records = await login(daemon.url, "records1");
  commander = await login(daemon.url, "commander1");
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  local?.close();
});

describe("export download through the API", () => {
  it("streams a stored zip of Content-Length bytes that unzip and pscs verify accept with the key pscs export key prints", async () => {
    const res = await records.request("GET", `/api/exports/${real.id}/download`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="export-${real.id}.zip"`);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get("content-length"))).toBe(bytes.length);
    const zip = join(d.dir, "api.zip");
    writeFileSync(zip, bytes);
    const t = await run("unzip", ["-t", zip]);
    expect(t.stdout).toMatch(/No errors detected/);
    expect(t.stdout).toContain(`export-${real.id}/clips/cam1.mp4`);

    const key = await runPscs(["export", "key", "-c", d.configFile, "--json"]);
    expect(key.code, key.stderr).toBe(0);
    const { fingerprint } = JSON.parse(key.stdout) as { fingerprint: string };
    const api = (await (await records.request("GET", "/api/exports/key")).json()) as { fingerprint: string };
    expect(api.fingerprint).toBe(fingerprint);
    const v = await run(process.execPath, [PSCS, "verify", zip, "--fingerprint", fingerprint]);
    expect(v.stdout).toMatch(/verifies \(zip\)/);
    // And a key not the department's is told apart.
    const other = await run(process.execPath, [PSCS, "verify", zip, "--fingerprint", "0".repeat(64)]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((other as { code: number }).code).toBe(1);

    const [dl] = await downloadsOf(real.id);
    expect(dl).toMatchObject({ by: "user:records1", bytes: bytes.length, complete: true });
    expect(dl?.from).toMatch(/127\.0\.0\.1/);
    expect(Math.abs((dl?.at ?? 0) - Date.now())).toBeLessThan(60_000);
    const [entry] = await local.audit.list({
      order: "asc",
      action: "export.download",
      target: `export:${real.id}`,
    });
    expect(entry).toMatchObject({ actor: "user:records1", role: "records", outcome: "success" });
    expect(details(entry)).toMatchObject({
      bytes: bytes.length,
      complete: true,
      purpose: real.purpose,
      client: dl?.from,
    });
  });

  it("records a client that reads half and leaves as an incomplete download, logged as routine", async () => {
    const res = await commander.request("GET", `/api/exports/${big.id}/download`);
    const total = Number(res.headers.get("content-length"));
    expect(total).toBeGreaterThan(BIG_CLIP);
    let read = 0;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    while (read < total / 2) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`the download ended at ${read} of ${total} bytes`);
      read += chunk.value.length;
    }
    await reader.cancel(); // the connection closes with the rest unread
    const [dl] = await until(async () => {
      const list = await downloadsOf(big.id);
      return list.length ? list : undefined;
    });
    expect(dl).toMatchObject({ by: "user:commander1", complete: false });
    expect(dl?.bytes).toBeGreaterThanOrEqual(read);
    expect(dl?.bytes).toBeLessThan(total);
    const [entry] = await local.audit.list({
      order: "asc",
      action: "export.download",
      target: `export:${big.id}`,
    });
    expect(entry?.outcome).toBe("failure");
    expect(details(entry)).toMatchObject({ complete: false, bytes: dl?.bytes, of: total });
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
    expect(logLines.some((l) => l.msg === "export download ended by the client")).toBe(true);
  });

  it("holds a stalled reader to what the sockets buffer, not the package (back-pressure)", async () => {
    const url = new URL(daemon.url);
    const before = process.memoryUsage().rss;
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((r) => socket.once("connect", r));
    socket.pause(); // reads nothing
    socket.write(
      `GET /api/exports/${big.id}/download HTTP/1.1\r\nHost: ${url.host}\r\nCookie: ${records.cookie}\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const grown = process.memoryUsage().rss - before;
    socket.destroy();
    const list = await until(async () => {
      const l = await downloadsOf(big.id);
      return l.length === 2 ? l : undefined;
    });
    const stalled = list[1] as Download;
    expect(stalled.complete).toBe(false);
    // Without back-pressure the whole package would have been read into memory in that time.
    expect(stalled.bytes).toBeLessThan(48 * 1024 * 1024);
    expect(grown).toBeLessThan(96 * 1024 * 1024);
  });

  it("gives dispatcher, ops and auditor a 403 (audited), and refuses an export not done with a 409", async () => {
    for (const who of ["dispatcher1", "ops1", "auditor1"]) {
      const c = await login(daemon.url, who);
      const res = await c.request("GET", `/api/exports/${real.id}/download`);
      expect(res.status, who).toBe(403);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
      const denied = await local.audit.list({ order: "asc", action: "http.denied", actor: `user:${who}` });
      expect(denied.map((e) => e.target)).toContain("route:downloadExport");
    }
    const made = await records.request("POST", "/api/exports", {
      basis: { type: "criminal", caseNumber: "26-000125", requestingOfficer: "Det. A. Example" },
      recipient: { name: "ADA B. Example", organisation: "State's Attorney", delivery: "download" },
      purpose: "Prosecution of case 26-000125",
      ranges: [
        {
          camera: "cam1",
          from: new Date(SAMPLE_START).toISOString(),
          to: new Date(SAMPLE_START + 1_000).toISOString(),
        },
      ],
      hold: 3,
    });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: number };
    const res = await records.request("GET", `/api/exports/${id}/download`);
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/is requested: only a done export/);
    const [denied] = await local.audit.list({
      order: "asc",
      action: "export.download",
      target: `export:${id}`,
    });
    expect(denied).toMatchObject({ outcome: "denied", actor: "user:records1" });
    expect(await downloadsOf(id)).toEqual([]);
  });

  it("verifies the stored package on the server against the department's key, audited either way", async () => {
    const auditor = await login(daemon.url, "auditor1");
    const ok = await auditor.request("POST", `/api/exports/${real.id}/verify`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { ok: boolean }).ok).toBe(true);
    // The synthetic package is signed by a key of its own: not the department's.
    const bad = (await (await auditor.request("POST", `/api/exports/${big.id}/verify`)).json()) as {
      ok: boolean;
      problems: { subject: string; problem: string }[];
    };
    expect(bad.ok).toBe(false);
    expect(bad.problems).toContainEqual(
      expect.objectContaining({
        subject: "signing-key.pem",
        problem: expect.stringMatching(/not the department's key/),
      }),
    );
    const entries = await local.audit.list({ order: "asc", action: "export.verify", actor: "user:auditor1" });
    expect(entries.map((e) => [e.target, e.outcome])).toEqual(
      expect.arrayContaining([
        [`export:${real.id}`, "success"],
        [`export:${big.id}`, "failure"],
      ]),
    );
    const failed = entries.find((e) => e.target === `export:${big.id}`);
    expect(details(failed).problems).toEqual(bad.problems);
  });

  it("refuses to hand out a package whose folder no longer matches its manifest", async () => {
    const gone = join(local.config.storage.exports, `export-${big.id}`, "clips", "cam2.mp4");
    rmSync(gone);
    const res = await commander.request("GET", `/api/exports/${big.id}/download`);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/clips\/cam2\.mp4 is missing/);
    const entries = await local.audit.list({
      order: "asc",
      action: "export.download",
      target: `export:${big.id}`,
    });
    expect(entries.at(-1)).toMatchObject({ outcome: "failure", actor: "user:commander1" });
  });
});

describe("pscs export download, key, verify", () => {
  it("writes the same zip as the API as a named user (audited, client cli), and never overwrites a file", async () => {
    const out = join(d.dir, "cli.zip");
    const r = await runPscs(
      ["export", "download", String(real.id), "-o", out, "--as", "records1", "-c", d.configFile],
      `${PASSWORD}\n`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(readFileSync(out).equals(readFileSync(join(d.dir, "api.zip")))).toBe(true);
    const downloads = await downloadsOf(real.id);
    expect(downloads.at(-1)).toMatchObject({
      by: "user:records1",
      from: "cli",
      bytes: statSync(out).size,
      complete: true,
    });
    const again = await runPscs(
      ["export", "download", String(real.id), "-o", out, "--as", "records1", "-c", d.configFile],
      `${PASSWORD}\n`,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; pscs never overwrites a file/);
    expect(await downloadsOf(real.id)).toHaveLength(downloads.length);
    const auditor = await runPscs(
      [
        "export",
        "download",
        String(real.id),
        "-o",
        join(d.dir, "aud.zip"),
        "--as",
        "auditor1",
        "-c",
        d.configFile,
      ],
      `${PASSWORD}\n`,
    );
    expect(auditor.code).toBe(77);
    expect(existsSync(join(d.dir, "aud.zip"))).toBe(false);
  });

  it("prints the fingerprint in groups (and the PEM) from the config alone, and verifies on the server", async () => {
    const key = await runPscs(["export", "key", "-c", d.configFile, "--pem"]);
    expect(key.code, key.stderr).toBe(0);
    const { fingerprint, publicKeyPem } = daemon.exportProducer?.key() ?? {
      fingerprint: "",
      publicKeyPem: "",
    };
    const groups = fingerprint.match(/.{4}/g) ?? [];
    expect(key.stdout).toContain(`${groups.slice(0, 8).join(" ")}\n${groups.slice(8).join(" ")}`);
    expect(key.stdout).toContain(publicKeyPem.trim());
    // The grouped form is accepted as typed.
    const v = await run(process.execPath, [
      PSCS,
      "verify",
      join(d.dir, "api.zip"),
      "--fingerprint",
      groups.join(" "),
    ]);
    expect(v.stdout).toMatch(/verifies/);

    const ok = await runPscs(
      ["export", "verify", String(real.id), "--as", "auditor1", "-c", d.configFile],
      `${PASSWORD}\n`,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/its stored package verifies/);
    const bad = await runPscs(
      ["export", "verify", String(big.id), "--as", "auditor1", "-c", d.configFile],
      `${PASSWORD}\n`,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/does NOT verify/);
    const entries = await local.audit.list({ order: "asc", action: "export.verify", actor: "user:auditor1" });
    expect(entries.filter((e) => e.client === "cli").map((e) => e.outcome)).toEqual(["success", "failure"]);
  });
});

/** How many of the zip's entries have a data descriptor (CRC-32 computed while streaming). */
async function descriptors(zip: string): Promise<number> {
  const { stdout } = await run("zipinfo", ["-v", zip]);
  return (stdout.match(/extended local header:\s+yes/g) ?? []).length;
}

describe("the CRC-32s recorded at production", () => {
  it("make the download a plain copy, and are dropped for a file changed since: its CRC-32 is then the one of the bytes sent", async () => {
    expect(await descriptors(join(d.dir, "api.zip"))).toBe(0);
    const readme = join(local.config.storage.exports, `export-${real.id}`, "README.txt");
    const text = readFileSync(readme);
    text[0] = (text[0] ?? 0) ^ 0x20; // same size, other bytes, a new modification time
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(readme, text);
    const res = await records.request("GET", `/api/exports/${real.id}/download`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get("content-length"))).toBe(bytes.length);
    const zip = join(d.dir, "changed.zip");
    writeFileSync(zip, bytes);
    expect(await descriptors(zip)).toBe(1);
    expect((await run("unzip", ["-t", zip])).stdout).toMatch(/No errors detected/);
    const v = await run(process.execPath, [PSCS, "verify", zip]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((v as { code: number }).code).toBe(1);
    expect((v as { stderr: string }).stderr).toMatch(/README\.txt/);
  });
});

describe("exports off", () => {
  it("answers the package routes 503 when pscsd could not make its key", async () => {
    // Its folder is a file: the key can be neither read nor made.
    const notDir = join(d.dir, "not-a-folder");
    writeFileSync(notDir, "");
    const off = await daemonDir({}, { exports: { signingKey: join(notDir, "export.key") } });
    const l = openLocalCatalog(off.configFile);
    await seedUsers(l, { records1: ["records"] });
    l.close();
    const p = await startInProcess(off);
    try {
      expect(p.exportProducer).toBeUndefined();
      const c = await login(p.url, "records1");
      for (const [method, path] of [
        ["GET", "/api/exports/key"],
        ["GET", "/api/exports/1/download"],
        ["POST", "/api/exports/1/verify"],
      ] as const) {
        const res = await c.request(method, path);
        expect(res.status, path).toBe(503);
        expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
        expect(((await res.json()) as { detail: string }).detail).toMatch(/exports are off/);
      }
    } finally {
      await p.stop();
    }
  });

  it("streams a download whose CRC-32 record is garbled, its start on the record before the first byte", async () => {
    const root = local.config.storage.exports;
    writeFileSync(join(root, `export-${real.id}.crc32.json`), '{"files":null}\n');
    const res = await records.request("GET", `/api/exports/${real.id}/download`);
    expect(res.status).toBe(200);
    const zip = join(d.dir, "garbled-crc.zip");
    writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
    await run("unzip", ["-tq", zip]);
    const trail = await local.audit.list({ order: "asc", action: "export.", target: `export:${real.id}` });
    const last = trail.map((e) => e.action).slice(-2);
    expect(last).toEqual(["export.download.start", "export.download"]);
  });

  it("server verify names a folder holding another export's package, which verifies on its own", async () => {
    const root = local.config.storage.exports;
    const mine = join(root, `export-${big.id}`);
    rmSync(mine, { recursive: true });
    await run("cp", ["-r", join(root, `export-${real.id}`), mine]);
    const auditor = await login(daemon.url, "auditor1");
    const r = (await (await auditor.request("POST", `/api/exports/${big.id}/verify`)).json()) as {
      ok: boolean;
      problems: { subject: string; problem: string }[];
    };
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.subject)).toEqual(
      expect.arrayContaining([`${MANIFEST_FILE} exportId`, MANIFEST_FILE]),
    );
    const entry = (await local.audit.list({ action: "export.verify", target: `export:${big.id}` })).at(0);
    expect(entry?.outcome).toBe("failure");
  });
});
