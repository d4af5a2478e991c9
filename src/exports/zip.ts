import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { packageFolder } from "./package-folder.js";
import { packagePathProblem } from "./package-path.js";
import {
  CENTRAL_LEN,
  END_LEN,
  END64_LEN,
  EXTRA_ZIP64,
  FLAG_DESCRIPTOR,
  FLAG_UTF8,
  LOCAL_LEN,
  LOCATOR64_LEN,
  MARK16,
  MARK32,
  METHOD_STORED,
  SIG_CENTRAL,
  SIG_DESCRIPTOR,
  SIG_END,
  SIG_END64,
  SIG_LOCAL,
  SIG_LOCATOR64,
} from "./zip-records.js";

/**
 * The package folder as a stored (not deflated) zip under one top directory, streamed: the clips
 * are already compressed video, and a stored entry is the file's bytes, so a recipient's hash of
 * the unpacked file is the hash of the bytes sent.
 *
 * The archive's length is known before the first byte (the download sends Content-Length): every
 * record's size follows from the names and file sizes alone. An entry whose CRC-32 the caller does
 * not know gets it computed while its bytes stream and written in a data descriptor after them
 * (bit 3), rather than in a pass over every file before the first byte: at 3.6 GB/s CRC-32 and a
 * disk read, that pre-pass is 0.2 s per 512 MB from the page cache and the whole export's read time
 * from a cold disk, spent before the download starts. A CRC-32 the caller gives is its word for the
 * file's bytes (the export's are computed as the producer hashes them, and given only while the
 * file is unchanged since: retention/export/zip-crcs.ts): the entry is then a plain copy, not
 * recomputed, which is what lets a download keep pace with serving the file itself (CRC-32 in the
 * stream cost a quarter of that speed, measured). A size that differs from the plan still fails the
 * stream; a recipient's unzip checks every CRC-32, and `pscs verify` every SHA-256.
 *
 * Deterministic: entries sorted by path, one fixed DOS time, no per-run fields; the same folder and
 * time make the same bytes. ZIP64 records are used for an entry whose size or offset does not fit
 * 32 bits (a long multi-camera export passes 4 GiB), and for the end records when the central
 * directory does not; `zip64: true` forces them everywhere (to test the layout without 4 GiB).
 */

export interface ZipSource {
  /** Path inside the package (below the top directory), `/`-separated. */
  path: string;
  /** Absolute path of the file to read. */
  file: string;
  size: number;
  /** When known (computed by the producer), trusted as the bytes' CRC-32; otherwise computed while streaming. */
  crc32?: number;
}

export interface ZipOptions {
  /** The one top directory every entry sits under, e.g. `export-12`. */
  top: string;
  /** The entries' modification time (DOS time, read as UTC): e.g. the manifest's producedBy.at. */
  time: Date;
  /** Write ZIP64 records for every entry and the end, whatever the sizes. */
  zip64?: boolean;
}

interface PlannedEntry {
  source: ZipSource;
  name: Buffer;
  offset: number;
  zip64: boolean;
  descriptor: boolean;
}

export interface ZipPlan {
  /** The archive's exact length in bytes. */
  readonly bytes: number;
  /** Entry names as written (`top/path`), in archive order. */
  readonly names: readonly string[];
  /** The archive's bytes; each call reads the files anew. */
  stream(o?: { chunkBytes?: number }): Readable;
}

export class ZipWriteError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "ZipWriteError";
  }
}

const MADE_BY = (3 << 8) | 45; // Unix, spec 4.5 (ZIP64): external attributes hold a Unix mode
const NEEDED = 20;
const NEEDED64 = 45;
const FILE_MODE = (0o100644 << 16) >>> 0;
const LOCAL_EXTRA64 = 4 + 16;
const CENTRAL_EXTRA64 = 4 + 24;
const DEFAULT_CHUNK = 1024 * 1024;

