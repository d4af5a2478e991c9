import { useState } from "preact/hooks";
import { passwordProblems } from "../../../src/auth/password-rules.js";
import { api, type FieldError } from "../api.js";
import { Field, refusal } from "./field.js";
import { NewPasswordField } from "./password-rules.js";
import { session } from "./session.js";

/** Password change, the department's rules checked as one types by the server's own code. */
export function ChangePassword(p: { username: string; required: boolean; onDone: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [done, setDone] = useState(false);
  const problems = next ? passwordProblems(p.username, next) : [];

  const submit = async (e: Event) => {
    e.preventDefault();
    const local: FieldError[] = [];
    if (!current) local.push({ field: "currentPassword", message: "enter your current password" });
    for (const m of problems) local.push({ field: "newPassword", message: m });
    if (!next) local.push({ field: "newPassword", message: "enter a new password" });
    if (again !== next) local.push({ field: "again", message: "does not match the new password" });
    setErrors(local);
    if (local.length) return;
    try {
      await api("/api/session/password", {
        method: "PUT",
        body: { currentPassword: current, newPassword: next },
      });
      setDone(true);
      await session.load();
      p.onDone();
    } catch (err) {
      setErrors(refusal(err, "currentPassword"));
    }
  };

  return (
    <form class="panel narrow" onSubmit={submit} noValidate aria-labelledby="pw-title">
      <h2 id="pw-title">Change password</h2>
      {p.required && (
        <p class="notice" role="alert">
          Your password must be changed before you go on.
        </p>
      )}
      {done && <p class="ok">Password changed. Your other sessions were signed out.</p>}
      <Field id="currentPassword" label="Current password" errors={errors}>
        <input
          id="currentPassword"
          type="password"
          autocomplete="current-password"
          value={current}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
      </Field>
      <NewPasswordField
        id="newPassword"
        label="New password"
        username={p.username}
        value={next}
        onInput={setNext}
        errors={errors.filter((e) => !problems.includes(e.message))}
      />
      <Field id="again" label="New password again" errors={errors}>
        <input
          id="again"
          type="password"
          autocomplete="new-password"
          value={again}
          onInput={(e) => setAgain(e.currentTarget.value)}
        />
      </Field>
      <button type="submit" class="primary">
        Change password
      </button>
    </form>
  );
}
