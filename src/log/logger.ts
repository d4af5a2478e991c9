import { type DestinationStream, type Logger, pino } from "pino";
import { scrubText, scrubValue } from "./redact.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Human-readable lines for the demo and a terminal; JSON (the default) for production. */
  pretty?: boolean;
  destination?: DestinationStream;
}

/** The one way to make a logger in PSCS: structured pino JSON with secrets scrubbed (see redact.ts). */
export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    name: opts.name,
    level: opts.level ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      log: (obj: Record<string, unknown>) => scrubValue(obj) as Record<string, unknown>,
    },
    hooks: {
      // Message strings are scrubbed too: a URL with credentials interpolated into a message is
      // as much a leak as one in a field.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === "string" ? scrubText(a) : a)),
        );
      },
    },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.pretty) {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } },
    });
  }
  return pino(options);
}
