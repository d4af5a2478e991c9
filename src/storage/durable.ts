import { createHash } from "node:crypto";
import { type FileHandle, open, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";

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
 * Hashes read 1 MiB at a time, one hash at a time, all through one buffer. Each read is a trip to
 * libuv's thread pool and back: 256 KiB reads cost 35% more CPU per segment than 1 MiB ones
 * (measured: 5.1 vs 3.8 ms for a 3.8 MB segment). One shared buffer, because every camera closes a
 * segment at the same minute boundary: a buffer per hash (or per chunk, as a read stream
 * allocates) left pscsd's RSS tens of megabytes higher, which glibc does not give back.
 */
const HASH_CHUNK = 1024 * 1024;
let hashBuf: Buffer | undefined;
let hashing: Promise<unknown> = Promise.resolve();

function oneHashAtATime<T>(f: (buf: Buffer) => Promise<T>): Promise<T> {
  hashBuf ??= Buffer.allocUnsafe(HASH_CHUNK);
  const buf = hashBuf;
  const turn = hashing.then(
    () => f(buf),
    () => f(buf),
  );
  // The next hash waits for this one to end, however it ends; this one's caller gets its result.
  hashing = turn.then(
    () => undefined,
    () => undefined,
  );
  return turn;
}

async function hashOpen(fh: FileHandle, buf: Buffer): Promise<string> {
  return (await hashesOpen(fh, buf, false)).sha256;
}

/** SHA-256, and CRC-32 when asked, in one read of the file. */
async function hashesOpen(
  fh: FileHandle,
  buf: Buffer,
  withCrc: boolean,
): Promise<{ sha256: string; crc32?: number }> {
  const hash = createHash("sha256");
  let crc = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    hash.update(chunk);
    if (withCrc) crc = crc32(chunk, crc);
  }
  return withCrc ? { sha256: hash.digest("hex"), crc32: crc } : { sha256: hash.digest("hex") };
}

export function sha256File(path: string): Promise<string> {
  return oneHashAtATime(async (buf) => {
    const fh = await open(path, "r");
    try {
      return await hashOpen(fh, buf);
    } finally {
      await fh.close();
    }
  });
}

/**
 * fsync, then size and SHA-256, of a finished file through one open: the write protocol's first
 * steps, in its order (the hash is of bytes already on the disk).
 */
export function syncSizeHash(path: string): Promise<{ bytes: number; sha256: string }> {
  return syncSizeHashes(path, false);
}

/**
 * syncSizeHash and the file's CRC-32 from the same read: an export package's files, whose zip then
 * carries each CRC-32 without reading the file an extra time (CRC-32 costs a third of SHA-256).
 */
export function syncSizeHashCrc(path: string): Promise<{ bytes: number; sha256: string; crc32: number }> {
  return syncSizeHashes(path, true) as Promise<{ bytes: number; sha256: string; crc32: number }>;
}

function syncSizeHashes(path: string, withCrc: boolean) {
  return oneHashAtATime(async (buf) => {
    const fh = await open(path, "r");
    try {
      await fh.sync();
      const { size } = await fh.stat();
      return { bytes: size, ...(await hashesOpen(fh, buf, withCrc)) };
    } finally {
      await fh.close();
    }
  });
}

let writes = 0;

/**
 * Writes `path` whole or not at all: temporary file, fsync, rename, fsync the directory. Each call
 * has its own temporary file, so writes of one path at once (the same form scan sent twice) each
 * land whole, the last rename winning.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++writes}`;
  await writeFile(tmp, data, { flag: "w" });
  await fsyncPath(tmp);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}
