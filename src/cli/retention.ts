import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { Permission } from "../auth/roles.js";
import type { ActionContext } from "../auth/service.js";
import { ServiceError } from "../errors/service-error.js";
import {
  type Coverage,
  HOLD_STATUSES,
  type Hold,
  type HoldRequestForm,
  type HoldStatus,
  LEGAL_BASES,
  type LegalBasis,
} from "../holds/hold.js";
import type { HoldDesk } from "../holds/service.js";
import { createLogger } from "../log/logger.js";
import type { PurgeDesk } from "../purge/service.js";
import {
  asCliError,
  CliError,
  DEFAULT_CONFIG,
  type Local,
  type OptionsByField,
  openLocal,
  print,
  refusalText,
} from "./common.js";
import { asNamedUser } from "./named-user.js";
import { cliTimes, isoOr, parseRange } from "./times.js";

/**
 * `pscs hold …`, `pscs holds log` and `pscs purge`: the retention side at the server's console.
 * Invariant: every command that changes or reveals holds acts as a named user (`--as`, ./named-user.ts),
 * signed in with that user's password and holding the permission the API would demand; the console is
 * no way round the commander's authority.
 */

const iso = (t: number | null) => isoOr(t, "—");

interface Opened {
  local: Local;
  holds: HoldDesk;
  purge: PurgeDesk;
}

/** The retention services, from the console's composition root. */
function open(configFile: string): Opened {
  const local = openLocal(configFile);
  const retention = local.retention(quietLog);
  return { local, holds: retention.holds, purge: retention };
}

/** The CLI prints results and audits actions; its log carries only what went wrong, on stderr. */
const quietLog = createLogger({ name: "pscs", level: "error", destination: process.stderr });

/** Runs `f` as the named, signed-in user with `permission`, over the retention services. */
function withSignIn<T>(
  o: { config: string; as?: string },
  permission: Permission,
  f: (x: Opened, by: ActionContext) => Promise<T> | T,
  check?: (x: Opened) => void,
): Promise<T> {
  return asNamedUser(o, permission, open, f, check);
}

/** `pscs hold request`'s options, by the request field each one fills. */
const REQUEST_OPTIONS: OptionsByField = {
  formNumber: "--form-number",
  receivedOn: "--received-on",
  requestedBy: "--requested-by",
  agency: "--agency",
  caseNumber: "--case",
  legalBasis: "--basis",
  reason: "--reason",
  ranges: "--range",
  form: "--form",
};

/** A refused request names the option at fault and says what is and is not still there, range by range. */
function withCoverage(e: unknown): never {
  if (!(e instanceof ServiceError)) throw e;
  const cov = e.extra?.coverage as Coverage[] | undefined;
  if (!cov) asCliError(e, REQUEST_OPTIONS);
  const span = (x: { fromMs: number; toMs: number }) => `${iso(x.fromMs)} → ${iso(x.toMs)}`;
  const lines = cov.flatMap((c) => [
    `  ${c.camera} ${span(c)}:`,
    ...c.present.map((x) => `    on disk      ${span(x)} (${x.segments} segments)`),
    ...c.destroyed.map((x) => `    destroyed    ${span(x)} (${x.reason}, ${iso(x.destroyedAt)})`),
    ...c.lost.map((x) => `    lost         ${span(x)}`),
    ...(c.notRecordedMs ? [`    never recorded: ${Math.round(c.notRecordedMs / 1000)} s of the range`] : []),
  ]);
  throw new CliError([refusalText(e, REQUEST_OPTIONS), ...lines].join("\n"), 2);
}

function holdText(h: Hold): string {
  return [
    `hold ${h.id}  ${h.status.toUpperCase()}${h.overdue ? " (OVERDUE: the commander has not decided)" : ""}  form ${h.formNumber} received ${h.receivedOn}  case ${h.caseNumber} (${h.legalBasis})`,
    `  requested by ${h.requestedBy}, ${h.agency}; entered by ${h.enteredBy} at ${iso(h.enteredAt)}`,
    `  reason: ${h.reason}`,
    ...h.ranges.map((r) => `  ${r.camera}  ${iso(r.fromMs)} → ${iso(r.toMs)}`),
    `  form scan: ${h.form.path} (${h.form.type}, ${h.form.bytes} bytes, sha256 ${h.form.sha256})`,
    h.decidedBy
      ? `  ${h.status === "refused" ? "refused" : "approved"} by ${h.decidedBy} at ${iso(h.decidedAt)}${h.decisionNote ? `: ${h.decisionNote}` : ""}`
      : "  awaiting the commander",
    ...(h.releasedBy ? [`  released by ${h.releasedBy} at ${iso(h.releasedAt)}: ${h.releaseReason}`] : []),
    `  evidence: ${h.evidence.segments} segments, ${h.evidence.bytes} bytes`,
  ].join("\n");
}

