import type { KeyObject } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import {
  CHECKPOINT_LOG_MSG,
  checkpointFromLine,
  type LoggedCheckpoint,
  readPublicKey,
} from "../audit/checkpoint.js";
import { AuditInspectionService, SAMPLE_MAX } from "../audit/inspection.js";
import type { VerifyResult } from "../audit/log.js";
import type { SampleItem } from "../audit/sample.js";
import { ServiceError } from "../errors/service-error.js";
import { KeyFileError, publicKeyFile } from "../keys/ed25519-file.js";
import {
  asCliError,
  CliError,
  consoleAuditor,
  DEFAULT_CONFIG,
  type Local,
  openLocal,
  print,
} from "./common.js";
import { type CliTimes, cliTimes } from "./times.js";

/**
 * `pscs audit …`: verify the chain, draw the quarterly random sample, export for an inspector. The
 * rules and the audit entries are the service's (`src/audit/inspection.ts`); these commands read the
 * options and print.
 */

/** The option that fed each field of the service's requests, for its refusals. */
const OPTIONS = {
  count: "--count",
  seed: "--seed",
  from: "--from",
  to: "--to",
  action: "--action",
  actor: "--actor",
  camera: "--camera",
};

const inspection = (local: Local) => new AuditInspectionService(local.audit, local.directory);

const optionalTime = (times: CliTimes, flag: string, value: string | undefined) =>
  value === undefined ? undefined : times.read(flag, value);

const iso = (t: number) => new Date(t).toISOString();

/** The key given, else the one beside audit.checkpointKey; without either, checkpoints go unchecked. */
function checkpointPublicKey(
  given: string | undefined,
  keyFile: string,
  needed: boolean,
): KeyObject | undefined {
  const file = given ?? publicKeyFile(keyFile);
  if (given === undefined && !needed && !existsSync(file)) return undefined;
  try {
    return readPublicKey(file);
  } catch (e) {
    if (e instanceof KeyFileError)
      throw new CliError(`--public-key: ${e.message}${given ? "" : " (pscsd writes it at first start)"}`, 2);
    throw e;
  }
}

/** Streams the log (shipped logs run to gigabytes) and keeps only its checkpoint lines. */
async function readCheckpointLog(file: string): Promise<LoggedCheckpoint[]> {
  const found: LoggedCheckpoint[] = [];
  const input = createReadStream(file, "utf8");
  try {
    let n = 0;
    for await (const raw of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      const c = checkpointFromLine(raw, ++n);
      if (c) found.push(c);
    }
  } catch (e) {
    throw new CliError(`--checkpoints: cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`, 2);
  }
  if (!found.length)
    throw new CliError(
      `--checkpoints: no '${CHECKPOINT_LOG_MSG}' lines in ${file} (is it pscsd's JSON log?)`,
      2,
    );
  return found;
}

function describeBroken(r: VerifyResult): string {
  const lines = [
    r.breakCount
      ? `audit chain broken: ${r.breakCount} broken entr${r.breakCount === 1 ? "y or gap" : "ies or gaps"} among ${r.entries} entries`
      : `audit chain does not match its checkpoints (its ${r.entries} entries link up)`,
    ...r.breaks.map((b) => `  entry ${b.seq}: ${b.reason}`),
  ];
  if (r.breakCount > r.breaks.length) lines.push(`  … and ${r.breakCount - r.breaks.length} more`);
  const cp = r.checkpoints;
  if (cp) {
    const [first, ...rest] = cp.mismatched;
    if (first)
      lines.push(
        `  first checkpoint the chain no longer matches: ${first.source} (entry ${first.seq}, signed ${iso(first.at ?? 0)}): ${first.reason}`,
        ...rest.map(
          (m) =>
            `  also no longer matched: ${m.source} (entry ${m.seq}, signed ${iso(m.at ?? 0)}): ${m.reason}`,
        ),
      );
    if (cp.anchorProblem) lines.push(`  anchor: ${cp.anchorProblem}`);
    for (const f of cp.forged)
      lines.push(
        `  forged checkpoint: ${f.source}${f.seq === undefined ? "" : ` (claims entry ${f.seq})`}: ${f.reason}`,
      );
    lines.push(`  ${cp.matched} of ${cp.signed} genuine checkpoints match`);
  }
  return lines.join("\n");
}

