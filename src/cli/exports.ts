import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Permission } from "../auth/roles.js";
import type { ActionContext } from "../auth/service.js";
import { exportPublicKey } from "../compose/console.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { deliver } from "../exports/deliver.js";
import type { BasisInput, ExportDesk, ExportRecord } from "../exports/export.js";
import { KeyFileError } from "../keys/ed25519-file.js";
import { createLogger } from "../log/logger.js";
import {
  asCliError,
  CliError,
  DEFAULT_CONFIG,
  type Local,
  type OptionsByField,
  openLocal,
  print,
} from "./common.js";
import { asNamedUser } from "./named-user.js";
import { progressLine } from "./progress.js";
import { cliTimes, isoOr, parseRange } from "./times.js";

/**
 * `pscs export request|list|show|wait|approve|refuse|cancel|download|verify`: exports at the server's
 * console, each as a named user holding the permission the API would demand (./named-user.ts). The
 * rules (legal basis, hold, two-person rule, who downloads) are the services'; a refusal names the
 * option typed and quotes the policy rule. `pscs export key` needs no sign-in: the key is public.
 */

const iso = (t: number | null) => isoOr(t, "—");

interface Opened {
  local: Local;
  exports: ExportDesk;
}

/** The CLI prints results and audits actions; its log carries only what went wrong, on stderr. */
const quietLog = createLogger({ name: "pscs", level: "error", destination: process.stderr });

function open(configFile: string): Opened {
  const local = openLocal(configFile);
  return { local, exports: local.retention(quietLog).exports };
}

function withSignIn<T>(
  o: { config: string; as?: string },
  permission: Permission,
  f: (x: Opened, by: ActionContext) => Promise<T>,
  options: OptionsByField = {},
  check?: () => void,
): Promise<T> {
  return asNamedUser(
    o,
    permission,
    open,
    (x, by) => f(x, by).catch((e: unknown) => asCliError(e, options)),
    check,
  );
}

/** The fingerprint in groups of four hex digits, eight to a line: for reading aloud and comparing. */
function groupedFingerprint(hex: string): string {
  const groups = hex.match(/.{1,4}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 8) lines.push(groups.slice(i, i + 8).join(" "));
  return lines.join("\n");
}

/** `pscs export request`'s options, by the request field each one fills. */
const REQUEST_OPTIONS: OptionsByField = {
  "basis/type": "--basis",
  "basis/caseNumber": "--case",
  "basis/requestingOfficer": "--officer",
  "basis/agency": "--agency",
  "basis/requestNumber": "--request-number",
  "basis/requestDate": "--request-date",
  "basis/dispute": "--dispute",
  "basis/court": "--court",
  "basis/docketNumber": "--docket",
  "basis/judge": "--judge",
  "basis/orderDate": "--order-date",
  "basis/scan": "--scan",
  "recipient/name": "--recipient",
  "recipient/organisation": "--organisation",
  "recipient/delivery": "--delivery",
  purpose: "--purpose",
  ranges: "--range",
  hold: "--hold",
};

