import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { folderSources, planZip, type ZipSource } from "../../src/exports/zip.js";
import { openZip, type ZipArchive, ZipFormatError } from "../../src/exports/zip-read.js";

/**
 * The package zip: what the writer makes is read back by stock tools (Info-ZIP unzip, Python's
 * zipfile) and by the reader, byte for byte; its length is known before it streams; its ZIP64
 * records are laid out as APPNOTE says; and the reader refuses what a hostile zip could carry.
 */

const root = mkdtempSync(join(tmpdir(), "pscs-zip-"));
const TIME = new Date("2026-11-30T15:11:42.000Z");
let n = 0;

function folder(files: Record<string, Buffer | string>): string {
  const dir = join(root, `dir-${++n}`);
  for (const [p, bytes] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), bytes);
  }
  return dir;
}

const FILES = {
  "clips/cam1.mp4": randomBytes(3_000_000),
  "clips/cam2.mp4": randomBytes(70_000),
  "manifest.json": '{"format":"pscs-export/1"}\n',
  "README.txt": "read me\n",
  "empty.txt": "",
  "documents/ordre-tribunal-é.pdf": randomBytes(1000),
};

async function toBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function writeZip(sources: ZipSource[], o: { zip64?: boolean; top?: string } = {}) {
  const plan = planZip(sources, { top: o.top ?? "export-12", time: TIME, zip64: o.zip64 });
  const file = join(root, `out-${++n}.zip`);
  const bytes = await toBuffer(plan.stream({ chunkBytes: 64 * 1024 }));
  writeFileSync(file, bytes);
  return { plan, file, bytes };
}

/** The three ways an entry is written: CRC computed while streaming, given up front, ZIP64 forced. */
async function modes(dir: string) {
  const sources = await folderSources(dir);
  const known = sources.map((s) => ({ ...s, crc32: crc32(readFileSync(s.file)) }));
  return {
    descriptor: await writeZip(sources),
    known: await writeZip(known),
    zip64: await writeZip(sources, { zip64: true }),
  };
}

describe("zip writer", () => {
  it("streams exactly the planned length; unzip -t, Python's zipfile and the reader accept it and read every file back", async () => {
    const dir = folder(FILES);
    for (const [mode, z] of Object.entries(await modes(dir))) {
      expect({ mode, bytes: z.bytes.length }).toEqual({ mode, bytes: z.plan.bytes });
      expect(execFileSync("unzip", ["-t", z.file], { encoding: "utf8" }), mode).toContain(
        "No errors detected",
      );
      execFileSync("python3", ["-m", "zipfile", "-t", z.file]);
      const out = join(root, `x-${++n}`);
      execFileSync("python3", ["-m", "zipfile", "-e", z.file, out]);
      const a = await openZip(z.file);
      expect(a.problems, mode).toEqual([]);
      expect(a.top).toBe("export-12");
      expect([...a.entries.keys()].sort()).toEqual(Object.keys(FILES).sort());
      for (const [p, bytes] of Object.entries(FILES)) {
        expect(
          readFileSync(join(out, "export-12", p)).equals(Buffer.from(bytes)),
          `${mode} ${p} by python`,
        ).toBe(true);
        const entry = a.entries.get(p);
        if (!entry) throw new Error(p);
        expect((await toBuffer(a.read(entry))).equals(Buffer.from(bytes)), `${mode} ${p} by the reader`).toBe(
          true,
        );
      }
    }
  });

  it("is deterministic: sorted entries, the given time (UTC), the same bytes from the same folder", async () => {
    const dir = folder(FILES);
    const zone = process.env.TZ;
    // In another zone than the test machine's: the DOS time must still be the UTC one.
    process.env.TZ = "Pacific/Chatham";
    const a = await writeZip(await folderSources(dir)).finally(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    const b = await writeZip((await folderSources(dir)).reverse());
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.plan.names).toEqual([...a.plan.names].sort());
    const listing = execFileSync("python3", [
      "-c",
      "import sys,zipfile; print([i.date_time for i in zipfile.ZipFile(sys.argv[1]).infolist()][0])",
      a.file,
    ]).toString();
    expect(listing.trim()).toBe("(2026, 11, 30, 15, 11, 42)");
  });

  it("respects back-pressure: a stalled client holds the stream at a bounded read-ahead", async () => {
    const dir = folder({ "clips/big.mp4": randomBytes(32 * 1024 * 1024) });
    const plan = planZip(await folderSources(dir), { top: "export-1", time: TIME });
    const stream = plan.stream({ chunkBytes: 256 * 1024 });
    let accepted = 0;
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, done) {
        accepted += chunk.length;
        if (accepted < 1024 * 1024) done();
        else release = done;
      },
    });
    const piped = pipeline(stream, slow);
    await new Promise((r) => setTimeout(r, 300));
    const readAhead = accepted + stream.readableLength + slow.writableLength;
    expect(readAhead).toBeLessThan(4 * 1024 * 1024);
    stream.destroy();
    release?.();
    await piped.catch(() => undefined);
  });

  it("refuses unsafe or doubled paths, fails the stream when a file's size changed after planning, and trusts a given CRC-32", async () => {
    const file = join(folder({ a: "abc" }), "a");
    const src = (path: string): ZipSource => ({ path, file, size: 3 });
    expect(() => planZip([src("../a")], { top: "t", time: TIME })).toThrow("'..' path segment");
    expect(() => planZip([src("a\\b")], { top: "t", time: TIME })).toThrow("backslash");
    expect(() => planZip([src("/a")], { top: "t", time: TIME })).toThrow("absolute");
    expect(() => planZip([src("a"), src("a")], { top: "t", time: TIME })).toThrow("listed twice");
    expect(() => planZip([src("a")], { top: "t/u", time: TIME })).toThrow("not one segment");
    const plan = planZip([src("a")], { top: "t", time: TIME });
    truncateSync(file, 2);
    await expect(toBuffer(plan.stream())).rejects.toThrow("a: is 2 bytes, planned as 3 (changed?)");
    // A CRC-32 given is trusted, not recomputed (the entry is a plain copy): bytes it is not the
    // CRC-32 of are caught where the zip is read, by unzip and by the reader pscs verify uses.
    writeFileSync(file, "abd");
    const withCrc = planZip([{ ...src("a"), crc32: crc32(Buffer.from("abc")) }], { top: "t", time: TIME });
    const zip = join(root, `stale-${++n}.zip`);
    writeFileSync(zip, await toBuffer(withCrc.stream()));
    expect(() => execFileSync("unzip", ["-t", zip], { stdio: "pipe" })).toThrow("Command failed");
    const archive = await openZip(zip);
    const entry = archive.entries.get("a");
    if (!entry) throw new Error("entry a not read");
    await expect(toBuffer(archive.read(entry))).rejects.toThrow(ZipFormatError);
  });
});

