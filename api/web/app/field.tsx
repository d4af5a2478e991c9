import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";
import { ApiProblem, type FieldError } from "../api.js";

/** The errors that name one input (the API names fields as `body.<name>`, the screen as `<name>`). */
export function fieldErrors(errors: readonly FieldError[], name: string): FieldError[] {
  return errors.filter(
    (e) => e.field === `body.${name}` || e.field.startsWith(`body.${name}.`) || e.field === name,
  );
}

/** The errors naming `name`, shown under a group of controls (a fieldset, a button). */
export function Refusals(p: { errors: readonly FieldError[]; name: string }) {
  return (
    <>
      {fieldErrors(p.errors, p.name).map((e) => (
        <p class="field-error" role="alert" key={e.message}>
          {e.message}
        </p>
      ))}
    </>
  );
}

/**
 * A refusal as the errors to show beside fields: the ones the API named, else its detail under
 * `field` (a refusal of the whole action, shown beside the control that asked). Anything that is
 * not a refusal is thrown on.
 */
export function refusal(e: unknown, field: string): FieldError[] {
  if (!(e instanceof ApiProblem)) throw e;
  return e.errors.length ? e.errors : [{ field, message: e.detail }];
}

/**
 * A labelled input with its error beside it. `name` is the input as the API names it, when the
 * element's id differs (two forms on one screen each asking for a password).
 */
export function Field(p: {
  id: string;
  name?: string;
  label: string;
  errors: FieldError[];
  children: ComponentChildren;
  hint?: ComponentChildren;
}) {
  const mine = fieldErrors(p.errors, p.name ?? p.id);
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

/**
 * A ref that focuses its element once shown: a form opened by a key press is typed into at once.
 * A layout effect, so the focus moves in the same task as the render: a key pressed right after the
 * click that opened it lands here, not on whatever had the focus before.
 */
export function useFocus<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useLayoutEffect(() => ref.current?.focus(), []);
  return ref;
}
