import { createReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { packagePathProblem } from "./package-path.js";
import {
  CENTRAL_LEN,
  END_LEN,
  END64_LEN,
  EXTRA_ZIP64,
  FLAG_DESCRIPTOR,
  FLAG_ENCRYPTED,
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
 * Reads a package zip for verification, trusting nothing in it: the zip may come from anyone. The
 * central directory (ZIP64 too) is the index; every entry's local header must agree with it, and no
 * two entries' bytes may overlap. Only stored entries under one top folder, with names a recipient's
 * unzip would place inside that folder, are readable; every other entry is named in `problems` with
 * why, and left out of `entries`. A damaged archive as a whole (no end record, a central directory
 * that does not add up) is a ZipFormatError.
 */

export interface ZipEntry {
  /** The name as stored: `top/path`. */
  name: string;
  /** Below the top folder. */
  path: string;
  size: number;
  crc32: number;
  /** Where its bytes start in the archive. */
  dataOffset: number;
}

export interface ZipProblem {
  /** The entry's name as stored (decoded as UTF-8 where it decodes). */
  name: string;
  problem: string;
}

export interface ZipArchive {
  file: string;
  /** The single top folder, or null when the archive has no entries. */
  top: string | null;
  /** The sound file entries, by path. */
  entries: ReadonlyMap<string, ZipEntry>;
  problems: readonly ZipProblem[];
  /** The entry's bytes; the stream fails with a ZipFormatError at its end if they do not match its CRC-32. */
  read(entry: ZipEntry): Readable;
}

export class ZipFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZipFormatError";
  }
}

/** Larger central directories than this are refused: a package holds a few dozen files. */
const MAX_CENTRAL = 16 * 1024 * 1024;
const MAX_COMMENT = 0xffff;

interface Central {
  name: string;
  /** The name is neither UTF-8 (flag bit 11) nor ASCII: `name` is its bytes as Latin-1, for the report. */
  undecodable: boolean;
  nameBytes: Buffer;
  flags: number;
  method: number;
  crc32: number;
  compressed: number;
  size: number;
  offset: number;
}

export async function openZip(file: string): Promise<ZipArchive> {
  const fh = await open(file, "r");
  try {
    const { size } = await fh.stat();
    const end = await findEnd(fh, size);
    const centrals = await readCentral(fh, end);
    return await checkEntries(fh, file, centrals, end.centralOffset);
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, position);
  if (bytesRead !== length)
    throw new ZipFormatError(`truncated: ${length} bytes expected at offset ${position}, found ${bytesRead}`);
  return b;
}

function u64(b: Buffer, at: number, what: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`${what} ${v} is out of range`);
  return Number(v);
}

interface End {
  count: number;
  centralOffset: number;
  centralSize: number;
}

