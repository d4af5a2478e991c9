import { useState } from "preact/hooks";
import { api, type FieldError } from "../api.js";
import { Field, refusal, useFocus } from "./field.js";
import { when } from "./format.js";
import { usePoll } from "./use-poll.js";
import { type Edges, edgesOf, NO_EDGES, rectOf, ZoneForm } from "./zone-form.js";
import { type MapZone, ZoneMap } from "./zone-map.js";

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
