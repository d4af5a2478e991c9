import { describe, expect, it } from "vitest";
import { COMPUTED, importsOf, parse, resolveImport, sourceFiles } from "./source-files.js";

/**
 * The house rules on imports, read from every import of every product source file:
 * `recorder/`, `retention/` and `api/` import only `src/` (and their own folder) and packages;
 * `src/` imports them only from `src/compose/`, the one place that wires them; `sim/` is a program
 * of its own and imports nothing of the daemon but `src/log`.
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
