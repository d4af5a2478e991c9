import { render } from "preact";
import { useEffect } from "preact/hooks";
import { Shell } from "./app/shell.js";
import { SignIn } from "./app/sign-in.js";
import { useSession } from "./app/use-session.js";
import "./app/app.css";

function App() {
  const s = useSession();
  useEffect(() => {
    void s.load();
  }, []);
  if (!s.known) return <p class="loading">Loading…</p>;
  return s.me ? <Shell me={s.me} /> : <SignIn />;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
