import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
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

describe("writeFileAtomic", () => {
  it("lands two writes of one path made at once (the same scan sent twice), each whole", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pscs-atomic-")), "form.pdf");
    const data = randomBytes(256 * 1024);
    const results = await Promise.allSettled([writeFileAtomic(file, data), writeFileAtomic(file, data)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(await sha256File(file)).toBe(createHash("sha256").update(data).digest("hex"));
  });
});
