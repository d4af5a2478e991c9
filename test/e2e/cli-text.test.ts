import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPscs } from "../helpers/process.js";
import { daemonDir, openLocalCatalog } from "../helpers/pscsd.js";

/**
 * pscs refuses an argument that is not UTF-8 text, holds a lone surrogate, or is overlong, before the
 * command runs: exit 2 and a one-line reason naming the option, and nothing reaches the catalog.
 */

const PSCS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");

/** Runs pscs through bash so an argument can carry raw bytes ($'\xed\xa0\x80'), as a terminal sends them. */
function pscsRaw(shellArgs: string, stdin = ""): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      "bash",
      ["-c", `exec "$0" "$1" ${shellArgs}`, process.execPath, PSCS],
      { timeout: 30_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

describe("pscs argument text", () => {
  it("refuses bytes that are not UTF-8, a lone surrogate and overlong text, naming the option; stores nothing", async () => {
    const { configFile: c } = await daemonDir();
    const local = openLocalCatalog(c);
    const before = await local.audit.headSeq();
    const password = "Head-Pass-2026!\n";
    // A lone surrogate as its WTF-8 bytes, in the display name the audit entry records.
    const surrogate = await pscsRaw(
      `user add chief --role admin --name $'Chief \\xed\\xa0\\x80' -c '${c}'`,
      password,
    );
    expect(surrogate).toEqual({
      code: 2,
      stderr: "pscs: --name: not valid UTF-8 (the bytes given are not UTF-8 text)\n",
    });
    const latin1 = await pscsRaw(`user add $'ch\\xe9f' --role admin -c '${c}'`, password);
    expect(latin1).toEqual({
      code: 2,
      stderr: "pscs: argument <username>: not valid UTF-8 (the bytes given are not UTF-8 text)\n",
    });
    // A lone surrogate handed to spawn arrives as U+FFFD, and is refused the same way.
    const spawned = await runPscs(
      ["user", "add", "chief", "--role", "admin", "--name", "Chief \ud800", "-c", c],
      password,
    );
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toMatch(/^pscs: --name: not valid UTF-8/);
    const long = await runPscs(
      ["user", "add", "chief", "--role", "admin", "--name", "C".repeat(5000), "-c", c],
      password,
    );
    expect(long).toMatchObject({ code: 2, stderr: "pscs: --name: longer than 4096 characters\n" });
    const roles = await runPscs(["user", "add", "chief", "--role", "ops", "admin\ufffd", "-c", c], password);
    expect(roles).toMatchObject({ code: 2, stderr: expect.stringMatching(/^pscs: --role: not valid UTF-8/) });
    expect(await local.audit.headSeq()).toBe(before);
    expect(await local.auth.listUsers()).toEqual([]);

    // Full Unicode goes through untouched.
    const ok = await runPscs(
      ["user", "add", "chief", "--role", "admin", "--name", "Chef Müller 😀", "-c", c, "--json"],
      password,
    );
    expect(ok.stderr).toBe("");
    expect(JSON.parse(ok.stdout)).toMatchObject({ displayName: "Chef Müller 😀" });
    expect(await local.audit.verify()).toMatchObject({ ok: true });
    local.close();
  });
});
