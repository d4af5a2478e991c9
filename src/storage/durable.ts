import { createHash } from "node:crypto";
import { open, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * The file operations that make a change survive power loss: a file's bytes and a directory's
 * entries reach the disk only when fsynced. Shared by the recorder's and the retention's protocols.
 */

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * One buffer per hash, reused for every read: with every camera closing a segment at the same
 * minute boundary, a fresh buffer per chunk (as a read stream allocates) left pscsd's RSS tens of
 * megabytes higher, which glibc does not give back.
 */
const HASH_CHUNK = 256 * 1024;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

/** Writes `path` whole or not at all: temporary file, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { flag: "w" });
  await fsyncPath(tmp);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}
