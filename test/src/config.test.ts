import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";

const good = `
storage: { recordings: rec, evidence: ev, catalog: db/catalog.db }
cameras:
  - id: cam-1
    name: Main St
    onvif: { host: 127.0.0.1, port: 8000, user: admin, password: "Secr3t!pw" }
`;

function issuesOf(text: string): { path: string; message: string }[] {
  try {
    parseConfig(text, "/etc/pscs/test.yaml");
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("applies defaults and resolves paths against the file's folder", () => {
    const cfg = parseConfig(good, "/etc/pscs/test.yaml");
    expect(cfg.retention.days).toBe(30);
    expect(cfg.recording.segmentSeconds).toBe(60);
    expect(cfg.recording.retry).toEqual({ baseSeconds: 0.5, capSeconds: 30 });
    expect(cfg.retention.purgeSchedule).toBe("0 * * * *");
    expect(cfg.http).toEqual({
      host: "127.0.0.1",
      port: 8080,
      maxConnections: 256,
      maxConnectionsPerAddress: 64,
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
    });
    expect(cfg.storage.catalog).toBe("/etc/pscs/db/catalog.db");
    // Packages beside the evidence tree; their key beside the config file, outside every tree.
    expect(cfg.storage.exports).toBe("/etc/pscs/exports");
    expect(cfg.exports).toEqual({ signingKey: "/etc/pscs/export-signing.key" });
    expect(
      parseConfig(
        `${good.replace("evidence: ev", "evidence: /srv/ev, exports: out")}exports: { signingKey: k/e.key }\n`,
        "/etc/pscs/test.yaml",
      ),
    ).toMatchObject({ storage: { exports: "/etc/pscs/out" }, exports: { signingKey: "/etc/pscs/k/e.key" } });
    expect(cfg.cameras[0]?.onvif.password).toBe("Secr3t!pw");
    expect(cfg.cameras[0]?.required).toBe(true);
    // The checkpoint key beside the config file, not beside the catalog.
    expect(cfg.audit).toEqual({
      verifySeconds: 60,
      checkpointSeconds: 300,
      checkpointKey: "/etc/pscs/audit-checkpoint.key",
    });
    expect(
      parseConfig(`${good}audit: { checkpointKey: keys/pscs.key }\n`, "/etc/pscs/test.yaml").audit
        .checkpointKey,
    ).toBe("/etc/pscs/keys/pscs.key");
  });

  it("refuses an http headers timeout longer than its request timeout", () => {
    const issues = issuesOf(`${good}http: { headersTimeoutSeconds: 40, requestTimeoutSeconds: 30 }\n`);
    expect(issues).toEqual([
      { path: "http.headersTimeoutSeconds", message: expect.stringMatching(/at most requestTimeoutSeconds/) },
    ]);
  });

  it("takes the WebRTC address and port range only as an IP address and a range", () => {
    expect(parseConfig(good, "/etc/pscs/test.yaml").live.webrtc).toEqual({});
    expect(issuesOf(`${good}live: { webrtc: { host: cams.example } }\n`)).toEqual([
      { path: "live.webrtc.host", message: expect.any(String) },
    ]);
    expect(issuesOf(`${good}live: { webrtc: { host: "::1", portMin: 40000 } }\n`)).toEqual([
      { path: "live.webrtc.portMax", message: expect.stringMatching(/given together/) },
    ]);
    expect(issuesOf(`${good}live: { webrtc: { portMin: 40000, portMax: 40000 } }\n`)).toEqual([
      { path: "live.webrtc.portMax", message: expect.stringMatching(/above portMin/) },
    ]);
  });

  it("names every wrong field with its path and what was expected", () => {
    const issues = issuesOf(`
http: { port: "eighty", colour: blue }
storage: { recordings: rec, evidence: ev }
recording: { segmentSeconds: 1, retry: { baseSeconds: 10, capSeconds: 5 } }
retention: { purgeSchedule: "every hour" }
cameras:
  - id: Cam_1
    name: A
    onvif: { host: h, port: 70000, user: u, password: p, passwordFile: f }
  - id: cam-2
    name: B
    onvif: { host: h, user: u }
  - id: cam-2
    name: C
    onvif: { host: h, user: u, password: p }
`);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath["http.port"]).toMatch(/expected number, got string/);
    expect(byPath.http).toMatch(/unknown field.*'colour'/);
    expect(byPath["storage.catalog"]).toMatch(/required/);
    expect(byPath["recording.segmentSeconds"]).toMatch(/2/);
    expect(byPath["recording.retry"]).toMatch(/capSeconds must be at least baseSeconds/);
    expect(byPath["retention.purgeSchedule"]).toMatch(/cron expression/);
    expect(byPath["cameras[0].id"]).toMatch(/lowercase/);
    expect(byPath["cameras[0].onvif.port"]).toMatch(/65535/);
    expect(byPath["cameras[0].onvif.password"]).toMatch(/exactly one/);
    expect(byPath["cameras[1].onvif.password"]).toMatch(/exactly one/);
    // Cross-field checks run only once the shape is right, so the duplicate id is reported on a fixed file.
    expect(
      issuesOf(`
storage: { recordings: r, evidence: e, catalog: c }
cameras:
  - { id: a, name: A, onvif: { host: h, user: u, password: p } }
  - { id: a, name: B, onvif: { host: h, user: u, password: p } }
`),
    ).toEqual([{ path: "cameras[1].id", message: expect.stringMatching(/unique.*cameras\[0\]/) }]);
  });

  it("reports YAML syntax errors and unreadable files as config errors", () => {
    expect(issuesOf("cameras: [ {")[0]?.message).toMatch(/not valid YAML/);
    expect(() => loadConfig("/nonexistent/pscs.yaml")).toThrow(/cannot read: ENOENT/);
  });

  it("reads passwordFile and never puts the password in the error", () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-cfg-"));
    writeFileSync(join(dir, "cam.pw"), "Fil3Secret!\n");
    writeFileSync(join(dir, "empty.pw"), "");
    const text = (pf: string) => `
storage: { recordings: r, evidence: e, catalog: c }
cameras:
  - { id: a, name: A, onvif: { host: h, user: u, passwordFile: ${pf} } }
`;
    writeFileSync(join(dir, "ok.yaml"), text("cam.pw"));
    expect(loadConfig(join(dir, "ok.yaml")).cameras[0]?.onvif.password).toBe("Fil3Secret!");
    writeFileSync(join(dir, "empty.yaml"), text("empty.pw"));
    expect(() => loadConfig(join(dir, "empty.yaml"))).toThrow(
      /cameras\[0\]\.onvif\.passwordFile: expected a non-empty/,
    );
    writeFileSync(join(dir, "gone.yaml"), text("gone.pw"));
    expect(() => loadConfig(join(dir, "gone.yaml"))).toThrow(
      /passwordFile: expected a readable file.*ENOENT/,
    );
  });

  it("ships an example config that validates", async () => {
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(new URL("../../config/pscs.example.yaml", import.meta.url), "utf8");
    // The example points passwordFile at /etc/pscs/secrets; swap in inline passwords to check the shape.
    const cfg = parseConfig(text.replaceAll(/passwordFile: \S+/g, "password: x"), "/etc/pscs/pscs.yaml");
    expect(cfg.cameras.map((c) => c.id)).toEqual(["main-broadway", "city-hall-plaza"]);
  });
});