describe("zip writer: ZIP64", () => {
  it("forced: every record in its ZIP64 form, as APPNOTE lays it out", async () => {
    const dir = folder({ "a.txt": "hello", "clips/b.mp4": randomBytes(5000) });
    const { bytes: z } = await writeZip(await folderSources(dir), { zip64: true });
    // End record: every count and offset is the marker.
    const end = z.length - 22;
    expect(z.readUInt32LE(end)).toBe(0x06054b50);
    expect([z.readUInt16LE(end + 8), z.readUInt16LE(end + 10)]).toEqual([0xffff, 0xffff]);
    expect([z.readUInt32LE(end + 12), z.readUInt32LE(end + 16)]).toEqual([0xffffffff, 0xffffffff]);
    // Locator just before it, pointing at the ZIP64 end record just before itself.
    const loc = end - 20;
    expect(z.readUInt32LE(loc)).toBe(0x07064b50);
    const end64 = Number(z.readBigUInt64LE(loc + 8));
    expect(end64).toBe(loc - 56);
    expect(z.readUInt32LE(loc + 16)).toBe(1);
    expect(z.readUInt32LE(end64)).toBe(0x06064b50);
    expect(Number(z.readBigUInt64LE(end64 + 4))).toBe(44);
    expect(z.readUInt16LE(end64 + 14)).toBe(45);
    expect([Number(z.readBigUInt64LE(end64 + 24)), Number(z.readBigUInt64LE(end64 + 32))]).toEqual([2, 2]);
    const cdSize = Number(z.readBigUInt64LE(end64 + 40));
    const cdOffset = Number(z.readBigUInt64LE(end64 + 48));
    expect(cdOffset + cdSize).toBe(end64);
    // Each central header: markers, and the extra holding size, size, offset in that order.
    let at = cdOffset;
    const offsets: number[] = [];
    for (const [name, size] of [
      ["export-12/a.txt", 5],
      ["export-12/clips/b.mp4", 5000],
    ] as const) {
      expect(z.readUInt32LE(at)).toBe(0x02014b50);
      expect(z.readUInt16LE(at + 6)).toBe(45);
      expect(z.readUInt16LE(at + 8) & 0x0808).toBe(0x0808); // UTF-8 names, data descriptor
      expect([z.readUInt32LE(at + 20), z.readUInt32LE(at + 24), z.readUInt32LE(at + 42)]).toEqual([
        0xffffffff, 0xffffffff, 0xffffffff,
      ]);
      const nameLen = z.readUInt16LE(at + 28);
      expect(z.subarray(at + 46, at + 46 + nameLen).toString()).toBe(name);
      const x = at + 46 + nameLen;
      expect([z.readUInt16LE(x), z.readUInt16LE(x + 2)]).toEqual([1, 24]);
      expect([Number(z.readBigUInt64LE(x + 4)), Number(z.readBigUInt64LE(x + 12))]).toEqual([size, size]);
      offsets.push(Number(z.readBigUInt64LE(x + 20)));
      at = x + 28;
    }
    expect(at).toBe(end64);
    // Each local header: version 4.5, markers, a ZIP64 extra (sizes zero: a descriptor follows).
    for (const [i, off] of offsets.entries()) {
      expect(z.readUInt32LE(off)).toBe(0x04034b50);
      expect(z.readUInt16LE(off + 4)).toBe(45);
      expect([z.readUInt32LE(off + 18), z.readUInt32LE(off + 22)]).toEqual([0xffffffff, 0xffffffff]);
      const x = off + 30 + z.readUInt16LE(off + 26);
      expect([z.readUInt16LE(x), z.readUInt16LE(x + 2)]).toEqual([1, 16]);
      // The descriptor after the data: signature, CRC-32, two 8-byte sizes.
      const size = i === 0 ? 5 : 5000;
      const d = x + 20 + size;
      expect(z.readUInt32LE(d)).toBe(0x08074b50);
      expect([Number(z.readBigUInt64LE(d + 8)), Number(z.readBigUInt64LE(d + 16))]).toEqual([size, size]);
    }
  });

  it("switches to ZIP64 on its own past 4 GiB: the planned length counts its records (no file is read)", () => {
    const big = 5 * 2 ** 30;
    const plan = planZip(
      [
        { path: "clips/a.mp4", file: "/nonexistent", size: big },
        { path: "clips/b.mp4", file: "/nonexistent", size: 10, crc32: 0 },
        { path: "README.txt", file: "/nonexistent", size: 10, crc32: 0 },
      ],
      { top: "export-1", time: TIME },
    );
    const name = (p: string) => `export-1/${p}`.length;
    // README.txt and clips/a.mp4 start below 4 GiB (a.mp4 is ZIP64 by its size); b.mp4 starts above.
    const local =
      30 +
      name("README.txt") +
      10 +
      (30 + name("clips/a.mp4") + 20 + big + 24) +
      (30 + name("clips/b.mp4") + 20 + 10);
    const central =
      46 + name("README.txt") + (46 + name("clips/a.mp4") + 28) + (46 + name("clips/b.mp4") + 28);
    expect(plan.bytes).toBe(local + central + 56 + 20 + 22);
    const small = planZip([{ path: "a", file: "/nonexistent", size: 10, crc32: 0 }], {
      top: "t",
      time: TIME,
    });
    expect(small.bytes).toBe(30 + 3 + 10 + 46 + 3 + 22);
  });
});

