import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256File, syncSizeHash, writeFileAtomic } from "../../src/storage/durable.js";

/** Hashes share one read buffer: many at once (every camera closes a segment on the minute) must not mix. */

describe("durable file hashing", () => {
  it("hashes many files at once, each right, through one shared buffer; a failure fails only its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-hash-"));
    // Sizes around and across the 1 MiB read size, and an empty file.
    const sizes = [0, 1, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 3_500_000, 777_777, 5_000_000];
    const files = sizes.map((n, i) => {
      const data = randomBytes(n);
      const path = join(dir, `f${i}.ts`);
      writeFileSync(path, data);
      return { path, bytes: n, sha256: createHash("sha256").update(data).digest("hex") };
    });
    const missing = join(dir, "gone.ts");
    const results = await Promise.allSettled([
      ...files.map((f) => syncSizeHash(f.path)),
      syncSizeHash(missing),
      ...files.map((f) => sha256File(f.path)),
    ]);
    expect(results.slice(0, files.length)).toEqual(
      files.map((f) => ({ status: "fulfilled", value: { bytes: f.bytes, sha256: f.sha256 } })),
    );
    expect(results[files.length]).toMatchObject({ status: "rejected", reason: { code: "ENOENT" } });
    expect(results.slice(files.length + 1)).toEqual(
      files.map((f) => ({ status: "fulfilled", value: f.sha256 })),
    );
  });
});

describe("atomic file writes", () => {
  it("lands every one of several writes of one path at once whole, leaving no temporary file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-atomic-"));
    const path = join(dir, "form.pdf");
    const bodies = Array.from({ length: 5 }, (_, i) => randomBytes(64 * 1024 + i));
    await Promise.all(bodies.map((b) => writeFileAtomic(path, b)));
    expect(bodies.some((b) => b.equals(readFileSync(path)))).toBe(true);
    expect(readdirSync(dir)).toEqual(["form.pdf"]);
  });
});
