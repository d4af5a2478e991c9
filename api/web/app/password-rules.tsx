import { PASSWORD_RULES } from "../../../src/auth/password-rules.js";

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
