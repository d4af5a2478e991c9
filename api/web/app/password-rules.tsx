import { PASSWORD_RULES } from "../../../src/auth/password-rules.js";
import type { FieldError } from "../api.js";
import { Field } from "./field.js";

/** The department's password rules, each marked met or not as one types (the server's own checks). */
export function PasswordRules(p: { id: string; username: string; password: string }) {
  return (
    <ul class="rules" aria-live="polite" id={p.id}>
      {PASSWORD_RULES.map((r) => {
        const broken = !p.password || r.breaks(p.username, p.password);
        return (
          <li key={r.rule} class={broken ? "rule" : "rule met"}>
            {broken ? "✗ " : "✓ "}
            {r.rule}
          </li>
        );
      })}
    </ul>
  );
}

/** A new password's field, the rules under it (`<id>-rules`) met or not for `username` as one types. */
export function NewPasswordField(p: {
  id: string;
  name?: string;
  label: string;
  username: string;
  value: string;
  onInput: (value: string) => void;
  errors: FieldError[];
}) {
  return (
    <Field
      id={p.id}
      {...(p.name ? { name: p.name } : {})}
      label={p.label}
      errors={p.errors}
      hint={<PasswordRules id={`${p.id}-rules`} username={p.username} password={p.value} />}
    >
      <input
        id={p.id}
        type="password"
        autocomplete="new-password"
        aria-describedby={`${p.id}-rules`}
        value={p.value}
        onInput={(e) => p.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}