/** The end of central directory record (the last one whose comment runs to the end), and ZIP64's. */
async function findEnd(fh: FileHandle, size: number): Promise<End> {
  if (size < END_LEN) throw new ZipFormatError("not a zip file (too short for an end record)");
  const tailLen = Math.min(size, END_LEN + MAX_COMMENT);
  const tail = await readAt(fh, size - tailLen, tailLen);
  let at = -1;
  for (let i = tailLen - END_LEN; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_END && i + END_LEN + tail.readUInt16LE(i + 20) === tailLen) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipFormatError("not a zip file (no end of central directory record)");
  const endPos = size - tailLen + at;
  const e = tail.subarray(at, at + END_LEN);
  let end: End = {
    count: e.readUInt16LE(10),
    centralSize: e.readUInt32LE(12),
    centralOffset: e.readUInt32LE(16),
  };
  let disks = [e.readUInt16LE(4), e.readUInt16LE(6)];
  let centralEnd = endPos;
  const locatorPos = endPos - LOCATOR64_LEN;
  const hasLocator = locatorPos >= 0 && (await readAt(fh, locatorPos, 4)).readUInt32LE(0) === SIG_LOCATOR64;
  if (hasLocator) {
    const l = await readAt(fh, locatorPos, LOCATOR64_LEN);
    const end64Pos = u64(l, 8, "ZIP64 end record offset");
    if (l.readUInt32LE(4) !== 0 || l.readUInt32LE(16) !== 1)
      throw new ZipFormatError("a multi-disk archive (split zips are not packages)");
    if (end64Pos + END64_LEN > locatorPos) throw new ZipFormatError("ZIP64 end record overlaps its locator");
    const r = await readAt(fh, end64Pos, END64_LEN);
    if (r.readUInt32LE(0) !== SIG_END64)
      throw new ZipFormatError("ZIP64 locator points at no ZIP64 end record");
    if (end64Pos + 12 + u64(r, 4, "ZIP64 end record size") !== locatorPos)
      throw new ZipFormatError("ZIP64 end record does not end at its locator");
    const count = u64(r, 32, "entry count");
    if (u64(r, 24, "entry count on this disk") !== count)
      throw new ZipFormatError("a multi-disk archive (split zips are not packages)");
    disks = [r.readUInt32LE(16), r.readUInt32LE(20)];
    end = { count, centralSize: u64(r, 40, "central directory size"), centralOffset: u64(r, 48, "offset") };
    centralEnd = end64Pos;
  } else if (
    e.readUInt16LE(10) === MARK16 ||
    e.readUInt32LE(12) === MARK32 ||
    e.readUInt32LE(16) === MARK32
  ) {
    throw new ZipFormatError("end record points to a ZIP64 record that is not there");
  } else if (e.readUInt16LE(8) !== end.count) {
    throw new ZipFormatError("a multi-disk archive (split zips are not packages)");
  }
  if (disks.some((d) => d !== 0))
    throw new ZipFormatError("a multi-disk archive (split zips are not packages)");
  if (end.centralOffset + end.centralSize !== centralEnd)
    throw new ZipFormatError(
      `central directory (offset ${end.centralOffset}, ${end.centralSize} bytes) does not end where the end record starts (${centralEnd})`,
    );
  if (end.centralSize > MAX_CENTRAL)
    throw new ZipFormatError(`central directory larger than ${MAX_CENTRAL} bytes`);
  return end;
}

async function readCentral(fh: FileHandle, end: End): Promise<Central[]> {
  const cd = await readAt(fh, end.centralOffset, end.centralSize);
  const out: Central[] = [];
  let at = 0;
  for (let i = 0; i < end.count; i++) {
    if (at + CENTRAL_LEN > cd.length || cd.readUInt32LE(at) !== SIG_CENTRAL)
      throw new ZipFormatError(`central directory entry ${i + 1} of ${end.count} is not there`);
    const nameLen = cd.readUInt16LE(at + 28);
    const extraLen = cd.readUInt16LE(at + 30);
    const commentLen = cd.readUInt16LE(at + 32);
    const next = at + CENTRAL_LEN + nameLen + extraLen + commentLen;
    if (next > cd.length) throw new ZipFormatError(`central directory entry ${i + 1} runs past its end`);
    const flags = cd.readUInt16LE(at + 8);
    const nameBytes = cd.subarray(at + CENTRAL_LEN, at + CENTRAL_LEN + nameLen);
    const decoded = decodeName(nameBytes, flags);
    const name = decoded ?? nameBytes.toString("latin1");
    const c: Central = {
      name,
      undecodable: decoded === undefined,
      nameBytes,
      flags,
      method: cd.readUInt16LE(at + 10),
      crc32: cd.readUInt32LE(at + 16),
      compressed: cd.readUInt32LE(at + 20),
      size: cd.readUInt32LE(at + 24),
      offset: cd.readUInt32LE(at + 42),
    };
    const disk = cd.readUInt16LE(at + 34);
    const z64 = zip64Extra(cd.subarray(at + CENTRAL_LEN + nameLen, at + CENTRAL_LEN + nameLen + extraLen));
    // ZIP64 extra holds, in this order, only the fields whose 32-bit (16-bit) value is the marker.
    let zi = 0;
    const wide = (v: number, what: string): number => {
      if (v !== MARK32) return v;
      if (!z64 || zi + 8 > z64.length)
        throw new ZipFormatError(`${name}: ${what} in a ZIP64 field that is not there`);
      const w = u64(z64, zi, `${name}: ${what}`);
      zi += 8;
      return w;
    };
    c.size = wide(c.size, "size");
    c.compressed = wide(c.compressed, "compressed size");
    c.offset = wide(c.offset, "offset");
    if (disk !== 0 && !(disk === MARK16 && z64 && zi + 4 <= z64.length && z64.readUInt32LE(zi) === 0))
      throw new ZipFormatError(`${name}: on another disk (split zips are not packages)`);
    out.push(c);
    at = next;
  }
  if (at !== cd.length) throw new ZipFormatError("central directory holds more than its entry count says");
  return out;
}

