import { readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_CSV_HEADER, auditCsvLine } from "../../src/audit/csv.js";
import type { Pscsd } from "../../src/compose/daemon.js";
import { csvLine } from "../../src/report/csv.js";
import { runPscs } from "../helpers/process.js";
import { client, daemonDir, openLocalCatalog, startInProcess, type TestDaemonDir } from "../helpers/pscsd.js";

// A full collection, so heap numbers are what is held rather than garbage not yet collected.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const ROWS = 50_000;
const NOTE = "x".repeat(1_000); // ~1.3 KB a CSV row, ~65 MB for the whole export

function held(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

describe("audit CSV export of a large log", () => {
  let d: TestDaemonDir;
  let daemon: Pscsd;
  let auditor: string;
  let ops: string;
  let expected: Buffer;

  beforeAll(async () => {
    d = await daemonDir();
    const local = openLocalCatalog(d.configFile);
    const by = { actor: "local:test", role: "admin", client: "cli" } as const;
    auditor = (await local.auth.createToken({ name: "auditor", role: "auditor" }, by)).secret;
    ops = (await local.auth.createToken({ name: "monitor", role: "ops" }, by)).secret;
    await local.audit.appendMany(
      Array.from({ length: ROWS }, (_, i) => ({
        // Cells a spreadsheet would run, quotes, commas, line breaks and non-ASCII text, on page edges too.
        actor: i % 7 === 0 ? `=HYPERLINK("x${i}")` : `user:zoë${i}`,
        action: "test.bulk",
        target: i % 1000 === 999 ? `a,"b"\r\nc ${i} 📷` : `cam${i % 5}`,
        outcome: "success" as const,
        client: i % 3 === 0 ? "+cli" : "127.0.0.1",
        details: { i, note: NOTE },
      })),
    );
    // The CSV the csv functions make over the same rows, as the export wrote it line by line.
    expected = Buffer.from(
      csvLine(AUDIT_CSV_HEADER) +
        (await local.audit.list({ action: "test.", limit: ROWS + 1 })).map(auditCsvLine).join(""),
    );
    local.close();
    daemon = await startInProcess(d);
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    rmSync(d.dir, { recursive: true, force: true }); // ~70 MB of catalog
  });

  /** Entries the daemon has read for exports so far (its metric). */
  const entriesRead = async (): Promise<number> => {
    const text = await (await client(daemon.url, { bearer: ops }).request("GET", "/metrics")).text();
    const n = Number(/^pscs_audit_export_entries_total (\d+)$/m.exec(text)?.[1]);
    expect(n).not.toBeNaN();
    return n;
  };

  /** Starts an export and reads only its headers: the client then stops reading. */
  const stalledExport = () =>
    new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
      const req = http.get(
        new URL("/api/audit/export?action=test.", daemon.url),
        { headers: { authorization: `Bearer ${auditor}` } },
        (res) => {
          res.pause();
          resolve({ req, res });
        },
      );
      req.once("error", reject);
    });

  const settle = async () => {
    // Paging stops once the socket buffers are full; wait until the count holds still.
    let last = -1;
    for (let n = await entriesRead(); n !== last; n = await entriesRead()) {
      last = n;
      await new Promise((r) => setTimeout(r, 300));
    }
    return last;
  };

  it("holds bounded memory for a client that stops reading, and serves other requests meanwhile", async () => {
    const before = held();
    const readBefore = await entriesRead();
    const { req, res } = await stalledExport();
    try {
      expect(res.statusCode).toBe(200);
      const read = (await settle()) - readBefore;
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThan(ROWS);
      const growth = held() - before;
      expect(growth).toBeLessThan(20 * 1024 * 1024);
      const t0 = performance.now();
      const health = await client(daemon.url).request("GET", "/healthz");
      expect(health.status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(500);
    } finally {
      req.destroy();
    }
  }, 60_000);

  it("reads no further page once the client disconnects mid-export", async () => {
    const readBefore = await entriesRead();
    const { req } = await stalledExport();
    const atStall = await settle();
    expect(atStall - readBefore).toBeLessThan(ROWS);
    req.destroy();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await entriesRead()).toBe(atStall);
  }, 60_000);

  it("writes the same bytes as the csv functions over the same rows, across pages (API and CLI), never holding the event loop long", async () => {
    // The daemon runs in this process: its longest turn of the event loop while it exports.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const res = await client(daemon.url, { bearer: auditor }).request(
      "GET",
      "/api/audit/export?action=test.",
    );
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    loop.disable();
    expect(loop.max / 1e6).toBeLessThan(500); // the whole export written in one turn holds it ~1.6 s
    expect(body.length).toBe(expected.length);
    expect(body.equals(expected)).toBe(true);

    const file = join(d.dir, "export.csv");
    const cli = await runPscs(["audit", "export", "--action", "test.", "-o", file, "-c", d.configFile]);
    expect(cli.stderr).toBe(`wrote ${ROWS} entries to ${file}\n`);
    expect(cli.code).toBe(0);
    expect(readFileSync(file).equals(expected)).toBe(true);
  }, 60_000);
});
