import type { Command } from "commander";
import { textFault } from "../text/well-formed.js";
import { CliError } from "./common.js";

/**
 * Every argument and option value pscs takes is acceptable text of bounded length, or the command
 * is refused before it runs (exit 2), naming the option, so nothing the CLI audits or stores can
 * carry ill-formed text. Node turns argument bytes that are not UTF-8 into U+FFFD before we see
 * them, so U+FFFD is refused too: typed on purpose it is vanishingly rare, as mangled input it is
 * the only trace left.
 */

/** Longer than any path (PATH_MAX) or text field pscs takes. */
export const MAX_ARGUMENT_CHARS = 4096;

function argumentFault(s: string): string | undefined {
  if (s.length > MAX_ARGUMENT_CHARS) return `longer than ${MAX_ARGUMENT_CHARS} characters`;
  if (s.includes("\ufffd")) return "not valid UTF-8 (the bytes given are not UTF-8 text)";
  return textFault(s);
}

function* strings(value: unknown): Generator<string> {
  if (typeof value === "string") yield value;
  else if (Array.isArray(value)) for (const v of value) yield* strings(v);
}

/** A commander preAction hook: checks the running command's arguments and its parents' options. */
export function checkArguments(_hooked: Command, action: Command): void {
  const declared = action.registeredArguments;
  action.args.forEach((arg, i) => {
    const fault = argumentFault(arg);
    const name = declared[Math.min(i, declared.length - 1)]?.name() ?? String(i + 1);
    if (fault) throw new CliError(`argument <${name}>: ${fault}`, 2);
  });
  for (let cmd: Command | null = action; cmd; cmd = cmd.parent) {
    for (const option of cmd.options) {
      for (const s of strings(cmd.getOptionValue(option.attributeName()))) {
        const fault = argumentFault(s);
        if (fault) throw new CliError(`${option.long ?? option.short}: ${fault}`, 2);
      }
    }
  }
}
