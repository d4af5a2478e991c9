import type { Command } from "commander";
import { Gaps } from "../catalog/footage/gaps.js";
import { Segments } from "../catalog/footage/segments.js";
import { loadConfig } from "../config/load.js";
import { timeline } from "../footage/timeline.js";
import { asCliError, CliError, DEFAULT_CONFIG, openLocal, print } from "./common.js";
import { cliTimes, isoOr } from "./times.js";

/** `pscs cameras` and `pscs timeline`: what is recorded, read from the catalog at the console. */

const iso = (t: number | null) => isoOr(t, "…");
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

export function recordingCommands(program: Command): void {
  program
    .command("cameras")
    .description("configured cameras and what the catalog holds for each")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action((o: { config: string; json?: boolean }) => {
      const local = openLocal(o.config);
      try {
        const cameras = loadConfig(o.config).cameras;
        const segments = new Segments(local.db);
        const gaps = new Gaps(local.db);
        const out = cameras.map((c) => {
          const open = gaps.list(c.id, Date.now() - 1, Date.now()).find((g) => g.endMs === null);
          return {
            id: c.id,
            name: c.name,
            required: c.required,
            ...segments.completeTotals(c.id),
            notRecordingSince: open ? { sinceMs: open.startMs, cause: open.cause } : null,
          };
        });
        print(!!o.json, out, () =>
          out
            .map(
              (c) =>
                `${c.id.padEnd(12)} ${c.name.padEnd(28)} ${String(c.segments).padStart(7)} segments ${gib(c.bytes).padStart(11)}  ${iso(c.firstMs)} → ${iso(c.lastMs)}${c.notRecordingSince ? `\n${"".padEnd(13)}not recording since ${iso(c.notRecordingSince.sinceMs)}: ${c.notRecordingSince.cause}` : ""}`,
            )
            .join("\n"),
        );
      } finally {
        local.close();
      }
    });
  program
    .command("timeline <camera>")
    .description("recorded spans and gaps (with their causes) of one camera")
    .requiredOption("--from <time>", "ISO 8601 (no offset: the site's time zone) or epoch ms")
    .requiredOption("--to <time>", "ISO 8601 (no offset: the site's time zone) or epoch ms")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action((camera: string, o: { from: string; to: string; config: string; json?: boolean }) => {
      const ids = loadConfig(o.config).cameras.map((c) => c.id);
      if (!ids.includes(camera))
        throw new CliError(`camera '${camera}' is not configured (configured: ${ids.join(", ")})`, 2);
      const times = cliTimes(o.config);
      const from = times.read("--from", o.from);
      const to = times.read("--to", o.to);
      if (!(to > from)) throw new CliError("--to: must be after --from", 2);
      const local = openLocal(o.config);
      try {
        let t: ReturnType<typeof timeline>;
        try {
          t = timeline({ segments: new Segments(local.db), gaps: new Gaps(local.db) }, camera, from, to);
        } catch (e) {
          asCliError(e, { from: "--from", to: "--to" });
        }
        print(!!o.json, t, () => {
          const rows = [
            ...t.spans.map((s) => ({
              at: s.startMs,
              line: `recorded  ${iso(s.startMs)} → ${iso(s.endMs)}  (${s.segments} segments)`,
            })),
            ...t.gaps.map((g) => ({
              at: g.startMs,
              line: `GAP       ${iso(g.startMs)} → ${iso(g.endMs)}  ${g.cause}`,
            })),
          ].sort((a, b) => a.at - b.at);
          return rows.length
            ? rows.map((r) => r.line).join("\n")
            : `nothing recorded for ${camera} in that range`;
        });
      } finally {
        local.close();
      }
    });
}