/** The plan of the archive: every offset and the total length, before reading a byte of data. */
export function planZip(sources: readonly ZipSource[], o: ZipOptions): ZipPlan {
  const topProblem = packagePathProblem(o.top);
  if (topProblem || o.top.includes("/")) throw new ZipWriteError(o.top, topProblem ?? "not one segment");
  const sorted = [...sources].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entries: PlannedEntry[] = [];
  let offset = 0;
  for (const [i, source] of sorted.entries()) {
    const problem = packagePathProblem(source.path);
    if (problem) throw new ZipWriteError(source.path, problem);
    if (i > 0 && sorted[i - 1]?.path === source.path) throw new ZipWriteError(source.path, "listed twice");
    if (!Number.isSafeInteger(source.size) || source.size < 0)
      throw new ZipWriteError(source.path, `size ${source.size} is not a byte count`);
    const name = Buffer.from(`${o.top}/${source.path}`, "utf8");
    if (name.length > MARK16) throw new ZipWriteError(source.path, "name longer than 65535 bytes");
    const zip64 = !!o.zip64 || source.size >= MARK32 || offset >= MARK32;
    const descriptor = source.crc32 === undefined;
    entries.push({ source, name, offset, zip64, descriptor });
    offset += localLength(name, zip64) + source.size + (descriptor ? descriptorLength(zip64) : 0);
  }
  const centralOffset = offset;
  const centralSize = entries.reduce((n, e) => n + centralLength(e), 0);
  const end64 =
    !!o.zip64 ||
    entries.some((e) => e.zip64) ||
    centralOffset >= MARK32 ||
    centralSize >= MARK32 ||
    entries.length >= MARK16;
  const bytes = centralOffset + centralSize + (end64 ? END64_LEN + LOCATOR64_LEN : 0) + END_LEN;
  const dos = dosTime(o.time);
  const layout: Layout = { entries, centralOffset, centralSize, end64, forced: !!o.zip64, dos };
  return {
    bytes,
    names: entries.map((e) => e.name.toString("utf8")),
    stream: (s = {}) =>
      Readable.from(archiveBytes(layout, s.chunkBytes ?? DEFAULT_CHUNK), {
        objectMode: false,
        highWaterMark: s.chunkBytes ?? DEFAULT_CHUNK,
      }),
  };
}

/** Every file of the package folder `dir` as a source; a link or device in it is refused. */
export async function folderSources(dir: string): Promise<ZipSource[]> {
  const { files, irregular } = await packageFolder(dir);
  if (irregular[0] !== undefined) throw new ZipWriteError(irregular[0], "not a regular file or folder");
  return files;
}

interface Layout {
  entries: PlannedEntry[];
  centralOffset: number;
  centralSize: number;
  end64: boolean;
  forced: boolean;
  dos: { time: number; date: number };
}

const localLength = (name: Buffer, zip64: boolean) => LOCAL_LEN + name.length + (zip64 ? LOCAL_EXTRA64 : 0);
const descriptorLength = (zip64: boolean) => (zip64 ? 24 : 16);
const centralLength = (e: PlannedEntry) => CENTRAL_LEN + e.name.length + (e.zip64 ? CENTRAL_EXTRA64 : 0);

/** DOS date and time of `t`'s UTC fields (DOS time has no zone; UTC keeps it the same everywhere). */
function dosTime(t: Date): { time: number; date: number } {
  const year = Math.min(Math.max(t.getUTCFullYear(), 1980), 2107);
  return {
    date: ((year - 1980) << 9) | ((t.getUTCMonth() + 1) << 5) | t.getUTCDate(),
    time: (t.getUTCHours() << 11) | (t.getUTCMinutes() << 5) | (t.getUTCSeconds() >> 1),
  };
}

async function* archiveBytes(layout: Layout, chunkBytes: number): AsyncGenerator<Buffer> {
  const crcs: number[] = [];
  for (const e of layout.entries) {
    yield localHeader(e, layout);
    const crc = yield* fileBytes(e.source, chunkBytes);
    if (e.descriptor) yield dataDescriptor(e, crc);
    crcs.push(crc);
  }
  yield Buffer.concat(layout.entries.map((e, i) => centralHeader(e, crcs[i] ?? 0, layout)));
  yield endRecords(layout);
}

/** The file's bytes in chunks of their own (each is queued downstream), and their CRC-32 (the given one, or computed). */
async function* fileBytes(source: ZipSource, chunkBytes: number): AsyncGenerator<Buffer, number> {
  const fh = await open(source.file, "r");
  try {
    const { size } = await fh.stat();
    if (size !== source.size)
      throw new ZipWriteError(source.path, `is ${size} bytes, planned as ${source.size} (changed?)`);
    const known = source.crc32;
    let crc = 0;
    for (let at = 0; at < size; ) {
      const buf = Buffer.allocUnsafe(Math.min(chunkBytes, size - at));
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) throw new ZipWriteError(source.path, `ended at ${at} of ${size} bytes (changed?)`);
      const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      if (known === undefined) crc = crc32(chunk, crc);
      at += bytesRead;
      yield chunk;
    }
    return known ?? crc;
  } finally {
    await fh.close();
  }
}

