import { useEffect, useState } from "preact/hooks";
import { type SessionStore, session } from "./session.js";

/** Re-renders the caller whenever the session store changes (also for a change made before it subscribed). */
export function useSession(store: SessionStore = session): SessionStore {
  const [, tick] = useState(0);
  useEffect(() => {
    const off = store.subscribe(() => tick((n) => n + 1));
    // The first GET /api/session starts before the first render and may have answered since.
    tick((n) => n + 1);
    return off;
  }, [store]);
  return store;
}
