import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, type FieldError } from "../api.js";
import { Field, fieldErrors, Refusals, refusal } from "./field.js";
import type { PanTiltRect } from "./zone-map.js";

/**
 * The server names a zone's parts `body.zone.pan` (the service), `body.pan[0]` (the route's schema),
 * its name `path.id` or, taken by the config file, `body.zone`: each as the form's field.
 */
function asFormField(e: FieldError): FieldError {
  const f = e.field.replace(/^(body|path)\.(zone\.)?/, "").replace(/\[\d+\]$/, "");
  return { ...e, field: f === "zone" ? "id" : f };
}

export type Edges = Record<"panMin" | "panMax" | "tiltMin" | "tiltMax", string>;
export const NO_EDGES: Edges = { panMin: "", panMax: "", tiltMin: "", tiltMax: "" };

export function edgesOf(r: PanTiltRect): Edges {
  return { panMin: `${r.pan[0]}`, panMax: `${r.pan[1]}`, tiltMin: `${r.tilt[0]}`, tiltMax: `${r.tilt[1]}` };
}

const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));

/** The rectangle the edges typed so far make, once all four are numbers. */
export function rectOf(e: Edges): PanTiltRect | undefined {
  const [a, b, c, d] = [num(e.panMin), num(e.panMax), num(e.tiltMin), num(e.tiltMax)];
  return [a, b, c, d].every(Number.isFinite) ? { pan: [a, b], tilt: [c, d] } : undefined;
}

/** A new zone's name, edges, zoom limit and reason, set on the camera through the API. */
export function ZoneForm(p: {
  camera: string;
  edges: Edges;
  onEdges: (e: Edges) => void;
  onSet: () => void;
}) {
  const [id, setId] = useState("");
  const [maxZoom, setMaxZoom] = useState("0");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [done, setDone] = useState<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(undefined);
    const name = id.trim();
    if (!name) {
      setErrors([{ field: "id", message: "enter a name for the zone" }]);
      return;
    }
    const { panMin, panMax, tiltMin, tiltMax } = p.edges;
    try {
      await api(`/api/cameras/${encodeURIComponent(p.camera)}/privacy-zones/${encodeURIComponent(name)}`, {
        method: "PUT",
        body: {
          pan: [num(panMin), num(panMax)],
          tilt: [num(tiltMin), num(tiltMax)],
          maxZoom: num(maxZoom),
          reason,
        },
      });
    } catch (err) {
      setErrors(refusal(err, "id").map(asFormField));
      return;
    }
    setErrors([]);
    setDone(`Zone ${name} is in force on ${p.camera}: PTZ moves into it are refused.`);
    setId("");
    setReason("");
    p.onSet();
  };
  const edge = (k: keyof Edges, label: string) => (
    <label class="edge">
      {label}
      <input
        type="number"
        inputMode="decimal"
        step="0.01"
        min="-1"
        max="1"
        name={k}
        value={p.edges[k]}
        onInput={(e) => p.onEdges({ ...p.edges, [k]: e.currentTarget.value })}
      />
    </label>
  );
  return (
    <form onSubmit={submit} noValidate class="zone-form" aria-labelledby="new-zone-title">
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
      <Field id="zone-id" name="id" label="Zone name (a-z, 0-9, - and _)" errors={errors}>
        <input id="zone-id" autocomplete="off" value={id} onInput={(e) => setId(e.currentTarget.value)} />
      </Field>
      <Pair legend="Pan, from -1 (left) to 1 (right)" name="pan" errors={errors}>
        {edge("panMin", "Pan from")}
        {edge("panMax", "Pan to")}
      </Pair>
      <Pair legend="Tilt, from -1 (down) to 1 (up)" name="tilt" errors={errors}>
        {edge("tiltMin", "Tilt from")}
        {edge("tiltMax", "Tilt to")}
      </Pair>
      <Field
        id="zone-maxZoom"
        name="maxZoom"
        label="Zoom limit, 0 to 1"
        errors={errors}
        hint={
          <p class="hint">The highest zoom at which any of the zone may be in view (0: only fully out).</p>
        }
      >
        <input
          id="zone-maxZoom"
          type="number"
          inputMode="decimal"
          step="0.05"
          min="0"
          max="1"
          value={maxZoom}
          onInput={(e) => setMaxZoom(e.currentTarget.value)}
        />
      </Field>
      <Field id="zone-reason" name="reason" label="Reason (recorded in the audit log)" errors={errors}>
        <input id="zone-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
      <Refusals errors={errors} name="camera" />
      <button type="submit" class="primary">
        Set the zone
      </button>
    </form>
  );
}

function Pair(p: { legend: string; name: string; errors: FieldError[]; children: ComponentChildren }) {
  return (
    <fieldset class={fieldErrors(p.errors, p.name).length ? "pair field invalid" : "pair field"}>
      <legend>{p.legend}</legend>
      <div class="row">{p.children}</div>
      <Refusals errors={p.errors} name={p.name} />
    </fieldset>
  );
}