/** A zip made by Python's zipfile, entries as [name, bytes, deflate?]. */
function pythonZip(entries: [string, string, boolean?][]): string {
  const file = join(root, `py-${++n}.zip`);
  execFileSync(
    "python3",
    [
      "-W",
      "ignore",
      "-c",
      "import sys,json,zipfile\nwith zipfile.ZipFile(sys.argv[1],'w') as z:\n for name,data,deflate in json.loads(sys.argv[2]):\n  z.writestr(zipfile.ZipInfo(name,(2026,11,30,0,0,0)),data,zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)",
      file,
      JSON.stringify(entries.map(([a, b, c]) => [a, b, !!c])),
    ],
    { encoding: "utf8" },
  );
  return file;
}

const problemsOf = (a: ZipArchive) => Object.fromEntries(a.problems.map((p) => [p.name, p.problem]));

describe("zip reader: hostile zips", () => {
  it("refuses traversal, absolute, backslash and drive names, entries outside the one top folder, and compressed entries", async () => {
    const a = await openZip(
      pythonZip([
        ["export-12/ok.txt", "fine"],
        ["export-12/../evil.txt", "x"],
        ["/etc/cron.d/evil", "x"],
        ["export-12\\win.txt", "x"],
        ["export-12/C:evil", "x"],
        ["other/x.txt", "x"],
        ["loose.txt", "x"],
        ["export-12/packed.txt", "squeeze me squeeze me squeeze me", true],
      ]),
    );
    expect(a.top).toBe("export-12");
    expect([...a.entries.keys()]).toEqual(["ok.txt"]);
    expect(problemsOf(a)).toEqual({
      "export-12/../evil.txt": "unsafe name: a '..' path segment",
      "/etc/cron.d/evil": "unsafe name: an absolute path",
      "export-12\\win.txt": "unsafe name: a backslash in the path (a separator on Windows)",
      "export-12/C:evil": "unsafe name: a ':' in the path (a drive or stream name on Windows)",
      "other/x.txt": "outside the package's one top folder 'export-12/'",
      "loose.txt": "outside the package's one top folder 'export-12/'",
      "export-12/packed.txt": "compressed (method 8, deflate); a package zip is stored, not compressed",
    });
  });

  it("refuses a name twice (both), and a hostile first entry does not choose the top folder", async () => {
    const a = await openZip(
      pythonZip([
        ["../x", "x"],
        ["export-12/a.txt", "one"],
        ["export-12/a.txt", "two"],
        ["export-12/b.txt", "b"],
      ]),
    );
    expect(a.top).toBe("export-12");
    expect([...a.entries.keys()]).toEqual(["b.txt"]);
    expect(a.problems.filter((p) => p.name === "export-12/a.txt").map((p) => p.problem)).toEqual([
      "the same name appears more than once",
      "the same name appears more than once",
    ]);
  });

  it("refuses a local header that disagrees with the central directory, and entries whose bytes overlap", async () => {
    const dir = folder({ "a.txt": "aaaa", "b.txt": "bbbb" });
    const sources = (await folderSources(dir)).map((s) => ({ ...s, crc32: crc32(readFileSync(s.file)) }));
    const { bytes } = await writeZip(sources, { top: "t" });
    // Local header of b.txt renamed (c.txt): a different file than the directory lists.
    const renamed = Buffer.from(bytes);
    const second = renamed.indexOf("t/b.txt");
    renamed[second + 2] = "c".charCodeAt(0);
    const renamedFile = join(root, `renamed-${++n}.zip`);
    writeFileSync(renamedFile, renamed);
    expect(problemsOf(await openZip(renamedFile))).toEqual({
      "t/b.txt": "its local header names another file",
    });
    // a.txt's size grown, in its local header and central record alike, to cover b.txt's bytes.
    const grown = Buffer.from(bytes);
    grown.writeUInt32LE(30, 18);
    grown.writeUInt32LE(30, 22);
    const cd = grown.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), grown.lastIndexOf("t/b.txt"));
    const cdA = grown.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), cd - 1);
    grown.writeUInt32LE(30, cdA + 20);
    grown.writeUInt32LE(30, cdA + 24);
    const grownFile = join(root, `grown-${++n}.zip`);
    writeFileSync(grownFile, grown);
    const g = await openZip(grownFile);
    expect(problemsOf(g)).toEqual({
      "t/a.txt": "its bytes overlap another entry's (a crafted zip)",
      "t/b.txt": "its bytes overlap another entry's (a crafted zip)",
    });
    expect(g.entries.size).toBe(0);
  });

  it("a stream of an entry altered inside the archive fails at its end on the CRC-32", async () => {
    const dir = folder({ "a.txt": "the original text" });
    const { file, bytes } = await writeZip(await folderSources(dir), { top: "t" });
    const at = bytes.indexOf("original");
    bytes[at] = "O".charCodeAt(0);
    writeFileSync(file, bytes);
    const a = await openZip(file);
    const entry = a.entries.get("a.txt");
    if (!entry) throw new Error("a.txt");
    await expect(toBuffer(a.read(entry))).rejects.toThrow("t/a.txt: its bytes do not match its CRC-32");
  });

  it("a file that is not a zip, a truncated zip, a ZIP64 end that is not there: ZipFormatError", async () => {
    const junk = join(root, "junk.zip");
    writeFileSync(junk, randomBytes(5000));
    await expect(openZip(junk)).rejects.toThrow(ZipFormatError);
    const { file, bytes } = await writeZip(await folderSources(folder({ "a.txt": "a" })), { zip64: true });
    writeFileSync(file, bytes.subarray(100));
    await expect(openZip(file)).rejects.toThrow(ZipFormatError);
    const locatorGone = Buffer.from(bytes);
    locatorGone.writeUInt32LE(0, bytes.length - 22 - 20);
    writeFileSync(file, locatorGone);
    await expect(openZip(file)).rejects.toThrow("end record points to a ZIP64 record that is not there");
  });
});
