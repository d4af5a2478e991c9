import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
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

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
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
