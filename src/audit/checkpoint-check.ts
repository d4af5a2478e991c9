import type { KeyObject } from "node:crypto";
import { fingerprintOf } from "../keys/ed25519-file.js";
import { type Checkpoint, type LoggedCheckpoint, signatureProblem } from "./checkpoint.js";
import type { ChainPosition } from "./verify.js";

/**
 * The chain against its checkpoints: each one pscsd signed says "entry N had hash H at time T", so a
 * chain without that entry, or with another hash for it, was rewritten after T, however consistent
 * its own hashes are.
 * Invariant: a checkpoint whose signature fails is reported as forged and never counts as a match.
 */

export interface CheckpointFinding {
  /** `anchor`, or `line N` of the log given. */
  source: string;
  seq?: number;
  at?: number;
  reason: string;
}

export interface CheckpointReport {
  ok: boolean;
  /** The public key's fingerprint the signatures were checked against. */
  fingerprint: string;
  /** Checkpoints with a good signature, and how many of those the chain matches. */
  signed: number;
  matched: number;
  newestMatched?: { seq: number; at: number; source: string };
  forged: CheckpointFinding[];
  /** Oldest first; the first is the first checkpoint the chain no longer matches. */
  mismatched: CheckpointFinding[];
  /** The anchor lost its checkpoint (replaced by someone without the key). */
  anchorProblem?: string;
  /** The anchor has no checkpoint and none was required (pscsd's first walk after a start). */
  anchorUnsigned?: boolean;
}

export function checkCheckpoints(
  logged: readonly LoggedCheckpoint[],
  /** The anchor file's state; undefined when there is no anchor file (an in-memory catalog). */
  anchor: { present: boolean; checkpoint?: Checkpoint | undefined; required: boolean } | undefined,
  publicKey: KeyObject,
  head: ChainPosition,
  hashAt: (seq: number) => string | undefined,
): CheckpointReport {
  const report: CheckpointReport = {
    ok: true,
    fingerprint: fingerprintOf(publicKey),
    signed: 0,
    matched: 0,
    forged: [],
    mismatched: [],
  };
  const all: { source: string; c?: Checkpoint; problem?: string }[] = logged.map((l) =>
    l.checkpoint
      ? { source: `line ${l.line}`, c: l.checkpoint }
      : { source: `line ${l.line}`, problem: l.problem },
  );
  if (anchor?.checkpoint) all.push({ source: "anchor", c: anchor.checkpoint });
  else if (anchor && head.seq > 0 && !anchor.required) report.anchorUnsigned = true;
  else if (anchor && head.seq > 0)
    report.anchorProblem = `the anchor ${anchor.present ? "carries no checkpoint" : "is missing"}, though pscsd signs one at every start: it was replaced (or pscsd has not started on this catalog yet)`;
  for (const { source, c, problem } of all) {
    if (!c) {
      report.forged.push({ source, reason: problem ?? "unreadable" });
      continue;
    }
    const bad = signatureProblem(c, publicKey);
    if (bad) {
      report.forged.push({ source, seq: c.seq, at: c.at, reason: bad });
      continue;
    }
    report.signed++;
    const mismatch = differs(c, head, hashAt);
    if (mismatch) {
      report.mismatched.push({ source, seq: c.seq, at: c.at, reason: mismatch });
      continue;
    }
    report.matched++;
    const n = report.newestMatched;
    if (!n || c.seq > n.seq || (c.seq === n.seq && c.at > n.at))
      report.newestMatched = { seq: c.seq, at: c.at, source };
  }
  report.mismatched.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || (a.at ?? 0) - (b.at ?? 0));
  report.ok = report.forged.length === 0 && report.mismatched.length === 0 && !report.anchorProblem;
  return report;
}

function differs(
  c: Checkpoint,
  head: ChainPosition,
  hashAt: (seq: number) => string | undefined,
): string | undefined {
  if (c.seq > head.seq)
    return `the chain ends at entry ${head.seq}, before this checkpoint's entry ${c.seq} (newest entries deleted)`;
  const hash = c.seq === 0 ? c.hash : hashAt(c.seq);
  if (hash === undefined) return `entry ${c.seq} is missing`;
  if (hash !== c.hash)
    return `entry ${c.seq} has hash ${hash.slice(0, 16)}…, the checkpoint signed ${c.hash.slice(0, 16)}… (rewritten)`;
  return undefined;
}
