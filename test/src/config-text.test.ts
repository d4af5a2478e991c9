import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";

/** A config string that is not well-formed Unicode, or holds a NUL, is a ConfigError naming its path. */

const withName = (name: string) => `
storage: { recordings: rec, evidence: ev, catalog: db/catalog.db }
cameras:
  - id: cam-1
    name: ${name}
    onvif: { host: 127.0.0.1, port: 8000, user: admin, password: "Secr3t!pw" }
`;

function issuesOf(load: () => unknown): { path: string; message: string }[] {
  try {
    load();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config text", () => {
  it("names the path of a lone surrogate or NUL written as a YAML escape", () => {
    const parse = (name: string) => () => parseConfig(withName(name), "/etc/pscs/test.yaml");
    expect(issuesOf(parse('"Main \\ud800 St"'))).toEqual([
      { path: "cameras[0].name", message: expect.stringMatching(/lone UTF-16 surrogate/) },
    ]);
    expect(issuesOf(parse('"Main\\0St"'))).toEqual([
      { path: "cameras[0].name", message: expect.stringMatching(/NUL/) },
    ]);
    expect(issuesOf(() => parseConfig(`${withName("A")}\n"x\\udc00": 1\n`, "/etc/pscs/t.yaml"))).toEqual([
      { path: "", message: expect.stringMatching(/field name .*surrogate/) },
    ]);
    // Full Unicode is fine.
    expect(parseConfig(withName('"Hauptstraße 😀"'), "/etc/pscs/t.yaml").cameras[0]?.name).toBe(
      "Hauptstraße 😀",
    );
  });

  it("refuses a file, or a password file, whose bytes are not UTF-8, naming the line or the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-cfg-text-"));
    const file = join(dir, "pscs.yaml");
    // A lone surrogate as a careless encoder writes it (WTF-8), on the camera name's line (5).
    const text = withName("Ma__in");
    const at = text.indexOf("__");
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(text.slice(0, at)),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from(text.slice(at + 2)),
      ]),
    );
    expect(issuesOf(() => loadConfig(file))).toEqual([{ path: "", message: "not valid UTF-8 (line 5)" }]);

    writeFileSync(join(dir, "cam.pw"), Buffer.from([0x70, 0x77, 0xff, 0x0a]));
    writeFileSync(join(dir, "nul.pw"), "pass\0word\n");
    const withPasswordFile = (pf: string) => `
storage: { recordings: r, evidence: e, catalog: c }
cameras:
  - { id: a, name: A, onvif: { host: h, user: u, passwordFile: ${pf} } }
`;
    writeFileSync(file, withPasswordFile("cam.pw"));
    expect(issuesOf(() => loadConfig(file))).toEqual([
      {
        path: "cameras[0].onvif.passwordFile",
        message: expect.stringMatching(/cam\.pw: not valid UTF-8 \(line 1\)/),
      },
    ]);
    writeFileSync(file, withPasswordFile("nul.pw"));
    expect(issuesOf(() => loadConfig(file))).toEqual([
      { path: "cameras[0].onvif.passwordFile", message: expect.stringMatching(/nul\.pw: contains a NUL/) },
    ]);
  });
});
