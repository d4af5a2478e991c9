import type { ComponentChildren } from "preact";
import type { FieldError } from "../api.js";

/** A labelled input with its error beside it (the API names fields as `body.<name>`). */
export function Field(p: {
  id: string;
  label: string;
  errors: FieldError[];
  children: ComponentChildren;
  hint?: ComponentChildren;
}) {
  const mine = p.errors.filter(
    (e) => e.field === `body.${p.id}` || e.field.startsWith(`body.${p.id}.`) || e.field === p.id,
  );
  return (
    <div class={mine.length ? "field invalid" : "field"}>
      <label for={p.id}>{p.label}</label>
      {p.children}
      {p.hint}
      {mine.map((e) => (
        <p class="field-error" id={`${p.id}-error`} role="alert" key={e.message}>
          {e.message}
        </p>
      ))}
    </div>
  );
}
