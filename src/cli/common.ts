import { userInfo } from "node:os";
import { createInterface } from "node:readline";
import type { ActionContext } from "../auth/service.js";
import { type ConsoleServices, openConsole } from "../compose/console.js";
import { type Config, ConfigError, loadConfig } from "../config/load.js";
import { quotedPolicy, ServiceError } from "../errors/service-error.js";

/**
 * What every pscs subcommand shares: its error type, output, the local catalog, and password prompts.
 * Invariant: a command either prints its result (JSON with --json) and exits 0, or throws CliError
 * with a one-line reason and an exit code; nothing else reaches the terminal.
 */

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/**
 * The options a command took, by the service field each one fed ({ to: "--to" }), so that a
 * refusal names what the person typed rather than the service's field.
 */
export type OptionsByField = Readonly<Record<string, string>>;

/** A service's refusal as the CLI's: its message naming the option at fault; exit 2 for bad input, 1 otherwise. */
export function asCliError(e: unknown, options: OptionsByField = {}): never {
  if (e instanceof ServiceError) {
    const policy = quotedPolicy(e);
    const text = refusalText(e, options) + (policy ? `\n  policy (${policy.rule}): "${policy.text}"` : "");
    throw new CliError(text, e.kind === "invalid" ? 2 : 1);
  }
  throw e;
}

/**
 * A refusal's text with its field as the option: an index counted from 1, as the person counts the
 * repeats of an option, and a part of the option's value in capitals, as the option's help names
 * it (`ranges/1/to` → `--range #2 TO`). A field the command took no option for keeps the message.
 */
export function refusalText(e: ServiceError, options: OptionsByField = {}): string {
  // An option may fill a nested field, named by its whole path ('basis/caseNumber': '--case').
  const whole = e.field ? options[e.field] : undefined;
  if (whole) return `${whole}: ${e.bareMessage}`;
  const [head = "", ...rest] = e.field?.split("/") ?? [];
  const option = options[head];
  if (!option) return e.message;
  const parts = rest.map((p) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : p.toUpperCase()));
  return `${[option, ...parts].join(" ")}: ${e.bareMessage}`;
}

export function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export const DEFAULT_CONFIG = process.env.PSCS_CONFIG ?? "/etc/pscs/pscs.yaml";

/** The person at the console, for audit entries: sudo's caller when run through sudo. */
export function localActor(): string {
  return `local:${process.env.SUDO_USER || userInfo().username}`;
}

/** Who acts in the account commands: the person at the console, with the authority of an admin. */
export function consoleAdmin(): ActionContext {
  return { actor: localActor(), role: "admin", client: "cli" };
}

/** Who acts in the audit commands: the person at the console, with the authority of an auditor. */
export function consoleAuditor(): ActionContext {
  return { actor: localActor(), role: "auditor", client: "cli" };
}

export type Local = ConsoleServices;

/** Opens the catalog named by the config file, as the daemon would (they may run side by side). */
export function openLocal(configFile: string): Local {
  let config: Config;
  try {
    config = loadConfig(configFile);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, 78);
    throw e;
  }
  try {
    return openConsole(config);
  } catch (e) {
    throw new CliError(`cannot open catalog ${config.storage.catalog}: ${(e as Error).message}`);
  }
}

/**
 * Reads a password without echo from a terminal, or the next line of stdin when it is not one (for
 * provisioning scripts). Never from the command line, where it would sit in shell history and `ps`.
 */
export async function readPassword(
  prompt: string,
  lines: AsyncIterator<string> | undefined,
): Promise<string> {
  if (!process.stdin.isTTY) {
    const next = await (lines ?? stdinLines()).next();
    if (next.done) throw new CliError("expected the password on standard input (one line), found none", 2);
    return next.value;
  }
  const stdin = process.stdin;
  // Echo off before the prompt shows: a fast typist (or a script) must never see the answer echoed.
  stdin.setRawMode(true);
  stdin.resume();
  process.stderr.write(prompt);
  let value = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            return resolve(value);
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            return reject(new CliError("cancelled", 130));
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

let sharedLines: AsyncIterator<string> | undefined;
/** stdin as lines, one reader for the whole process. */
export function stdinLines(): AsyncIterator<string> {
  sharedLines ??= createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
  return sharedLines;
}

/** Asks twice on a terminal; once from a pipe. */
export async function newPassword(what: string): Promise<string> {
  const first = await readPassword(`${what}: `, process.stdin.isTTY ? undefined : stdinLines());
  if (process.stdin.isTTY) {
    const again = await readPassword(`${what} again: `, undefined);
    if (again !== first) throw new CliError("the two passwords differ; nothing was changed", 2);
  }
  return first;
}
