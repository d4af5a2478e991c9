import { type FSWatcher, mkdirSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * How a process other than pscsd (the pscs CLI approving or cancelling an export against the same
 * directory, no HTTP) wakes pscsd's export jobs at once: it rewrites a small file in the exports
 * root, which pscsd watches (inotify: no timer, so no idle wake-ups). A lost wake-up costs only
 * time: pscsd also looks each minute.
 */

/** In the exports root; not a package name (`export-<id>`) nor a partial one (`.partial-`). */
export const JOB_WAKE_FILE = ".jobs-wake";

/** Wakes the export jobs of the pscsd sharing this exports root; never throws (a wake-up is a hint). */
export function wakeExportJobs(exportsRoot: string): void {
  try {
    mkdirSync(exportsRoot, { recursive: true });
    writeFileSync(join(exportsRoot, JOB_WAKE_FILE), `${Date.now()}\n`);
  } catch {
    // pscsd still looks within a minute.
  }
}

/** Calls `onWake` each time another process wakes the jobs; close() stops watching. */
export function watchExportJobWakes(exportsRoot: string, onWake: () => void): FSWatcher {
  mkdirSync(exportsRoot, { recursive: true });
  const w = watch(exportsRoot, { persistent: false }, (_event, name) => {
    if (name === JOB_WAKE_FILE) onWake();
  });
  w.on("error", () => w.close());
  return w;
}