/** UTF-8 (flag bit 11) or plain ASCII; anything else could read as another name in another tool. */
function decodeName(b: Buffer, flags: number): string | undefined {
  if (!(flags & FLAG_UTF8) && b.some((c) => c > 0x7f)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

function zip64Extra(extra: Buffer): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const len = extra.readUInt16LE(at + 2);
    if (at + 4 + len > extra.length) throw new ZipFormatError("an extra field runs past its end");
    if (id === EXTRA_ZIP64) return extra.subarray(at + 4, at + 4 + len);
    at += 4 + len;
  }
  return undefined;
}

/** Why an entry is not a readable package file (by its central record alone), or undefined. */
function centralProblem(c: Central, top: string | null): string | undefined {
  if (c.undecodable) return "name is neither UTF-8 nor ASCII";
  if (c.flags & FLAG_ENCRYPTED) return "encrypted";
  if (c.method !== METHOD_STORED)
    return `compressed (method ${c.method}${c.method === 8 ? ", deflate" : ""}); a package zip is stored, not compressed`;
  if (c.compressed !== c.size) return `stored, yet its stored size ${c.compressed} is not its size ${c.size}`;
  const isDir = c.name.endsWith("/");
  const name = isDir ? c.name.slice(0, -1) : c.name;
  const pathProblem = packagePathProblem(name);
  if (pathProblem) return `unsafe name: ${pathProblem}`;
  if (isDir && c.size !== 0) return "a folder entry with bytes";
  const [first] = name.split("/");
  if (top !== null && first !== top) return `outside the package's one top folder '${top}/'`;
  if (!isDir && !name.includes("/")) return "a file outside any top folder (a package zip holds one folder)";
  return undefined;
}

