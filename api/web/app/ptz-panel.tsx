import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { PTZ_PURPOSE_KINDS, type PtzPurpose, type PtzPurposeKind } from "../../../src/ptz/purpose.js";
import { ApiProblem } from "../api.js";
import { clock } from "./format.js";
import { may } from "./permissions.js";
import { type Granted, type Lock, type Preset, PtzClient, type Velocity } from "./ptz-client.js";
import { watchPtzEvents } from "./ptz-events.js";
import { Presets } from "./ptz-presets.js";
import type { Me } from "./session.js";

/**
 * PTZ control of one camera: who holds it, taking it for a stated purpose (policy, Use 7), the
 * joystick (drag), arrow keys, zoom, presets (go, save, delete) and home (go, set), and a
 * supervisor's takeover. Every rule is
 * pscsd's; this panel shows its answers (a move into a privacy zone is refused there, and said here).
 */
export function PtzPanel(p: { camera: string; me: Me }) {
  const [granted, setGranted] = useState<Granted | undefined>(undefined);
  const client = useMemo(
    () => new PtzClient(p.camera, () => granted?.keepAliveMs ?? 500),
    [p.camera, granted],
  );
  const [lock, setLock] = useState<Lock | null>(null);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [asking, setAsking] = useState<"take" | "takeover" | undefined>(undefined);
  const [presets, setPresets] = useState<Preset[]>([]);
  const mine = !!lock && lock.actor === p.me.actor;

  const say = (e: unknown) => setMessage(e instanceof Error ? e.message : String(e));
  const refresh = () =>
    client.lock().then(
      (r) => {
        setLock(r.lock);
        if (r.lock?.actor !== p.me.actor) setGranted(undefined);
      },
      (e: unknown) => say(e),
    );

  const loadPresets = () =>
    client.presets().then(setPresets, (e: unknown) => {
      setPresets([]);
      say(e);
    });
  const [events, setEvents] = useState<"stream" | "poll">("poll");
  useEffect(() => void loadPresets(), [p.camera]);
  useEffect(() => {
    void refresh();
    // Streamed events say at once when control changes hands; the look every 15 s only backs them up.
    const t = setInterval(refresh, events === "stream" ? 15_000 : 2_000);
    return () => clearInterval(t);
  }, [p.camera, events]);

  // Control changing hands, and what happened to one's own (a supervisor took over, a move stopped).
  useEffect(
    () =>
      watchPtzEvents((e) => {
        if (e.camera !== p.camera) return;
        void refresh();
        if (e.actor !== p.me.actor) return;
        if (e.kind === "taken-over") setMessage(`Control was taken over by ${e.by ?? "a supervisor"}.`);
        if (e.kind === "deadman-stop") setMessage("The move was stopped: this screen stopped confirming it.");
        if (e.kind === "zone-stop") setMessage("The move was stopped at a privacy zone.");
        if (e.kind === "expired") setMessage("Control lapsed after a period without commands.");
      }, setEvents),
    [p.camera],
  );

  const act = async (f: () => Promise<unknown>) => {
    try {
      setMessage(undefined);
      await f();
    } catch (e) {
      say(e);
      if (e instanceof ApiProblem && e.status === 409) void refresh();
    }
  };

  const take = async (purpose: PtzPurpose) => {
    const g = await client.take(purpose, asking === "takeover");
    setGranted(g);
    setLock(g);
    setAsking(undefined);
  };

  return (
    <section class="ptz" aria-label={`PTZ control of ${p.camera}`} data-events={events}>
      <p class="holder" aria-live="polite">
        {lock
          ? mine
            ? `You control this camera: ${describePurpose(lock.purpose)}`
            : `Controlled by ${lock.actor.replace(/^user:/, "")} since ${clock(lock.since)}: ${describePurpose(lock.purpose)}`
          : "Nobody controls this camera."}
      </p>
      {message && (
        <p class="notice" role="alert">
          {message}
        </p>
      )}
      {!mine && !asking && (
        <div class="row">
          {!lock && (
            <button type="button" class="primary" onClick={() => setAsking("take")}>
              Take control
            </button>
          )}
          {lock && may(p.me, "ptz.supervise") && (
            <button type="button" onClick={() => setAsking("takeover")}>
              Take over
            </button>
          )}
        </div>
      )}
      {asking && (
        <PurposeForm
          takeover={asking === "takeover"}
          onCancel={() => setAsking(undefined)}
          onSubmit={(purpose) => take(purpose)}
        />
      )}
      {mine && (
        <>
          <Joystick onMove={(v) => act(() => client.move(v))} onStop={() => act(() => client.stop())} />
          <fieldset class="row">
            <legend class="sr-only">Zoom</legend>
            <HoldButton
              label="Zoom in"
              onHold={() => act(() => client.move({ zoom: 0.5 }))}
              onRelease={() => act(() => client.stop())}
            />
            <HoldButton
              label="Zoom out"
              onHold={() => act(() => client.move({ zoom: -0.5 }))}
              onRelease={() => act(() => client.stop())}
            />
            <button type="button" onClick={() => act(() => client.home())}>
              Home
            </button>
            <button type="button" onClick={() => act(() => client.stop())}>
              Stop
            </button>
          </fieldset>
          <Presets client={client} presets={presets} onChange={loadPresets} act={act} say={setMessage} />
          <button
            type="button"
            onClick={() =>
              act(async () => {
                await client.setHome();
                setMessage("Home is now where the camera points.");
              })
            }
          >
            Set home here
          </button>
          <button
            type="button"
            onClick={() =>
              act(async () => {
                await client.release();
                setGranted(undefined);
                await refresh();
              })
            }
          >
            Release control
          </button>
        </>
      )}
    </section>
  );
}

