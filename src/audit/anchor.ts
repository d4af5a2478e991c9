import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { type Checkpoint, isCheckpoint } from "./checkpoint.js";
import type { ChainPosition } from "./verify.js";

/**
 * The anchor file beside the catalog: a copy of the chain head (so deleting the newest rows is
 * noticed) and the newest signed checkpoint pscsd wrote (so rewriting them is, unless the anchor is
 * rolled back too, which the logged checkpoints catch).
 * Invariant: the head and the checkpoint only ever move forward, and the file is 0600.
 */

export interface Anchor extends ChainPosition {
  checkpoint?: Checkpoint;
}

/** The audit log's anchor file sits next to the catalog it vouches for (none for an in-memory one). */
export function auditAnchorFile(catalog: string): string | undefined {
  return catalog === ":memory:" ? undefined : `${catalog}.audit-anchor`;
}

export class AuditAnchorError extends Error {
  constructor(readonly file: string) {
    super(`audit anchor ${file} is unreadable (expected {"seq":N,"hash":"…"}): it was altered`);
    this.name = "AuditAnchorError";
  }
}

export class AnchorFile {
  constructor(readonly file: string) {}

  read(): Anchor | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const a = JSON.parse(text) as Partial<Anchor>;
      if (
        Number.isInteger(a.seq) &&
        typeof a.hash === "string" &&
        (a.checkpoint === undefined || isCheckpoint(a.checkpoint))
      )
        return a as Anchor;
    } catch {
      // falls through to the typed error: a garbled anchor is itself evidence of tampering
    }
    throw new AuditAnchorError(this.file);
  }

  /**
   * Monotonic: another process may have anchored a newer head meanwhile; never move it back. A crash
   * between commit and this write leaves the anchor one entry behind, which verify accepts.
   */
  writeHead(head: ChainPosition): void {
    const current = this.current();
    if (current === null || (current && current.seq >= head.seq)) return;
    this.write({ ...current, seq: head.seq, hash: head.hash });
  }

  /**
   * Two writers (pscsd, a pscs command) may race on the file; the loser's copy may keep the previous
   * checkpoint, which is older but still true, and the log holds every one.
   */
  writeCheckpoint(c: Checkpoint): void {
    const current = this.current();
    if (current === null) return;
    if (current?.checkpoint && current.checkpoint.at > c.at) return;
    const head = current && current.seq > c.seq ? current : c;
    this.write({ seq: head.seq, hash: head.hash, checkpoint: c });
  }

  /** null: the anchor is garbled; leave it for verify to report, appends must go on. */
  private current(): Anchor | undefined | null {
    try {
      return this.read();
    } catch (e) {
      if (e instanceof AuditAnchorError) return null;
      throw e;
    }
  }

  private write(a: Anchor): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    rmSync(tmp, { force: true }); // a leftover would keep its own mode
    // mode is applied before the umask, which can only take bits away: 0600 whatever it is.
    writeFileSync(tmp, `${JSON.stringify(a)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
