import { userInfo } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pscsd } from "../../src/compose/daemon.js";
import { runPscs } from "../helpers/process.js";
import { client, daemonDir, openLocalCatalog, startInProcess, type TestDaemonDir } from "../helpers/pscsd.js";

/** `pscs token add|list|revoke` at the console: the same service and audit entries as /api/tokens. */

let d: TestDaemonDir;
let daemon: Pscsd;
beforeAll(async () => {
  d = await daemonDir();
  daemon = await startInProcess(d);
});
afterAll(async () => {
  await daemon?.stop();
});

describe("pscs token", () => {
  it("adds a token whose secret works once printed, lists it without the secret, revokes it, all audited", async () => {
    const c = ["-c", d.configFile];
    const added = await runPscs([
      "token",
      "add",
      "prometheus scraper",
      "--role",
      "ops",
      "--expires-in-days",
      "30",
      "--json",
      ...c,
    ]);
    expect(added.code).toBe(0);
    const made = JSON.parse(added.stdout) as {
      token: { id: string; role: string; expiresAt: number };
      secret: string;
    };
    expect(made.token).toMatchObject({ role: "ops", name: "prometheus scraper" });
    expect(made.secret).toMatch(new RegExp(`^pscs_${made.token.id}_`));
    const bearer = client(daemon.url, { bearer: made.secret });
    expect((await bearer.request("GET", "/api/health")).status).toBe(200);

    const listed = await runPscs(["token", "list", ...c]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${made.token.id}  ops +active .* prometheus scraper$`, "m"));
    expect(listed.stdout + (await runPscs(["token", "list", "--json", ...c])).stdout).not.toContain(
      made.secret.split("_").at(-1),
    );

    const revoked = await runPscs(["token", "revoke", made.token.id, ...c]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`${made.token.id}  ops      revoked`);
    expect((await bearer.request("GET", "/api/health")).status).toBe(401);
    const again = await runPscs(["token", "revoke", made.token.id, ...c]);
    expect(again).toMatchObject({ code: 1, stderr: `pscs: token '${made.token.id}' was already revoked\n` });

    const local = openLocalCatalog(d.configFile);
    try {
      const actor = `local:${process.env.SUDO_USER || userInfo().username}`;
      for (const action of ["token.create", "token.revoke"]) {
        const entries = await local.audit.list({ action, target: `token:${made.token.id}` });
        expect(entries).toMatchObject([{ actor, role: "admin", client: "cli", outcome: "success" }]);
      }
    } finally {
      local.close();
    }
  });

  it("refuses a person's role, a bad expiry and a malformed id with exit 2 naming the argument", async () => {
    const c = ["-c", d.configFile];
    const cases: [string[], RegExp][] = [
      [
        ["token", "add", "viewer", "--role", "dispatcher", ...c],
        /^pscs: --role: machine tokens may hold ops or auditor, not 'dispatcher'$/m,
      ],
      [
        ["token", "add", "x", "--role", "ops", "--expires-in-days", "0", ...c],
        /^pscs: --expires-in-days: expected a whole number 1-3650/m,
      ],
      [["token", "add", "", "--role", "ops", ...c], /^pscs: <name>: expected 1-100 characters/m],
      [["token", "revoke", "nonsense", ...c], /^pscs: <id>: expected a token id like t_0123456789ab/m],
    ];
    for (const [args, message] of cases) {
      const r = await runPscs(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    const missing = await runPscs(["token", "revoke", "t_000000000000", ...c]);
    expect(missing).toMatchObject({ code: 1, stderr: "pscs: token 't_000000000000' does not exist\n" });
  });
});
