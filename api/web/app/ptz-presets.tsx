import { useState } from "preact/hooks";
import { ApiProblem } from "../api.js";
import { useFocus } from "./field.js";
import type { Preset, PtzClient } from "./ptz-client.js";

/**
 * The camera's presets while one holds control: go to one, save where the camera points under a
 * name (pscsd refuses a position that looks into a privacy zone: said beside the name), delete one
 * after a confirmation.
 */
export function Presets(p: {
  client: PtzClient;
  presets: Preset[];
  onChange: () => Promise<void>;
  act: (f: () => Promise<unknown>) => Promise<void>;
  say: (message: string) => void;
}) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [deleting, setDeleting] = useState<Preset | undefined>(undefined);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return setError("name the preset");
    try {
      await p.client.savePreset(name.trim());
      setError(undefined);
      p.say(`Preset “${name.trim()}” saved.`);
      setName("");
      await p.onChange();
    } catch (err) {
      setError(err instanceof ApiProblem ? (err.errors[0]?.message ?? err.detail) : String(err));
    }
  };
  return (
    <section class="presets" aria-label="Presets">
      <ul class="preset-list">
        {p.presets.map((pr) => (
          <li key={pr.token}>
            <button type="button" onClick={() => p.act(() => p.client.gotoPreset(pr.token))}>
              {pr.name}
            </button>
            <button type="button" aria-label={`Delete preset ${pr.name}`} onClick={() => setDeleting(pr)}>
              ✕
            </button>
          </li>
        ))}
      </ul>
      {deleting && (
        <Confirm
          question={`Delete preset “${deleting.name}” from the camera?`}
          yes="Delete"
          no="Keep it"
          onNo={() => setDeleting(undefined)}
          onYes={() =>
            p.act(async () => {
              setDeleting(undefined);
              await p.client.deletePreset(deleting.token);
              p.say(`Preset “${deleting.name}” deleted.`);
              await p.onChange();
            })
          }
        />
      )}
      <form class={error ? "field invalid preset-save" : "field preset-save"} onSubmit={save}>
        <label for="ptz-preset-name">Save this position as</label>
        <div class="row">
          <input
            id="ptz-preset-name"
            value={name}
            maxLength={200}
            aria-describedby={error ? "ptz-preset-name-error" : undefined}
            onInput={(e) => setName(e.currentTarget.value)}
          />
          <button type="submit">Save preset</button>
        </div>
        {error && (
          <p class="field-error" id="ptz-preset-name-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

/** A question asked in place; its "yes" takes the focus, so Enter answers it and Tab reaches "no". */
function Confirm(p: { question: string; yes: string; no: string; onYes: () => void; onNo: () => void }) {
  const yes = useFocus<HTMLButtonElement>();
  return (
    <div class="confirm" role="alertdialog" aria-label={p.question}>
      <p>{p.question}</p>
      <div class="row">
        <button type="button" class="primary" ref={yes} onClick={p.onYes}>
          {p.yes}
        </button>
        <button type="button" onClick={p.onNo}>
          {p.no}
        </button>
      </div>
    </div>
  );
}
