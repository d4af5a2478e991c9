import ts from "typescript";
import { describe, expect, it } from "vitest";
import { COMPUTED, importsOf, parse, program, repoPath, resolveImport, sourceFiles } from "./source-files.js";

/**
 * The house rules on imports, read from every import of every product source file:
 * `recorder/`, `retention/` and `api/` import only `src/` (and their own folder) and packages;
 * `src/` imports them only from `src/compose/`, the one place that wires them; `sim/` is a program
 * of its own and imports nothing of the daemon but `src/log`. And `api/` is typed against the
 * interfaces `src/` declares for it, never against a class of `src/`.
 */

const RULES = {
  siblings: "recorder/, retention/ and api/ import only src/ and their own folder",
  compose: "src/ imports recorder/, retention/ and api/ only from src/compose/",
  sim: "sim/ imports nothing of the daemon but src/log",
  computed: "an import() of a computed module cannot be checked",
} as const;

const SIBLINGS = new Set(["recorder", "retention", "api"]);
const top = (path: string): string => path.split("/")[0] ?? "";

/** The rule `file` breaks by importing `target` (a repository path, or undefined for a package). */
function importBreak(file: string, specifier: string, target: string | undefined): string | undefined {
  if (specifier === COMPUTED) return RULES.computed;
  if (target === undefined) return undefined;
  const from = top(file);
  const to = top(target);
  if (SIBLINGS.has(from)) return to === from || to === "src" ? undefined : RULES.siblings;
  if (from === "src") return SIBLINGS.has(to) && !file.startsWith("src/compose/") ? RULES.compose : undefined;
  if (from === "sim") return to === "sim" || target.startsWith("src/log/") ? undefined : RULES.sim;
  return undefined;
}

interface Break {
  file: string;
  target: string;
  rule: string;
}

function breaksIn(file: string, text?: string): Break[] {
  return importsOf(parse(file, text)).flatMap((specifier) => {
    const target = resolveImport(file, specifier);
    const rule = importBreak(file, specifier, target);
    return rule ? [{ file, target: target ?? specifier, rule }] : [];
  });
}

const shown = (b: Break): string => `${b.file} → ${b.target} (${b.rule})`;
const pair = (b: Break): string => `${b.file} → ${b.target}`;

describe("import rules", () => {
  const breaks = sourceFiles(["src", "api", "recorder", "retention", "sim"]).flatMap((f) => breaksIn(f));

  it("no file breaks a rule", () => {
    expect(breaks.map(shown), "imports that break a house rule").toEqual([]);
  });

  it("reports made-up imports that break each rule, and passes the allowed ones", () => {
    const text = [
      'import { Recorder } from "../../recorder/recorder.js";',
      'import type { Hold } from "../../retention/holds.js";',
      'export { listen } from "../../api/server.js";',
      'const m = await import("../audit/log.js");',
      "const n = await import(name);",
      'import { z } from "zod";',
      'import { createLogger } from "../log/logger.js";',
    ].join("\n");
    expect(breaksIn("src/cli/made-up.ts", text).map(shown)).toEqual([
      `src/cli/made-up.ts → recorder/recorder.ts (${RULES.compose})`,
      `src/cli/made-up.ts → retention/holds.ts (${RULES.compose})`,
      `src/cli/made-up.ts → api/server.ts (${RULES.compose})`,
      `src/cli/made-up.ts → ${COMPUTED} (${RULES.computed})`,
    ]);
    expect(breaksIn("src/compose/made-up.ts", text).map(pair)).toEqual([
      `src/compose/made-up.ts → ${COMPUTED}`,
    ]);
    expect(
      breaksIn("api/routes/made-up.ts", 'import { timeline } from "../../recorder/timeline.js";').map(shown),
    ).toEqual([`api/routes/made-up.ts → recorder/timeline.ts (${RULES.siblings})`]);
    expect(breaksIn("retention/made-up.ts", 'const v = await import("../package.json");').map(pair)).toEqual([
      "retention/made-up.ts → package.json",
    ]);
    expect(breaksIn("recorder/made-up.ts", 'import "./layout.js";\nimport "../src/log/logger.js";')).toEqual(
      [],
    );
    expect(
      breaksIn(
        "sim/rtsp/made-up.ts",
        'import "../../src/version.js";\nimport "../../src/log/logger.js";\nimport "../camera.js";',
      ).map(shown),
    ).toEqual([`sim/rtsp/made-up.ts → src/version.ts (${RULES.sim})`]);
  });
});

/**
 * Classes of src/ that api/ may name: values it uses itself, not services it is handed (those it
 * knows only by the interface src/ declares beside the class).
 */
const API_MAY_NAME: Record<string, string> = {
  ServiceError: "the typed error services throw; api/ throws it too and answers its kind",
  RefusalPace: "a pacing rule without I/O; api/live/ paces its own refusals' audit with it",
};

/**
 * Every class of src/ that `file` names, as the compiler resolves each name (an import, a type, a
 * namespace member, an `import()` type), but those api/ may name.
 */
function classesNamed(p: ts.Program, file: string): string[] {
  const checker = p.getTypeChecker();
  const sf = p.getSourceFiles().find((f) => repoPath(f.fileName) === file);
  if (!sf) throw new Error(`${file} is not in the program`);
  const found = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) {
      let symbol = checker.getSymbolAtLocation(n);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const home = symbol?.declarations?.find(ts.isClassDeclaration)?.getSourceFile().fileName;
      const name = symbol?.name ?? "";
      if (home && repoPath(home).startsWith("src/") && !Object.hasOwn(API_MAY_NAME, name)) {
        found.add(`${file} → ${name} (${repoPath(home)})`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return [...found].sort();
}

describe("api/ is typed against interfaces", () => {
  const MADE_UP = "api/routes/made-up-classes.ts";
  const checked = program("api", {
    [MADE_UP]: [
      'import type { AuditLog } from "../../src/audit/log.js";',
      'import * as ptz from "../../src/ptz/service.js";',
      'import { ServiceError } from "../../src/errors/service-error.js";',
      'import type { Health } from "../../src/health/health.js";',
      'export type Zones = import("../../src/ptz/privacy-zones.js").PrivacyZones;',
      'export const f = (a: AuditLog, p: ptz.PtzService, h: Health) => [a, p, h, new ServiceError("invalid", "x")];',
    ].join("\n"),
  });
  const files = checked
    .getSourceFiles()
    .map((f) => repoPath(f.fileName))
    .filter((f) => f.startsWith("api/") && f !== MADE_UP);

  it("no api/ file names a class of src/ but those it may", () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.flatMap((f) => classesNamed(checked, f))).toEqual([]);
  });

  it("reports each class a made-up file names, however it names it, and passes the allowed ones", () => {
    expect(classesNamed(checked, MADE_UP)).toEqual([
      `${MADE_UP} → AuditLog (src/audit/log.ts)`,
      `${MADE_UP} → PrivacyZones (src/ptz/privacy-zones.ts)`,
      `${MADE_UP} → PtzService (src/ptz/service.ts)`,
    ]);
  });
});
