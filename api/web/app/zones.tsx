import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, type FieldError } from "../api.js";
import { Field, fieldErrors, Refusals, refusal, useFocus } from "./field.js";
import { when } from "./format.js";
import { usePoll } from "./use-poll.js";
import { type MapZone, type PanTiltRect, ZoneMap } from "./zone-map.js";

interface Zone extends MapZone {
  maxZoom: number;
  setAt?: number;
  setBy?: string;
  inView: boolean | null;
}

interface ZonesView {
  camera: string;
  position: { pan: number; tilt: number; zoom: number } | null;
  view: { pan: number; tilt: number } | null;
  zones: Zone[];
}

/**
 * The administrator's privacy zones (policy, Use Procedures 4), per camera: those in force (the
 * config file's, read-only here, and the API's), where the camera points, a new zone drawn on the
 * pan/tilt map or typed in, and an API zone removed; each change with its stated reason. The rules
 * are the server's (src/ptz/privacy-zones.ts), which refuses PTZ moves into a zone at once.
 */
export function Zones() {
  const [cams] = usePoll(
    (bg) => api<{ cameras: { id: string; name?: string }[] }>("/api/cameras", bg),
    60_000,
  );
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const camera = chosen ?? cams?.cameras[0]?.id;
  const [tick, setTick] = useState(0);
  const [view, error] = usePoll(
    (bg) =>
      camera
        ? api<ZonesView>(`/api/cameras/${encodeURIComponent(camera)}/privacy-zones`, bg)
        : Promise.resolve(undefined),
    2_000,
    [camera, tick],
  );
  // The rectangle being made, as its four edges: drawing on the map fills them, typing redraws it.
  const [edges, setEdges] = useState<Edges>(NO_EDGES);
  const refresh = () => setTick((t) => t + 1);
  const here = view?.position;
  return (
    <section class="panel zones" aria-labelledby="zones-title">
      <div class="zones-head">
        <h2 id="zones-title">Privacy zones</h2>
        <Field id="zones-camera" label="Camera" errors={[]}>
          <select id="zones-camera" value={camera ?? ""} onChange={(e) => setChosen(e.currentTarget.value)}>
            {cams?.cameras.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name ? `${c.name} (${c.id})` : c.id}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {error && (
        <p class="notice" role="alert">
          {error}
        </p>
      )}
      {view && (
        <div class="zone-body">
          <div>
            <ZoneMap
              zones={view.zones}
              position={view.position}
              view={view.view}
              draft={rectOf(edges)}
              onDraw={(r) => setEdges(edgesOf(r))}
            />
            <ul class="legend">
              <li class="config">config file zone</li>
              <li class="api">zone set here</li>
              <li class="here">the camera's view</li>
              <li class="draft">new zone</li>
            </ul>
            <p class="hint" data-position>
              {here
                ? `${view.camera} points at pan ${here.pan.toFixed(2)}, tilt ${here.tilt.toFixed(2)}, zoom ${here.zoom.toFixed(2)} (the cross).`
                : `${view.camera} is not connected: where it points is unknown.`}{" "}
              Drag on the map to draw a zone, or type its edges.
            </p>
          </div>
          <div>
            <p class="hint">
              Zones from the config file are read-only here: they are changed in the config file. A PTZ move
              whose view centre would enter a zone, or that would show any of it above its zoom limit, is
              refused.
            </p>
            <ZoneTable camera={view.camera} zones={view.zones} onRemoved={refresh} />
            <h3 id="new-zone-title">New zone on {view.camera}</h3>
            <ZoneForm
              key={view.camera}
              camera={view.camera}
              edges={edges}
              onEdges={setEdges}
              onSet={() => {
                setEdges(NO_EDGES);
                refresh();
              }}
            />
          </div>
        </div>
      )}
    </section>
  );
}