function exportText(e: ExportRecord): string {
  const b = e.basis;
  const basis =
    b.type === "criminal"
      ? `criminal: case ${b.caseNumber}, requested by ${b.requestingOfficer}`
      : b.type === "agency_request"
        ? `agency request ${b.requestNumber} of ${b.requestDate} from ${b.agency}`
        : `court order (${b.dispute}) ${b.docketNumber} of ${b.orderDate}, ${b.court}, ${b.judge}`;
  return [
    `export ${e.id}  ${e.status.toUpperCase()}  hold ${e.hold}`,
    `  basis: ${basis}`,
    ...("scan" in b ? [`  scan: ${b.scan.type}, ${b.scan.bytes} bytes, sha256 ${b.scan.sha256}`] : []),
    `  recipient: ${e.recipient.name}, ${e.recipient.organisation} (${e.recipient.delivery})`,
    `  purpose: ${e.purpose}`,
    ...e.ranges.map((r) => `  ${r.camera}  ${iso(r.fromMs)} → ${iso(r.toMs)}`),
    `  requested by ${e.requestedBy} at ${iso(e.requestedAt)}`,
    e.decidedBy
      ? `  ${e.status === "refused" ? "refused" : "approved"} by ${e.decidedBy} at ${iso(e.decidedAt)}${e.decisionNote ? `: ${e.decisionNote}` : ""}`
      : "  awaiting a commander (not the one who entered it)",
    ...(e.error ? [`  ${e.error}`] : []),
    ...(e.packagePath
      ? [
          `  package ${e.packagePath} (${e.packageBytes} bytes) produced at ${iso(e.producedAt)}, manifest sha256 ${e.manifestSha256}`,
        ]
      : []),
    ...e.downloads.map(
      (d) =>
        `  downloaded by ${d.by} from ${d.from} at ${iso(d.at)}: ${d.bytes} bytes${d.complete ? "" : " (incomplete)"}`,
    ),
  ].join("\n");
}

const common = (c: Command) =>
  c
    .option("--as <username>", "act as this named user (password asked for, or read from stdin)")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output");

interface RequestOpts {
  config: string;
  as?: string;
  json?: boolean;
  basis: string;
  case?: string;
  officer?: string;
  agency?: string;
  requestNumber?: string;
  requestDate?: string;
  dispute?: string;
  court?: string;
  docket?: string;
  judge?: string;
  orderDate?: string;
  scan?: string;
  recipient: string;
  organisation: string;
  delivery: string;
  purpose: string;
  range: string[];
  hold?: string;
}

/** The basis as typed; the desk checks it field by field, naming the option of each. */
function basisOf(o: RequestOpts): BasisInput {
  let scan: Buffer | undefined;
  if (o.scan) {
    try {
      scan = readFileSync(o.scan);
    } catch (e) {
      throw new CliError(`--scan: cannot read ${o.scan}: ${(e as NodeJS.ErrnoException).code}`, 2);
    }
  }
  const fields = {
    type: o.basis,
    caseNumber: o.case,
    requestingOfficer: o.officer,
    agency: o.agency,
    requestNumber: o.requestNumber,
    requestDate: o.requestDate,
    dispute: o.dispute,
    court: o.court,
    docketNumber: o.docket,
    judge: o.judge,
    orderDate: o.orderDate,
    scan,
  };
  return Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined),
  ) as unknown as BasisInput;
}

