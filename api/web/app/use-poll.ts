import { useLayoutEffect, useState } from "preact/hooks";
import { ApiProblem } from "../api.js";
import { session } from "./session.js";

/**
 * Calls `load` now, every `everyMs` while the screen is shown, and again when `deps` change; the last answer and the last
 * error (as words). Repeats are background requests (they do not keep the session alive). A 401 means the session is gone: the store is told, and the sign-in screen shows.
 */
export function usePoll<T>(
  load: (o: { background: boolean }) => Promise<T>,
  everyMs: number,
  deps: readonly unknown[] = [],
): [T | undefined, string | undefined] {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  // A layout effect: the first request leaves as the screen is drawn, not a frame later.
  useLayoutEffect(() => {
    let stopped = false;
    const run = (background: boolean) =>
      load({ background }).then(
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
    // The first load is the person opening the screen; the repeats are the screen's own.
    void run(false);
    const t = setInterval(() => run(true), everyMs);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, deps);
  return [value, error];
}
