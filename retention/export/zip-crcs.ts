import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ZipSource } from "../../src/exports/zip.js";
import { writeFileAtomic } from "../../src/storage/durable.js";

/**
 * Each package file's CRC-32, computed by the producer in the read that hashed the file for the
 * manifest, kept beside the folder (`export-<id>.crc32.json`; inside it would be a file the manifest
 * does not list). With it the download's zip carries every CRC-32 in its local headers and streams
 * the files as plain copies, instead of computing CRC-32 on every download (a quarter of the
 * download's speed).
 * Invariant: a CRC-32 is handed to the zip only for a file whose size, modification time and inode
 * are still what they were when it was computed; any other file gets its CRC-32 computed from the
 * bytes as they stream, so the zip never states a CRC-32 of bytes other than those it sends.
 */

interface Recorded {
  size: number;
  mtimeMs: number;
  ino: number;
  crc32: number;
}

const crcFileOf = (packageDir: string): string => `${packageDir}.crc32.json`;

/** Records the CRC-32s of the finished folder `dir` (paths inside it), with each file's identity now. */
export async function recordCrcs(dir: string, crcs: ReadonlyMap<string, number>): Promise<void> {
  const files: Record<string, Recorded> = {};
  for (const [path, crc32] of crcs) {
    const st = await lstat(join(dir, path));
    files[path] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, crc32 };
  }
  await writeFileAtomic(crcFileOf(dir), `${JSON.stringify({ files })}\n`);
}

/** The sources, each with its recorded CRC-32 when the file is unchanged since; no record: as they are. */
export async function withKnownCrcs(dir: string, sources: readonly ZipSource[]): Promise<ZipSource[]> {
  let files: Record<string, Recorded | undefined>;
  try {
    files = (JSON.parse(await readFile(crcFileOf(dir), "utf8")) as { files: Record<string, Recorded> }).files;
  } catch (e) {
    // None recorded (a crash between the rename and this record) or unreadable: computed while streaming.
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return [...sources];
    throw e;
  }
  // A record of another shape is no record: every CRC-32 is then computed from the bytes sent.
  if (typeof files !== "object" || files === null || Array.isArray(files)) return [...sources];
  const out: ZipSource[] = [];
  for (const s of sources) {
    const r = Object.hasOwn(files, s.path) ? files[s.path] : undefined;
    const st = r && (await lstat(s.file));
    const same =
      r && st && st.size === r.size && st.size === s.size && st.mtimeMs === r.mtimeMs && st.ino === r.ino;
    const crc = r?.crc32;
    const valid = typeof crc === "number" && Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff;
    out.push(same && valid ? { ...s, crc32: crc } : s);
  }
  return out;
}