function describePurpose(p: PtzPurpose): string {
  return [p.kind, p.reference, p.note].filter(Boolean).join(" · ");
}

const KIND_LABELS: Record<PtzPurposeKind, string> = {
  incident: "Incident (CAD number)",
  event: "Event management",
  emergency: "Emergency",
  investigation: "Investigation (case number)",
};

/** The purpose control is taken for: kept with the PTZ session and every command's audit entry. */
export function PurposeForm(p: {
  takeover: boolean;
  onSubmit: (purpose: PtzPurpose) => Promise<void>;
  onCancel: () => void;
}) {
  const [kind, setKind] = useState<PtzPurposeKind>("incident");
  const [reference, setReference] = useState("");
  const [note, setNote] = useState("");
  const [errors, setErrors] = useState<{ field: string; message: string }[]>([]);
  const needsReference = kind === "incident" || kind === "investigation";
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await p.onSubmit({
        kind,
        ...(reference.trim() ? { reference: reference.trim() } : {}),
        ...(note.trim() ? { note: note.trim() } : {}),
      });
    } catch (err) {
      setErrors(
        err instanceof ApiProblem && err.errors.length
          ? err.errors
          : [{ field: "body.purpose", message: err instanceof Error ? err.message : String(err) }],
      );
    }
  };
  const errorFor = (f: string) => errors.filter((e) => e.field.startsWith(`body.purpose${f}`));
  return (
    <form class="purpose" onSubmit={submit} aria-label="Purpose of control">
      <label for="ptz-kind">Purpose</label>
      <select id="ptz-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as PtzPurposeKind)}>
        {PTZ_PURPOSE_KINDS.map((k) => (
          <option key={k} value={k}>
            {KIND_LABELS[k]}
          </option>
        ))}
      </select>
      <label for="ptz-reference">
        {kind === "investigation" ? "Case number" : "CAD / incident number"}
        {needsReference ? "" : " (optional)"}
      </label>
      <input id="ptz-reference" value={reference} onInput={(e) => setReference(e.currentTarget.value)} />
      <label for="ptz-note">Note{kind === "event" ? " (which event)" : " (optional)"}</label>
      <input id="ptz-note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      {[
        ...errorFor(".reference"),
        ...errorFor(".note"),
        ...errorFor(".kind"),
        ...errors.filter((e) => e.field === "body.purpose"),
      ].map((e) => (
        <p class="field-error" role="alert" key={e.message}>
          {e.message}
        </p>
      ))}
      <div class="row">
        <button type="submit" class="primary">
          {p.takeover ? "Take over control" : "Take control"}
        </button>
        <button type="button" onClick={p.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Drag inside the pad: velocity is the offset from its centre; letting go stops. Arrow keys too. */
function Joystick(p: { onMove: (v: Velocity) => void; onStop: () => void }) {
  const pad = useRef<HTMLButtonElement>(null);
  const knob = useRef<HTMLSpanElement>(null);
  const held = useRef<Set<string>>(new Set());
  const place = (x: number, y: number) => {
    if (knob.current) knob.current.style.transform = `translate(${x * 50}%, ${y * 50}%)`;
  };
  const fromPointer = (e: PointerEvent) => {
    const r = pad.current?.getBoundingClientRect();
    if (!r) return;
    const clamp = (v: number) => Math.max(-1, Math.min(1, v));
    const x = clamp(((e.clientX - r.left) / r.width) * 2 - 1);
    const y = clamp(((e.clientY - r.top) / r.height) * 2 - 1);
    place(x, y);
    p.onMove({ pan: round(x), tilt: round(-y) });
  };
  const keys: Record<string, Velocity> = {
    ArrowLeft: { pan: -0.5 },
    ArrowRight: { pan: 0.5 },
    ArrowUp: { tilt: 0.5 },
    ArrowDown: { tilt: -0.5 },
  };
  return (
    <button
      type="button"
      class="joystick"
      ref={pad}
      aria-label="Pan and tilt: drag, or hold the arrow keys"
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        fromPointer(e);
      }}
      onPointerMove={(e) => {
        if (e.currentTarget.hasPointerCapture(e.pointerId)) fromPointer(e);
      }}
      onPointerUp={() => {
        place(0, 0);
        p.onStop();
      }}
      onKeyDown={(e) => {
        const v = keys[e.key];
        if (!v || e.repeat) return;
        e.preventDefault();
        held.current.add(e.key);
        p.onMove(sum([...held.current].map((k) => keys[k] as Velocity)));
      }}
      onKeyUp={(e) => {
        if (!keys[e.key]) return;
        held.current.delete(e.key);
        if (held.current.size) p.onMove(sum([...held.current].map((k) => keys[k] as Velocity)));
        else p.onStop();
      }}
    >
      <span class="knob" ref={knob} />
    </button>
  );
}

function HoldButton(p: { label: string; onHold: () => void; onRelease: () => void }) {
  return (
    <button
      type="button"
      onPointerDown={p.onHold}
      onPointerUp={p.onRelease}
      onPointerLeave={(e) => {
        if (e.buttons) p.onRelease();
      }}
      onKeyDown={(e) => {
        if ((e.key === "Enter" || e.key === " ") && !e.repeat) p.onHold();
      }}
      onKeyUp={(e) => {
        if (e.key === "Enter" || e.key === " ") p.onRelease();
      }}
    >
      {p.label}
    </button>
  );
}

const round = (v: number) => Math.round(v * 20) / 20;
const sum = (vs: Velocity[]): Velocity =>
  vs.reduce((a, v) => ({ pan: (a.pan ?? 0) + (v.pan ?? 0), tilt: (a.tilt ?? 0) + (v.tilt ?? 0) }), {});
