// Audit chain verification: `pscs audit verify` over N entries (default 100,000), against a bare
// baseline in the same run: the same rows read with one plain SELECT and one SHA-256 each (the least
// any chain check must do). Prints the ratio and the CLI's wall time (process start included).
// Options: --entries 100000 --runs 5

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AuditLog } from "../../dist/src/audit/log.js";
import { openCatalog } from "../../dist/src/catalog/catalog.js";
import { SqliteDirectory } from "../../dist/src/catalog/directory/sqlite.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: { entries: { type: "string", default: "100000" }, runs: { type: "string", default: "5" } },
});
const N = Number(values.entries);
const RUNS = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), "pscs-bench-audit-"));
const catalog = join(dir, "catalog.db");
const db = openCatalog(catalog);
const audit = new AuditLog(new SqliteDirectory(db), { anchorFile: `${catalog}.audit-anchor` });
const actions = ["auth.login", "user.update", "hold.create", "export.create", "ptz.move", "http.denied"];
let t = performance.now();
for (let i = 0; i < N; i += 10_000) {
  await audit.appendMany(
    Array.from({ length: Math.min(10_000, N - i) }, (_, k) => ({
      actor: `user:officer${(i + k) % 40}`,
      role: "records",
      action: actions[(i + k) % actions.length],
      target: `camera:cam${(i + k) % 64}`,
      outcome: "success",
      client: "10.1.2.3",
      details: { n: i + k, range: { from: 1_790_000_000_000 + i + k, to: 1_790_000_060_000 + i + k } },
    })),
  );
}
const appendMs = performance.now() - t;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = [];
const verify = [];
const cli = [];
const config = join(dir, "pscs.yaml");
writeFileSync(
  config,
  `storage: {recordings: rec, evidence: ev, catalog: catalog.db}\ncameras: [{id: c1, name: C1, onvif: {host: 127.0.0.1, user: u, password: p}}]\n`,
);
mkdirSync(join(dir, "rec"), { recursive: true });
for (let r = 0; r < RUNS; r++) {
  t = performance.now();
  let h = "";
  for (const row of db.prepare("SELECT * FROM audit_log ORDER BY seq").iterate()) {
    h = createHash("sha256").update(row.prev_hash).update(row.details).digest("hex");
  }
  bare.push(performance.now() - t);
  if (!h) throw new Error("no rows");
  t = performance.now();
  const res = await audit.verify();
  verify.push(performance.now() - t);
  if (!res.ok || res.entries !== N) throw new Error(`verify failed: ${JSON.stringify(res)}`);
  t = performance.now();
  const p = spawnSync(
    process.execPath,
    [join(root, "dist/src/bin/pscs.js"), "audit", "verify", "-c", config],
    { encoding: "utf8" },
  );
  cli.push(performance.now() - t);
  if (p.status !== 0) throw new Error(`pscs audit verify: ${p.stderr}`);
}
db.close();
const result = {
  entries: N,
  runs: RUNS,
  appendMs: Math.round(appendMs),
  bareReadAndHashMs: Math.round(median(bare)),
  verifyMs: Math.round(median(verify)),
  cliWallMs: Math.round(median(cli)),
  verifyVsBare: +(median(verify) / median(bare)).toFixed(2),
  goalMs: 5000,
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/audit.json"), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `audit chain, ${N} entries (median of ${RUNS}):\n` +
    `  bare SELECT + SHA-256 per row   ${result.bareReadAndHashMs} ms\n` +
    `  AuditLog.verify()               ${result.verifyMs} ms  (${result.verifyVsBare}x bare)\n` +
    `  pscs audit verify (whole CLI)   ${result.cliWallMs} ms  (goal < ${result.goalMs} ms)\n`,
);
rmSync(dir, { recursive: true, force: true });
