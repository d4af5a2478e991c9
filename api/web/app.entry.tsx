import { render } from "preact";
import { session } from "./app/session.js";
import { Shell } from "./app/shell.js";
import { SignIn } from "./app/sign-in.js";
import { useSession } from "./app/use-session.js";
import "./app/app.css";
import "uplot/dist/uPlot.min.css";

// Before the first render, so it waits for no frame (and the page's head asked for it already: a
// preload, answered while this script downloaded).
void session.load();

function App() {
  const s = useSession();
  if (!s.known) return <p class="loading">Loading…</p>;
  return s.me ? <Shell me={s.me} /> : <SignIn />;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