export function auditCommands(program: Command): void {
  const audit = program.command("audit").description("the hash-chained audit log");
  audit
    .command("verify")
    .description(
      "walk the whole chain and check it against its signed checkpoints; exit 1 listing every broken entry, gap and checkpoint it no longer matches",
    )
    .option(
      "--checkpoints <file>",
      "pscsd's log (JSON lines, as shipped off the host): check every checkpoint in it",
    )
    .option("--public-key <file>", "the checkpoint key's public half (default: audit.checkpointKey + '.pub')")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(async (o: { config: string; json?: boolean; checkpoints?: string; publicKey?: string }) => {
      const logged = o.checkpoints === undefined ? undefined : await readCheckpointLog(o.checkpoints);
      const local = openLocal(o.config);
      try {
        const publicKey = checkpointPublicKey(o.publicKey, local.config.audit.checkpointKey, !!o.checkpoints);
        const started = performance.now();
        const r = await inspection(local)
          .verify(consoleAuditor(), { publicKey, ...(logged ? { logged } : {}) })
          .catch((e) => asCliError(e, OPTIONS));
        const ms = Math.round(performance.now() - started);
        if (!r.ok) {
          if (o.json) print(true, { ...r, ms }, () => "");
          throw new CliError(describeBroken(r));
        }
        const cp = r.checkpoints;
        print(
          !!o.json,
          { ...r, ms },
          () =>
            `audit chain ok: ${r.entries} entries, head ${r.headHash.slice(0, 16)}…${r.anchored ? ", matches its anchor" : ""}${
              cp
                ? `, ${cp.matched} signed checkpoint${cp.matched === 1 ? " matches" : "s match"} (key ${cp.fingerprint.slice(0, 16)}…${cp.newestMatched ? `; newest: entry ${cp.newestMatched.seq}, ${iso(cp.newestMatched.at)}` : ""})`
                : ", checkpoints not checked (no public key)"
            } (${ms} ms)`,
        );
      } finally {
        local.close();
      }
    });
  audit
    .command("sample")
    .description("draw items (holds, exports, PTZ sessions) at random for an inspection; the draw is audited")
    .option("--count <n>", "how many items", "4")
    .option("--seed <seed>", "repeat an earlier draw (the seed is printed with every draw)")
    .option("--from <time>", "period start (ISO 8601, no offset: the site's time zone; or epoch ms)")
    .option("--to <time>", "period end")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output")
    .action(
      async (o: {
        count: string;
        seed?: string;
        from?: string;
        to?: string;
        config: string;
        json?: boolean;
      }) => {
        const count = Number(o.count);
        const times = cliTimes(o.config);
        const [from, to] = [optionalTime(times, "--from", o.from), optionalTime(times, "--to", o.to)];
        const local = openLocal(o.config);
        try {
          const s = await inspection(local)
            .sample({ count, seed: o.seed, from, to }, consoleAuditor())
            .catch((e) => {
              // The option's text, not the number it read as, is what the person typed.
              if (e instanceof ServiceError && e.field === "count")
                throw new CliError(`--count: expected a whole number 1-${SAMPLE_MAX}, got '${o.count}'`, 2);
              return asCliError(e, OPTIONS);
            });
          print(!!o.json, s, () => {
            const pop = Object.entries(s.population)
              .map(([k, n]) => `${n} ${k}`)
              .join(", ");
            const head = `random inspection sample, seed ${s.seed} (repeat with --seed ${s.seed}); drawn from ${pop}`;
            if (!s.items.length) return `${head}\nnothing to sample in this period`;
            const short =
              s.items.length < count
                ? `\nonly ${s.items.length} item(s) exist in this period; all are listed`
                : "";
            return `${head}${short}\n${s.items
              .map(
                (it, i) =>
                  `\n${i + 1}. ${it.target}  (${it.kind}; ${it.events} audit entries ${iso(it.firstAt)} … ${iso(it.lastAt)}; by ${it.actors.join(", ")})\n   actions: ${it.actions.join(", ")}${it.ptzSession ? `\n${ptzSessionLines(it.ptzSession)}` : ""}\n${it.checklist.map((c) => `   [ ] ${c}`).join("\n")}`,
              )
              .join("\n")}`;
          });
        } finally {
          local.close();
        }
      },
    );
  audit
    .command("export")
    .description("write audit entries as CSV (stdout, or --output); the export is audited")
    .option("--from <time>", "from (ISO 8601, no offset: the site's time zone; or epoch ms)")
    .option("--to <time>", "to")
    .option("--action <action>", "an action, or a prefix ending in '.' (auth.)")
    .option("--actor <actor>", "e.g. user:jdoe")
    .option("--camera <id>", "entries about one camera (who saw it, moved it, held or exported its footage)")
    .option("-o, --output <file>", "write here instead of stdout")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .action(
      async (o: {
        from?: string;
        to?: string;
        action?: string;
        actor?: string;
        camera?: string;
        output?: string;
        config: string;
      }) => {
        const times = cliTimes(o.config);
        const filter = {
          from: optionalTime(times, "--from", o.from),
          to: optionalTime(times, "--to", o.to),
          action: o.action,
          actor: o.actor,
          camera: o.camera,
        };
        const local = openLocal(o.config);
        try {
          const csv = await inspection(local)
            .export(filter, consoleAuditor())
            .catch((e) => asCliError(e, OPTIONS));
          const out = o.output ? createWriteStream(o.output, { flags: "wx" }) : process.stdout;
          const done = new Promise<void>((resolve, reject) => {
            out.once("error", (e: NodeJS.ErrnoException) =>
              reject(new CliError(`--output: cannot write ${o.output}: ${e.code}`)),
            );
            if (out === process.stdout) resolve();
            else out.once("finish", resolve);
          });
          const n = await csv.writeTo(out);
          if (out !== process.stdout) out.end();
          await done;
          if (o.output) process.stderr.write(`wrote ${n} entries to ${o.output}\n`);
        } finally {
          local.close();
        }
      },
    );
}

/** A drawn PTZ session in full, for the inspector: who, why, when, how it ended, every command. */
function ptzSessionLines(s: NonNullable<SampleItem["ptzSession"]>): string {
  const why = `${s.purpose.kind}${s.purpose.reference ? ` ${s.purpose.reference}` : ""}${s.purpose.note ? ` (${s.purpose.note})` : ""}`;
  const end =
    s.endedAt === null
      ? "still open"
      : `${iso(s.endedAt)} ${s.endReason}${s.endedBy ? ` by ${s.endedBy}` : ""}`;
  return [
    `   session: ${s.actor} on ${s.camera} for ${why}; ${iso(s.startedAt)} … ${end}`,
    ...s.commands.map(
      (c) =>
        `     ${c.seq}. ${iso(c.at)} ${c.kind} ${JSON.stringify(c.params)} ${c.outcome}${c.updates > 1 ? ` (${c.updates} updates)` : ""}${c.error ? `: ${c.error}` : ""}`,
    ),
  ].join("\n");
}
