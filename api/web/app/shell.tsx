import { useEffect, useState } from "preact/hooks";
import { ChangePassword } from "./change-password.js";
import { may } from "./permissions.js";
import { SCREENS } from "./screens.js";
import type { Me } from "./session.js";
import { session } from "./session.js";

/** The page once signed in: the menu of the screens this person may use, the screen, the idle warning. */
export function Shell(p: { me: Me }) {
  const route = useHashRoute();
  const mine = SCREENS.filter((s) => may(p.me, s.permission));
  const idle = useIdleWarning();
  const [pw, setPw] = useState(false);
  const forced = !!p.me.mustChangePassword;
  const screen = mine.find((s) => s.id === route) ?? mine[0];
  const Body = screen?.component;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">PSCS</span>
        <nav aria-label="Screens">
          {!forced &&
            mine.map((s) => (
              <a key={s.id} href={`#/${s.id}`} aria-current={s === screen && !pw ? "page" : undefined}>
                {s.title}
              </a>
            ))}
        </nav>
        <span class="who" title={p.me.roles.join(", ")}>
          {p.me.displayName ?? p.me.username}
        </span>
        <button type="button" onClick={() => setPw(!pw)} disabled={forced}>
          Password
        </button>
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </header>
      {idle !== undefined && (
        <div class="idle-warning" role="alertdialog" aria-live="assertive" aria-label="Inactivity">
          You will be signed out in {idle} s for inactivity.
          <button type="button" class="primary" onClick={() => session.presence({ force: true })}>
            Stay signed in
          </button>
        </div>
      )}
      <main id="main">
        {forced || pw ? (
          <ChangePassword username={p.me.username} required={forced} onDone={() => setPw(false)} />
        ) : Body ? (
          <Body me={p.me} />
        ) : (
          <p class="panel">Your roles give you no screens here.</p>
        )}
      </main>
    </div>
  );
}

function useHashRoute(): string {
  const read = () => location.hash.replace(/^#\/?/, "").split("/")[0] ?? "";
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const f = () => setRoute(read());
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return route;
}

/**
 * Seconds left before the server ends the session for idleness, while within the warning
 * time (a minute, or half of a shorter idle timeout); else undefined. Keys and pointer count as
 * presence. At zero the session is gone: the sign-in screen says why.
 */
function useIdleWarning(): number | undefined {
  const [left, setLeft] = useState<number | undefined>(undefined);
  useEffect(() => {
    const presence = () => session.presence();
    const events = ["keydown", "pointerdown", "pointermove", "wheel"] as const;
    for (const e of events) addEventListener(e, presence, { passive: true });
    const t = setInterval(() => {
      const ms = session.idleLeftMs();
      if (ms <= 0) session.lost("You were signed out after a period of inactivity.");
      setLeft(ms < session.warnBeforeMs() ? Math.max(0, Math.ceil(ms / 1000)) : undefined);
    }, 1_000);
    return () => {
      clearInterval(t);
      for (const e of events) removeEventListener(e, presence);
    };
  }, []);
  return left;
}