function ZoneTable(p: { camera: string; zones: Zone[]; onRemoved: () => void }) {
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  if (p.zones.length === 0) return <p>No privacy zones on {p.camera}.</p>;
  return (
    <table class="grid">
      <thead>
        <tr>
          <th scope="col">Zone</th>
          <th scope="col">Pan</th>
          <th scope="col">Tilt</th>
          <th scope="col">Zoom limit</th>
          <th scope="col">In view</th>
          <th scope="col">Set</th>
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {p.zones.map((z) => (
          <tr key={z.id} data-zone={z.id} data-source={z.source}>
            <th scope="row">{z.id}</th>
            <td class="span">
              {z.pan[0]} to {z.pan[1]}
            </td>
            <td class="span">
              {z.tilt[0]} to {z.tilt[1]}
            </td>
            <td>{z.maxZoom}</td>
            <td>{z.inView === null ? "—" : z.inView ? "yes" : "no"}</td>
            <td>
              {z.source === "config"
                ? "config file (read-only here)"
                : `${z.setAt ? when(z.setAt) : ""} by ${z.setBy ?? "?"}`}
            </td>
            <td>
              {z.source === "api" &&
                (removing === z.id ? (
                  <RemoveZone
                    camera={p.camera}
                    id={z.id}
                    onCancel={() => setRemoving(undefined)}
                    onRemoved={() => {
                      setRemoving(undefined);
                      p.onRemoved();
                    }}
                  />
                ) : (
                  <button type="button" onClick={() => setRemoving(z.id)}>
                    Remove {z.id}…
                  </button>
                ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RemoveZone(p: { camera: string; id: string; onCancel: () => void; onRemoved: () => void }) {
  const [reason, setReason] = useState("");
  const input = useFocus<HTMLInputElement>();
  const [errors, setErrors] = useState<FieldError[]>([]);
  const remove = async (e: Event) => {
    e.preventDefault();
    try {
      await api(`/api/cameras/${encodeURIComponent(p.camera)}/privacy-zones/${encodeURIComponent(p.id)}`, {
        method: "DELETE",
        body: { reason },
      });
      p.onRemoved();
    } catch (err) {
      setErrors(refusal(err, "reason"));
    }
  };
  return (
    <form onSubmit={remove} noValidate>
      <Field id={`remove-${p.id}-reason`} name="reason" label={`Why remove ${p.id}?`} errors={errors}>
        <input
          id={`remove-${p.id}-reason`}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          ref={input}
        />
      </Field>
      <div class="row">
        <button type="submit" class="primary">
          Remove the zone
        </button>
        <button type="button" onClick={p.onCancel}>
          Keep it
        </button>
      </div>
    </form>
  );
}

/**
 * The server names a zone's parts `body.zone.pan` (the service), `body.pan[0]` (the route's schema),
 * its name `path.id` or, taken by the config file, `body.zone`: each as the form's field.
 */
function asFormField(e: FieldError): FieldError {
  const f = e.field.replace(/^(body|path)\.(zone\.)?/, "").replace(/\[\d+\]$/, "");
  return { ...e, field: f === "body.zone" || f === "zone" ? "id" : f };
}

type Edges = Record<"panMin" | "panMax" | "tiltMin" | "tiltMax", string>;
const NO_EDGES: Edges = { panMin: "", panMax: "", tiltMin: "", tiltMax: "" };

function edgesOf(r: PanTiltRect): Edges {
  return { panMin: `${r.pan[0]}`, panMax: `${r.pan[1]}`, tiltMin: `${r.tilt[0]}`, tiltMax: `${r.tilt[1]}` };
}

const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));

/** The rectangle the edges typed so far make, once all four are numbers. */
function rectOf(e: Edges): PanTiltRect | undefined {
  const [a, b, c, d] = [num(e.panMin), num(e.panMax), num(e.tiltMin), num(e.tiltMax)];
  return [a, b, c, d].every(Number.isFinite) ? { pan: [a, b], tilt: [c, d] } : undefined;
}

function ZoneForm(p: { camera: string; edges: Edges; onEdges: (e: Edges) => void; onSet: () => void }) {
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
