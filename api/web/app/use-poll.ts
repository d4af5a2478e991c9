import { useEffect, useState } from "preact/hooks";
import { ApiProblem } from "../api.js";
import { session } from "./session.js";

/**
 * Calls `load` now, every `everyMs` while the screen is shown, and again when `deps` change; the last answer and the last
 * error (as words). A 401 means the session is gone: the store is told, and the sign-in screen shows.
 */
export function usePoll<T>(
  load: () => Promise<T>,
  everyMs: number,
  deps: readonly unknown[] = [],
): [T | undefined, string | undefined] {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    const run = () =>
      load().then(
        (v) => {
          if (stopped) return;
          setValue(v);
          setError(undefined);
        },
        (e: unknown) => {
          if (stopped) return;
          if (e instanceof ApiProblem && e.status === 401) session.lost("Your session ended. Sign in again.");
          setError(e instanceof Error ? e.message : String(e));
        },
      );
    void run();
    const t = setInterval(run, everyMs);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, deps);
  return [value, error];
}