export function exportCommands(program: Command): void {
  const ex = program.command("export").description("evidence exports on a legal basis");
  common(
    ex
      .command("request")
      .description("request an export (records); a commander other than you approves it")
      .requiredOption("--basis <type>", "legal basis: criminal, agency_request or court_order")
      .option("--case <number>", "criminal: case number")
      .option("--officer <who>", "criminal: requesting officer or prosecutor")
      .option("--agency <agency>", "agency_request: the requesting government agency")
      .option("--request-number <n>", "agency_request: number of the formal written request")
      .option("--request-date <date>", "agency_request: its date, YYYY-MM-DD")
      .option("--dispute <kind>", "court_order: criminal, or civil (between private litigants)")
      .option("--court <court>", "court_order: the issuing court (civil: the Superior Court of Connecticut)")
      .option("--docket <number>", "court_order: docket number")
      .option("--judge <judge>", "court_order: the issuing judge")
      .option("--order-date <date>", "court_order: date of the order, YYYY-MM-DD")
      .option("--scan <file>", "the written request or the order, scanned (PDF, PNG, JPEG or TIFF)")
      .requiredOption("--recipient <name>", "who receives it")
      .requiredOption("--organisation <org>", "the recipient's organisation")
      .requiredOption("--delivery <how>", "how it is handed over, e.g. 'in person, USB drive'")
      .requiredOption("--purpose <text>", "why it is released: case number or reason")
      .requiredOption(
        "--range <camera,from,to...>",
        "CAMERA,FROM,TO: times in ISO 8601 (no offset: the site's time zone) or epoch ms; repeat for more",
      )
      .option(
        "--hold <id>",
        "the hold it belongs to (default: one covering the ranges, or a new hold request)",
      ),
  ).action(async (o: RequestOpts) => {
    const times = cliTimes(o.config);
    const ranges = o.range.map((r) => parseRange(times, r));
    const basis = basisOf(o);
    const hold = o.hold === undefined ? undefined : idOf("--hold", o.hold);
    const e = await withSignIn(
      o,
      "exports.create",
      ({ exports }, by) =>
        exports.request(
          {
            basis,
            recipient: { name: o.recipient, organisation: o.organisation, delivery: o.delivery },
            purpose: o.purpose,
            ranges,
            ...(hold === undefined ? {} : { hold }),
          },
          by,
        ),
      REQUEST_OPTIONS,
    );
    print(
      !!o.json,
      e,
      () =>
        `${exportText(e)}\nexport requested: another commander approves it with 'pscs export approve ${e.id}'`,
    );
  });
  common(ex.command("list").description("every export, newest first")).action(
    async (o: { config: string; as?: string; json?: boolean }) => {
      const list = await withSignIn(o, "exports.read", ({ exports }, by) => exports.list(by));
      print(!!o.json, list, () => (list.length ? list.map(exportText).join("\n\n") : "no exports"));
    },
  );
  common(ex.command("show <id>").description("one export")).action(
    async (id: string, o: { config: string; as?: string; json?: boolean }) => {
      const e = await withSignIn(o, "exports.read", ({ exports }, by) => exports.get(idOf("<id>", id), by));
      print(!!o.json, e, () => exportText(e));
    },
  );
  common(
    ex
      .command("wait <id>")
      .description(
        "follow an export's production (progress on stderr) until it ends: exit 0 when done, 1 when failed, refused or cancelled",
      )
      .option("--every <ms>", "how often to look, in ms", "500"),
  ).action(async (id: string, o: { config: string; as?: string; json?: boolean; every: string }) => {
    const n = idOf("<id>", id);
    const every = Math.max(100, Number(o.every) || 500);
    const e = await withSignIn(o, "exports.read", ({ exports }, by) => follow(exports, n, by, every));
    print(!!o.json, e, () => exportText(e));
    if (e.status !== "done")
      throw new CliError(`export ${e.id} ${e.status}: ${e.error ?? "no reason given"}`);
  });
  for (const verb of ["approve", "refuse", "cancel"] as const) {
    const c = common(
      ex.command(`${verb} <id>`).description(
        {
          approve:
            "approve an export (a commander who did not enter it; its hold active): queued for production",
          refuse: "refuse an export request (commander), with the reason",
          cancel:
            "cancel an export while requested, queued or running (its requester or a commander), with the reason",
        }[verb],
      ),
    );
    if (verb === "approve") c.option("--note <text>", "a note for the record", "");
    else c.requiredOption("--reason <text>", "the written reason");
    c.action(
      async (
        id: string,
        o: { config: string; as?: string; json?: boolean; note?: string; reason?: string },
      ) => {
        const n = idOf("<id>", id);
        const e = await withSignIn(
          o,
          verb === "cancel" ? "exports.cancel" : "exports.approve",
          ({ exports }, by) =>
            verb === "approve"
              ? exports.approve(n, o.note ?? "", by)
              : verb === "refuse"
                ? exports.refuse(n, o.reason ?? "", by)
                : exports.cancel(n, o.reason ?? "", by),
        );
        print(!!o.json, e, () => exportText(e));
      },
    );
  }
  packageCommands(ex);
}