async function checkEntries(
  fh: FileHandle,
  file: string,
  centrals: Central[],
  centralOffset: number,
): Promise<ZipArchive> {
  const problems: ZipProblem[] = [];
  // The top folder is the first sound-looking name's: a hostile first entry must not decide it.
  const named = centrals.find((c) => !c.undecodable && !packagePathProblem(c.name.replace(/\/$/, "")));
  const top = named?.name.split("/")[0] ?? null;
  const counts = new Map<string, number>();
  for (const c of centrals) {
    const key = c.name.endsWith("/") ? c.name.slice(0, -1) : c.name;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // Every entry's bytes, sound or not, take room: an overlap is checked over all of them.
  const spans: { name: string; from: number; to: number }[] = [];
  const sound: { c: Central; dataOffset: number }[] = [];
  for (const c of centrals) {
    const key = c.name.endsWith("/") ? c.name.slice(0, -1) : c.name;
    let problem: string | undefined =
      (counts.get(key) ?? 0) > 1 ? "the same name appears more than once" : centralProblem(c, top);
    const local = await localProblem(fh, c, centralOffset);
    if (typeof local === "string") problem ??= local;
    else spans.push({ name: c.name, ...local.span });
    if (problem) problems.push({ name: c.name, problem });
    else if (typeof local !== "string" && !c.name.endsWith("/"))
      sound.push({ c, dataOffset: local.dataOffset });
  }
  spans.sort((a, b) => a.from - b.from);
  const overlapping = new Set<string>();
  for (let i = 1; i < spans.length; i++) {
    const [prev, cur] = [spans[i - 1], spans[i]];
    if (prev && cur && cur.from < prev.to) {
      overlapping.add(cur.name).add(prev.name);
    }
  }
  for (const name of overlapping)
    if (!problems.some((p) => p.name === name))
      problems.push({ name, problem: "its bytes overlap another entry's (a crafted zip)" });
  const entries = new Map<string, ZipEntry>();
  for (const { c, dataOffset } of sound) {
    if (overlapping.has(c.name)) continue;
    const path = c.name.slice((top ?? "").length + 1);
    entries.set(path, { name: c.name, path, size: c.size, crc32: c.crc32, dataOffset });
  }
  return { file, top, entries, problems, read: (e) => readEntry(file, e) };
}

/** The local header checked against the central record; the bytes the entry takes, or why not. */
async function localProblem(
  fh: FileHandle,
  c: Central,
  centralOffset: number,
): Promise<string | { dataOffset: number; span: { from: number; to: number } }> {
  if (c.offset + LOCAL_LEN > centralOffset) return "its local header lies outside the entries' area";
  const h = await readAt(fh, c.offset, LOCAL_LEN);
  if (h.readUInt32LE(0) !== SIG_LOCAL) return "no local header where the central directory says";
  const nameLen = h.readUInt16LE(26);
  const extraLen = h.readUInt16LE(28);
  const dataOffset = c.offset + LOCAL_LEN + nameLen + extraLen;
  if (dataOffset > centralOffset) return "its local header runs into the central directory";
  const rest = await readAt(fh, c.offset + LOCAL_LEN, nameLen + extraLen);
  if (!rest.subarray(0, nameLen).equals(c.nameBytes)) return "its local header names another file";
  const flags = h.readUInt16LE(6);
  if (h.readUInt16LE(8) !== c.method || (flags & FLAG_DESCRIPTOR) !== (c.flags & FLAG_DESCRIPTOR))
    return "its local header disagrees with the central directory (method or flags)";
  let to = dataOffset + c.compressed;
  if (to > centralOffset) return "its bytes run into the central directory";
  if (flags & FLAG_DESCRIPTOR) {
    const d = await descriptor(fh, to, centralOffset, c);
    if (typeof d === "string") return d;
    to += d;
  } else {
    const z64 = zip64Extra(rest.subarray(nameLen));
    let size = h.readUInt32LE(22);
    let compressed = h.readUInt32LE(18);
    if (size === MARK32 || compressed === MARK32) {
      if (!z64 || z64.length < 16) return "its local header points to a ZIP64 field that is not there";
      size = u64(z64, 0, `${c.name}: size`);
      compressed = u64(z64, 8, `${c.name}: compressed size`);
    }
    if (h.readUInt32LE(14) !== c.crc32 || size !== c.size || compressed !== c.compressed)
      return "its local header disagrees with the central directory (CRC-32 or size)";
  }
  return { dataOffset, span: { from: c.offset, to } };
}

/** A data descriptor's length, once it agrees with the central record. */
async function descriptor(fh: FileHandle, at: number, limit: number, c: Central): Promise<number | string> {
  const room = Math.min(24, limit - at);
  if (room < 12) return "its data descriptor is missing";
  const d = await readAt(fh, at, room);
  const signed = d.readUInt32LE(0) === SIG_DESCRIPTOR ? 4 : 0;
  for (const wide of [false, true]) {
    const len = signed + 4 + (wide ? 16 : 8);
    if (len > room) continue;
    const crc = d.readUInt32LE(signed);
    const compressed = wide ? Number(d.readBigUInt64LE(signed + 4)) : d.readUInt32LE(signed + 4);
    const size = wide ? Number(d.readBigUInt64LE(signed + 12)) : d.readUInt32LE(signed + 8);
    if (crc === c.crc32 && compressed === c.compressed && size === c.size) return len;
  }
  return "its data descriptor disagrees with the central directory";
}

function readEntry(file: string, e: ZipEntry): Readable {
  async function* checked(): AsyncGenerator<Buffer> {
    let crc = 0;
    if (e.size > 0)
      for await (const chunk of createReadStream(file, {
        start: e.dataOffset,
        end: e.dataOffset + e.size - 1,
        highWaterMark: 1024 * 1024,
      })) {
        crc = crc32(chunk as Buffer, crc);
        yield chunk as Buffer;
      }
    if (crc !== e.crc32)
      throw new ZipFormatError(`${e.name}: its bytes do not match its CRC-32 (altered inside the zip)`);
  }
  return Readable.from(checked(), { objectMode: false });
}
