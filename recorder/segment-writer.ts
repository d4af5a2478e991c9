import { mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fsyncPath, syncSizeHash } from "../src/storage/durable.js";

/**
 * Makes a closed segment durable and moves it into the dated tree.
 * Invariant (the write protocol): file fsynced → hashed → renamed → destination and source
 * directories fsynced, all before the caller marks its row complete; a crash at any step leaves
 * either a 'recording' row with its file in .incoming, or a finished file its row does not yet name,
 * both of which reconciliation resolves from the disk.
 */

export class SegmentWriteError extends Error {
  constructor(
    readonly path: string,
    readonly step: string,
    cause: unknown,
  ) {
    super(`segment ${path}: ${step} failed: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
      cause,
    });
    this.name = "SegmentWriteError";
  }
}

/** Moves `root/from` to `root/to`; returns its size and hash. Directories below `root` are created. */
export async function finishSegment(
  root: string,
  from: string,
  to: string,
): Promise<{ bytes: number; sha256: string }> {
  const src = join(root, from);
  const dst = join(root, to);
  const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw new SegmentWriteError(from, name, e);
    }
  };
  const { bytes, sha256 } = await step("fsync and hash", () => syncSizeHash(src));
  const created = await step("mkdir", () => mkdir(dirname(dst), { recursive: true }));
  await step("rename", () => rename(src, dst));
  // The new name, any directories made for it, and the old name's removal must all reach the disk.
  const dirs = new Set([dirname(dst), dirname(src)]);
  if (created)
    for (let d = dirname(dst); d.length >= created.length && d !== dirname(d); d = dirname(d))
      dirs.add(dirname(d));
  for (const d of dirs) await step("fsync directory", () => fsyncPath(d));
  return { bytes, sha256 };
}
