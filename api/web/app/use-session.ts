import { useEffect, useState } from "preact/hooks";
import { type SessionStore, session } from "./session.js";

/** Re-renders the caller whenever the session store changes. */
export function useSession(store: SessionStore = session): SessionStore {
  const [, tick] = useState(0);
  useEffect(() => store.subscribe(() => tick((n) => n + 1)), [store]);
  return store;
}
