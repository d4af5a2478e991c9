import { ROLE_DESCRIPTIONS, ROLES, type Role } from "../../../src/auth/roles.js";
import type { FieldError } from "../api.js";
import { fieldErrors, Refusals } from "./field.js";

/** A role per checkbox, each with what it grants; the API's refusal of the roles shown under them. */
export function RolePicker(p: {
  id: string;
  legend: string;
  value: readonly Role[];
  onChange: (roles: Role[]) => void;
  errors: FieldError[];
}) {
  const mine = fieldErrors(p.errors, "roles");
  const toggle = (r: Role, on: boolean) =>
    p.onChange(ROLES.filter((x) => (x === r ? on : p.value.includes(x))));
  return (
    <fieldset class={mine.length ? "roles field invalid" : "roles field"} id={p.id}>
      <legend>{p.legend}</legend>
      {ROLES.map((r) => (
        <label key={r} class="check">
          <input
            type="checkbox"
            name={`${p.id}-${r}`}
            checked={p.value.includes(r)}
            onChange={(e) => toggle(r, e.currentTarget.checked)}
          />
          <span>
            <strong>{r}</strong> <span class="hint">{ROLE_DESCRIPTIONS[r]}</span>
          </span>
        </label>
      ))}
      <Refusals errors={p.errors} name="roles" />
    </fieldset>
  );
}
