import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type AuditContent, chainHash, GENESIS_HASH } from "../../src/audit/chain.js";
import { openLocalCatalog } from "./pscsd.js";

/** What an intruder with write access to a daemon dir's catalog does to its audit chain, for tests. */

export const FAST_AUDIT = { audit: { verifySeconds: 1, checkpointSeconds: 1 } };

export async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function appendEntries(configFile: string, n: number, tag: string): Promise<void> {
  const local = openLocalCatalog(configFile);
  for (let i = 0; i < n; i++)
    await local.audit.append({
      actor: `user:u${i % 3}`,
      action: "user.update",
      target: `user:${tag}${i}`,
      outcome: "success",
    });
  local.close();
}

/** An intruder's connection: the append-only guards dropped first. */
export function intruder(dir: string): Database.Database {
  const db = new Database(join(dir, "catalog.db"));
  db.exec("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;");
  return db;
}

type Row = AuditContent & { prev_hash: string; hash: string };

/** Recomputes prev_hash and hash of every row from `fromSeq` on, so the chain is consistent again. */
export function rehash(db: Database.Database, fromSeq: number): { seq: number; hash: string } {
  const rows = db.prepare("SELECT * FROM audit_log ORDER BY seq").all() as Row[];
  let prev = GENESIS_HASH;
  const set = db.prepare("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?");
  for (const r of rows) {
    if (r.seq >= fromSeq) {
      const hash = chainHash(prev, r);
      set.run(prev, hash, r.seq);
      prev = hash;
    } else prev = r.hash;
  }
  return { seq: rows.at(-1)?.seq ?? 0, hash: prev };
}

export function writeAnchor(dir: string, a: object): void {
  writeFileSync(join(dir, "catalog.db.audit-anchor"), `${JSON.stringify(a)}\n`);
}