function localHeader(e: PlannedEntry, layout: Layout): Buffer {
  const b = Buffer.alloc(localLength(e.name, e.zip64));
  const known = !e.descriptor;
  const size32 = e.zip64 ? MARK32 : known ? e.source.size : 0;
  b.writeUInt32LE(SIG_LOCAL, 0);
  b.writeUInt16LE(e.zip64 ? NEEDED64 : NEEDED, 4);
  b.writeUInt16LE(FLAG_UTF8 | (e.descriptor ? FLAG_DESCRIPTOR : 0), 6);
  b.writeUInt16LE(METHOD_STORED, 8);
  b.writeUInt16LE(layout.dos.time, 10);
  b.writeUInt16LE(layout.dos.date, 12);
  b.writeUInt32LE(known ? (e.source.crc32 ?? 0) : 0, 14);
  b.writeUInt32LE(size32, 18);
  b.writeUInt32LE(size32, 22);
  b.writeUInt16LE(e.name.length, 26);
  b.writeUInt16LE(e.zip64 ? LOCAL_EXTRA64 : 0, 28);
  e.name.copy(b, LOCAL_LEN);
  if (e.zip64) {
    // With a data descriptor the local sizes are zero here too (APPNOTE 4.3.9.2), stated after the data.
    const at = LOCAL_LEN + e.name.length;
    const size = BigInt(known ? e.source.size : 0);
    b.writeUInt16LE(EXTRA_ZIP64, at);
    b.writeUInt16LE(16, at + 2);
    b.writeBigUInt64LE(size, at + 4);
    b.writeBigUInt64LE(size, at + 12);
  }
  return b;
}

function dataDescriptor(e: PlannedEntry, crc: number): Buffer {
  const b = Buffer.alloc(descriptorLength(e.zip64));
  b.writeUInt32LE(SIG_DESCRIPTOR, 0);
  b.writeUInt32LE(crc, 4);
  if (e.zip64) {
    b.writeBigUInt64LE(BigInt(e.source.size), 8);
    b.writeBigUInt64LE(BigInt(e.source.size), 16);
  } else {
    b.writeUInt32LE(e.source.size, 8);
    b.writeUInt32LE(e.source.size, 12);
  }
  return b;
}

function centralHeader(e: PlannedEntry, crc: number, layout: Layout): Buffer {
  const b = Buffer.alloc(centralLength(e));
  b.writeUInt32LE(SIG_CENTRAL, 0);
  b.writeUInt16LE(MADE_BY, 4);
  b.writeUInt16LE(e.zip64 ? NEEDED64 : NEEDED, 6);
  b.writeUInt16LE(FLAG_UTF8 | (e.descriptor ? FLAG_DESCRIPTOR : 0), 8);
  b.writeUInt16LE(METHOD_STORED, 10);
  b.writeUInt16LE(layout.dos.time, 12);
  b.writeUInt16LE(layout.dos.date, 14);
  b.writeUInt32LE(crc, 16);
  b.writeUInt32LE(e.zip64 ? MARK32 : e.source.size, 20);
  b.writeUInt32LE(e.zip64 ? MARK32 : e.source.size, 24);
  b.writeUInt16LE(e.name.length, 28);
  b.writeUInt16LE(e.zip64 ? CENTRAL_EXTRA64 : 0, 30);
  // comment length, disk number start, internal attributes: 0
  b.writeUInt32LE(FILE_MODE, 38);
  b.writeUInt32LE(e.zip64 ? MARK32 : e.offset, 42);
  e.name.copy(b, CENTRAL_LEN);
  if (e.zip64) {
    const at = CENTRAL_LEN + e.name.length;
    b.writeUInt16LE(EXTRA_ZIP64, at);
    b.writeUInt16LE(24, at + 2);
    b.writeBigUInt64LE(BigInt(e.source.size), at + 4);
    b.writeBigUInt64LE(BigInt(e.source.size), at + 12);
    b.writeBigUInt64LE(BigInt(e.offset), at + 20);
  }
  return b;
}

function endRecords(layout: Layout): Buffer {
  const { entries, centralOffset, centralSize, end64, forced } = layout;
  const count = entries.length;
  const parts: Buffer[] = [];
  if (end64) {
    const r = Buffer.alloc(END64_LEN);
    r.writeUInt32LE(SIG_END64, 0);
    r.writeBigUInt64LE(BigInt(END64_LEN - 12), 4);
    r.writeUInt16LE(MADE_BY, 12);
    r.writeUInt16LE(NEEDED64, 14);
    // this disk, disk with the central directory: 0
    r.writeBigUInt64LE(BigInt(count), 24);
    r.writeBigUInt64LE(BigInt(count), 32);
    r.writeBigUInt64LE(BigInt(centralSize), 40);
    r.writeBigUInt64LE(BigInt(centralOffset), 48);
    const l = Buffer.alloc(LOCATOR64_LEN);
    l.writeUInt32LE(SIG_LOCATOR64, 0);
    l.writeBigUInt64LE(BigInt(centralOffset + centralSize), 8);
    l.writeUInt32LE(1, 16);
    parts.push(r, l);
  }
  const e = Buffer.alloc(END_LEN);
  const fits = (v: number, mark: number) => (forced || v >= mark ? mark : v);
  e.writeUInt32LE(SIG_END, 0);
  e.writeUInt16LE(fits(count, MARK16), 8);
  e.writeUInt16LE(fits(count, MARK16), 10);
  e.writeUInt32LE(fits(centralSize, MARK32), 12);
  e.writeUInt32LE(fits(centralOffset, MARK32), 16);
  parts.push(e);
  return Buffer.concat(parts);
}
