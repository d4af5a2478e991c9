import { useState } from "preact/hooks";
import { ApiProblem, type FieldError } from "../api.js";
import { Field } from "./field.js";
import { session } from "./session.js";

/**
 * Sign-in. The server answers every failure alike (wrong name, wrong password, locked, disabled),
 * so the screen says all of them, and what locks an account; 429 is the address being paced.
 */
export function SignIn(p: { lockoutAttempts?: number; lockoutMinutes?: number }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | undefined>(session.endedBecause);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const missing: FieldError[] = [];
    if (!username.trim()) missing.push({ field: "username", message: "enter your user name" });
    if (!password) missing.push({ field: "password", message: "enter your password" });
    setErrors(missing);
    if (missing.length) return;
    setBusy(true);
    try {
      await session.signIn(username.trim(), password);
    } catch (err) {
      setPassword("");
      if (err instanceof ApiProblem && err.status === 429) {
        setMessage(`Too many failed sign-ins from this computer. Try again in ${err.retryAfter ?? 60} s.`);
      } else if (err instanceof ApiProblem && err.status === 401) {
        setMessage(
          "Sign-in failed: the name or password is wrong, or the account is locked or disabled. " +
            "Repeated failures lock an account for a while; an administrator can unlock it.",
        );
      } else if (err instanceof ApiProblem && err.errors.length) {
        setErrors(err.errors);
      } else {
        setMessage(`Sign-in failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form onSubmit={submit} noValidate aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Public Safety Camera System</h1>
        {message && (
          <p class="notice" role="alert">
            {message}
          </p>
        )}
        <Field id="username" label="User name" errors={errors}>
          <input
            id="username"
            name="username"
            autocomplete="username"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            autofocus
          />
        </Field>
        <Field id="password" label="Password" errors={errors}>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {p.lockoutAttempts && (
          <p class="hint">
            {p.lockoutAttempts} failed attempts lock the account for {p.lockoutMinutes} minutes.
          </p>
        )}
      </form>
    </main>
  );
}