/** `pscs export download|verify|key`: the finished package and the key a recipient pins. */
function packageCommands(ex: Command): void {
  common(
    ex
      .command("download <id>")
      .description("write a done export's package as a zip (records, commander); recorded and audited")
      .option("-o, --output <file>", "where to write it (default: export-<id>.zip here); never overwritten"),
  ).action(async (id: string, o: { config: string; as?: string; json?: boolean; output?: string }) => {
    const n = idOf("<id>", id);
    const file = resolve(o.output ?? `export-${n}.zip`);
    const exists = () => {
      if (existsSync(file)) throw new CliError(`--output: ${file} exists; pscs never overwrites a file`, 1);
    };
    const r = await withSignIn(
      o,
      "exports.download",
      async ({ local }, by) => {
        const p = await local.exportPackages().download(n, by);
        // "wx": a file made meanwhile is not overwritten either.
        const sent = await deliver(p, createWriteStream(file, { flags: "wx" }));
        if (sent.error) {
          await rm(file, { force: true });
          throw new CliError(`export ${n}: download failed after ${sent.sent} bytes: ${String(sent.error)}`);
        }
        return { export: n, file, bytes: sent.sent };
      },
      {},
      exists,
    );
    print(
      !!o.json,
      r,
      () =>
        `wrote ${r.file}: ${r.bytes} bytes (export ${n}); check it with 'pscs verify ${r.file} --fingerprint <pscs export key>'`,
    );
  });
  common(
    ex
      .command("verify <id>")
      .description("check a done export's stored package against the department's key; audited"),
  ).action(async (id: string, o: { config: string; as?: string; json?: boolean }) => {
    const n = idOf("<id>", id);
    const r = await withSignIn(o, "exports.read", ({ local }, by) => local.exportPackages().verify(n, by));
    if (!r.ok) {
      if (o.json) print(true, r, () => "");
      throw new CliError(
        [
          `export ${n}: its stored package does NOT verify (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"})`,
          ...r.problems.map((p) => `  ${p.subject}: ${p.problem}`),
        ].join("\n"),
      );
    }
    print(
      !!o.json,
      r,
      () =>
        `export ${n}: its stored package verifies: ${r.files} files, ${r.bytes} bytes, signed by the department's key ${r.keyFingerprint}`,
    );
  });
  ex.command("key")
    .description(
      "the department's export signing key: its fingerprint, for recipients to pin (`pscs verify --fingerprint`); no sign-in, the key is public",
    )
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--pem", "print the public key (PEM) too")
    .option("--json", "machine-readable output")
    .action((o: { config: string; pem?: boolean; json?: boolean }) => {
      let key: { fingerprint: string; publicKeyPem: string };
      try {
        key = exportPublicKey(loadConfig(o.config));
      } catch (e) {
        if (e instanceof ConfigError) throw new CliError(e.message, 78);
        if (e instanceof KeyFileError)
          throw new CliError(`${e.message} (pscsd makes the key at first start)`);
        throw e;
      }
      print(!!o.json, key, () =>
        [
          "export signing key fingerprint (SHA-256 of the public key):",
          groupedFingerprint(key.fingerprint),
          ...(o.pem ? ["", key.publicKeyPem.trimEnd()] : []),
        ].join("\n"),
      );
    });
}

/**
 * Reads the export every `every` ms until it ends, drawing its progress on stderr: redrawn in place
 * on a terminal, else one line per change (a log reads it).
 */
async function follow(
  exports: ExportDesk,
  id: number,
  by: ActionContext,
  every: number,
): Promise<ExportRecord> {
  const tty = process.stderr.isTTY === true;
  let shown = "";
  for (;;) {
    const e = await exports.get(id, by);
    const ended = ["done", "failed", "refused", "cancelled"].includes(e.status);
    const line =
      e.status === "running" && e.progress
        ? progressLine(e.progress)
        : e.status === "done" && e.progress
          ? progressLine({ ...e.progress, bytesDone: e.progress.bytesTotal, etaMs: 0 })
          : e.status;
    if (line !== shown) {
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      shown = line;
    }
    if (ended) {
      if (tty) process.stderr.write("\n");
      return e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

function idOf(what: string, v: string): number {
  if (!/^\d{1,12}$/.test(v)) throw new CliError(`${what}: expected a number, got '${v}'`, 2);
  return Number(v);
}