const common = (c: Command) =>
  c
    .option("--as <username>", "act as this named user (password asked for, or read from stdin)")
    .option("-c, --config <file>", "pscsd configuration file", DEFAULT_CONFIG)
    .option("--json", "machine-readable output");

export function retentionCommands(program: Command): void {
  const hold = program.command("hold").description("evidence holds from written requests");
  common(
    hold
      .command("request")
      .description("enter a written hold request (records); its footage is protected at once")
      .requiredOption("--form <file>", "the scanned signed form (PDF, PNG, JPEG or TIFF)")
      .requiredOption("--form-number <n>", "the number printed on the form")
      .requiredOption("--received-on <date>", "date the signed form was received, YYYY-MM-DD")
      .requiredOption("--requested-by <who>", "requesting member or party")
      .requiredOption("--agency <agency>", "requesting agency")
      .requiredOption("--case <number>", "case or incident number")
      .requiredOption("--basis <basis>", `legal basis: ${LEGAL_BASES.join(", ")}`)
      .requiredOption("--reason <text>", "why the footage must be kept")
      .requiredOption(
        "--range <camera,from,to...>",
        "CAMERA,FROM,TO: times in ISO 8601 (no offset: the site's time zone) or epoch ms; repeat for more",
      ),
  ).action(
    async (o: {
      config: string;
      as?: string;
      json?: boolean;
      form: string;
      formNumber: string;
      receivedOn: string;
      requestedBy: string;
      agency: string;
      case: string;
      basis: string;
      reason: string;
      range: string[];
    }) => {
      const times = cliTimes(o.config);
      const fields: HoldRequestForm = {
        formNumber: o.formNumber,
        receivedOn: o.receivedOn,
        requestedBy: o.requestedBy,
        agency: o.agency,
        caseNumber: o.case,
        // Checked by the service (check, below) before anything is stored.
        legalBasis: o.basis as LegalBasis,
        reason: o.reason,
        ranges: o.range.map((r) => parseRange(times, r)),
      };
      let form: Buffer;
      try {
        form = readFileSync(o.form);
      } catch (e) {
        throw new CliError(`--form: cannot read ${o.form}: ${(e as NodeJS.ErrnoException).code}`, 2);
      }
      const h = await withSignIn(
        o,
        "holds.request",
        ({ holds }, by) => holds.request({ ...fields, form }, by).catch(withCoverage),
        ({ holds }) => {
          try {
            holds.check(fields);
          } catch (e) {
            asCliError(e, REQUEST_OPTIONS);
          }
        },
      );
      print(
        !!o.json,
        h,
        () => `${holdText(h)}\nrequest entered: the commander approves it with 'pscs hold approve ${h.id}'`,
      );
    },
  );
  for (const verb of ["approve", "refuse", "release"] as const) {
    const c = common(
      hold.command(`${verb} <id>`).description(
        {
          approve:
            "approve a request (commander): the hold is made and its footage goes into the evidence tree",
          refuse: "refuse a request (commander), with the reason",
          release:
            "release a hold (commander), with the written reason; its footage then follows normal retention",
        }[verb],
      ),
    );
    if (verb === "approve") c.option("--note <text>", "a note for the hold log", "");
    else c.requiredOption("--reason <text>", "the written reason");
    c.action(
      async (
        id: string,
        o: { config: string; as?: string; json?: boolean; note?: string; reason?: string },
      ) => {
        const n = holdId(id);
        const h = await withSignIn(o, "holds.approve", ({ holds }, by) =>
          verb === "approve"
            ? holds.approve(n, o.note ?? "", by)
            : verb === "refuse"
              ? holds.refuse(n, o.reason ?? "", by)
              : holds.release(n, o.reason ?? "", by),
        );
        print(!!o.json, h, () => holdText(h));
      },
    );
  }
  common(hold.command("show <id>").description("one request or hold")).action(
    async (id: string, o: { config: string; as?: string; json?: boolean }) => {
      const h = await withSignIn(o, "holds.log", ({ holds }) => holds.get(holdId(id)));
      print(!!o.json, h, () => holdText(h));
    },
  );
  common(
    hold
      .command("verify <id>")
      .description("hash every file of a hold's evidence tree; exit 1 on any problem"),
  ).action(async (id: string, o: { config: string; as?: string; json?: boolean }) => {
    const r = await withSignIn(o, "holds.log", ({ holds }, by) => holds.verify(holdId(id), by));
    print(!!o.json, { ...r, ok: r.problems.length === 0 }, () =>
      r.problems.length === 0
        ? `hold ${r.hold}: ${r.files} files, ${r.bytes} bytes, all match their recorded SHA-256`
        : [
            `hold ${r.hold}: ${r.problems.length} problem(s) in ${r.files} files`,
            ...r.problems.map((p) => `  ${p.file}: ${p.problem} (${p.detail})`),
          ].join("\n"),
    );
    if (r.problems.length) process.exitCode = 1;
  });
  const list = (c: Command) =>
    common(c)
      .option("--status <status>", `one of ${HOLD_STATUSES.join(", ")}`)
      .option("--case <number>", "case or incident number")
      .option("--camera <id>", "camera")
      .option("--from <time>", "entered at or after (ISO 8601, no offset: the site's time zone; or epoch ms)")
      .option("--to <time>", "entered before");
  type ListOpts = {
    config: string;
    as?: string;
    json?: boolean;
    status?: string;
    case?: string;
    camera?: string;
    from?: string;
    to?: string;
    csv?: boolean;
    html?: boolean;
  };
  /** The hold log, or (--csv, --html) its export as the service renders and audits it. */
  const listHolds = (o: ListOpts): Promise<{ holds: Hold[]; body?: string }> => {
    const times = cliTimes(o.config);
    const filter = {
      ...(o.status ? { status: o.status as HoldStatus } : {}),
      ...(o.case ? { caseNumber: o.case } : {}),
      ...(o.camera ? { camera: o.camera } : {}),
      ...(o.from ? { from: times.read("--from", o.from) } : {}),
      ...(o.to ? { to: times.read("--to", o.to) } : {}),
    };
    return withSignIn(
      o,
      "holds.log",
      async ({ holds }, by) =>
        o.csv || o.html
          ? holds.exportLog(filter, o.csv ? "csv" : "html", by)
          : { holds: await holds.list(filter) },
      ({ holds }) => {
        try {
          holds.checkFilter(filter);
        } catch (e) {
          asCliError(e, { status: "--status" });
        }
      },
    );
  };
  list(hold.command("list").description("requests and holds, newest first")).action(async (o: ListOpts) => {
    const { holds } = await listHolds(o);
    print(!!o.json, holds, () => (holds.length ? holds.map(holdText).join("\n\n") : "no holds match"));
  });
  list(
    program
      .command("holds")
      .description("the hold log")
      .command("log")
      .description("the Records Service Division Commander's hold log (CSV or printable HTML)")
      .option("--csv", "as CSV (RFC 4180)")
      .option("--html", "as a printable page"),
  ).action(async (o: ListOpts) => {
    const { holds, body } = await listHolds(o);
    if (body !== undefined) process.stdout.write(body);
    else print(!!o.json, holds, () => (holds.length ? holds.map(holdText).join("\n\n") : "no holds match"));
  });

  common(
    program
      .command("purge")
      .description("destroy footage past the retention period that no hold protects")
      .option("--dry-run", "print what the next run would destroy (no sign-in needed)")
      .option("--now", "run the purge now (as a named user with purge.run)"),
  ).action(async (o: { config: string; as?: string; json?: boolean; dryRun?: boolean; now?: boolean }) => {
    if (!!o.dryRun === !!o.now) throw new CliError("expected exactly one of --dry-run or --now", 2);
    if (o.dryRun) {
      const { local, purge } = open(o.config);
      try {
        const plan = await purge.plan();
        print(!!o.json, plan, () =>
          [
            `next run would destroy ${plan.count} segment(s), ${plan.bytes} bytes, ending before ${iso(plan.cutoffMs)}`,
            ...plan.segments.map((s) => `  ${s.camera}  ${iso(s.startMs)} → ${iso(s.endMs)}  ${s.path}`),
            ...(plan.count > plan.segments.length
              ? [`  … and ${plan.count - plan.segments.length} more`]
              : []),
          ].join("\n"),
        );
      } finally {
        local.close();
      }
      return;
    }
    const r = await withSignIn(o, "purge.run", ({ purge }, by) => purge.run("manual", by));
    print(
      !!o.json,
      r,
      () =>
        `purge run ${r.run}: destroyed ${r.destroyed} segment(s), ${r.bytes} bytes (cutoff ${iso(r.cutoffMs)})${r.recovered ? `; finished ${r.recovered} from an interrupted run` : ""}${r.failures.length ? `; ${r.failures.length} could not be destroyed` : ""}`,
    );
    if (r.failures.length) process.exitCode = 1;
  });
}

function holdId(v: string): number {
  if (!/^\d{1,12}$/.test(v)) throw new CliError(`<id>: expected a hold number, got '${v}'`, 2);
  return Number(v);
}
