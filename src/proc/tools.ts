import { execFileSync } from "node:child_process";

/**
 * The external programs pscsd runs, checked once before start-up: found missing later, a missing
 * ffprobe would look like unreadable footage to reconciliation (which sets such files aside), and a
 * missing ffmpeg like a camera that never records.
 */

export class ToolMissingError extends Error {
  constructor(
    /** The config field that names the program. */
    readonly field: string,
    readonly path: string,
    cause: unknown,
  ) {
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    super(`${field}: cannot run '${path} -version' (${why}); install ffmpeg or set ${field} to its path`, {
      cause,
    });
    this.name = "ToolMissingError";
  }
}

/** Throws ToolMissingError for the first program (config field → path) that does not run. */
export function checkTools(tools: Record<string, string>): void {
  for (const [field, path] of Object.entries(tools)) {
    try {
      execFileSync(path, ["-version"], { stdio: "ignore", timeout: 10_000 });
    } catch (e) {
      throw new ToolMissingError(field, path, e);
    }
  }
}
