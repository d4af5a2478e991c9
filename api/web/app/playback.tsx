import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { Field } from "./field.js";
import { siteInput, siteInstant, siteTime, when } from "./format.js";
import { may } from "./permissions.js";
import { playInto } from "./playback-stream.js";
import type { Me } from "./session.js";
import { destroyedIn, frameRateAt, type Timeline, TimelineBar } from "./timeline-bar.js";
import { usePoll } from "./use-poll.js";

const ZOOMS = [
  { label: "Day", ms: 86_400_000 },
  { label: "Hour", ms: 3_600_000 },
  { label: "10 minutes", ms: 600_000 },
  { label: "Minute", ms: 60_000 },
] as const;

/** Minutes of footage one playback asks for from where it starts. */
const PLAY_MS = 10 * 60_000;

/**
 * Playback of one camera: a timeline (day, hour, ten minutes, a minute) of what was recorded, the
 * gaps with their causes, what holds keep and what was destroyed; a click or a typed time plays from
 * there (a stated purpose first: every view is audited with it); frame steps at the footage's own
 * frame rate; a range selected by dragging across the timeline (or typed), else the range in view,
 * handed to a hold request or an export, pre-filled. Held ranges need holds.log, destroyed ones
 * holds.request or purge.read: a role without them sees the timeline without those rows.
 */
export function Playback(p: { me: Me }) {
  const [cams] = usePoll(
    (bg) => api<{ cameras: { id: string; name: string }[] }>("/api/cameras", bg),
    60_000,
  );
  const [camera, setCamera] = useState<string | undefined>(undefined);
  const [zoom, setZoom] = useState(1);
  const [centre, setCentre] = useState(() => Date.now() - ZOOMS[1].ms / 2);
  const [purpose, setPurpose] = useState("");
  const [playingFrom, setPlayingFrom] = useState<number | undefined>(undefined);
  const [purposeError, setPurposeError] = useState<string | undefined>(undefined);
  const [jump, setJump] = useState("");
  const [jumpError, setJumpError] = useState<string | undefined>(undefined);
  /** The selection as its two datetime-local fields show it, site time (the keyboard's way to select). */
  const [sel, setSel] = useState({ from: "", to: "" });
  const [playFps, setPlayFps] = useState<number | undefined>(undefined);
  const [playError, setPlayError] = useState<string | undefined>(undefined);
  const video = useRef<HTMLVideoElement>(null);
  const cam = camera ?? cams?.cameras[0]?.id;
  const width = ZOOMS[zoom]?.ms ?? 3_600_000;
  const from = Math.round(centre - width / 2);
  const to = Math.round(centre + width / 2);

  const [tl, tlError] = usePoll(
    (bg) =>
      cam
        ? api<Timeline>(`/api/cameras/${cam}/timeline?from=${from}&to=${to}`, bg)
        : Promise.resolve(undefined),
    30_000,
    [cam, from, to],
  );
  const [held] = usePoll(
    (bg) =>
      cam && may(p.me, "holds.log")
        ? api<{
            holds: {
              id: number;
              status: string;
              ranges: { camera: string; fromMs: number; toMs: number }[];
            }[];
          }>(`/api/holds?camera=${cam}&status=active`, bg)
        : Promise.resolve(undefined),
    60_000,
    [cam],
  );
  const [destroyed] = usePoll(
    (bg) => (cam ? destroyedIn(p.me, cam, from, to, bg) : Promise.resolve(undefined)),
    60_000,
    [cam, from, to],
  );
  const heldRanges = useMemo(
    () =>
      (held?.holds ?? []).flatMap((h) =>
        h.ranges.filter((r) => r.camera === cam).map((r) => ({ ...r, id: h.id })),
      ),
    [held, cam],
  );

  const play = (at: number) => {
    if (!purpose.trim()) {
      setPurposeError(
        "state why you are viewing this footage (a case or incident number): it is kept in the audit log",
      );
      return;
    }
    setPurposeError(undefined);
    setPlayFps(undefined);
    setPlayingFrom(at);
  };
  // The rate of what plays, read from the timeline once it shows that footage; kept while one scrolls away.
  useEffect(() => {
    const fps = playingFrom === undefined ? undefined : frameRateAt(tl?.segments, playingFrom);
    if (fps) setPlayFps(fps);
  }, [tl, playingFrom]);
  useEffect(() => {
    const v = video.current;
    if (!v || playingFrom === undefined || !cam) return;
    const q = new URLSearchParams({
      from: String(playingFrom),
      to: String(playingFrom + PLAY_MS),
      purpose: purpose.trim(),
    });
    setPlayError(undefined);
    return playInto(v, `/api/cameras/${encodeURIComponent(cam)}/playback?${q}`, (e) =>
      setPlayError(e instanceof Error ? e.message : String(e)),
    );
  }, [playingFrom, cam]);

  const select = (a: number, b: number) =>
    setSel({ from: siteInput(Math.min(a, b)), to: siteInput(Math.max(a, b)) });
  // A typed end the site's clocks skipped or repeated selects nothing, and says why beside it.
  const selRead = { from: siteInstant(sel.from), to: siteInstant(sel.to) };
  const selFrom = selRead.from.ok ? selRead.from.ms : Number.NaN;
  const selTo = selRead.to.ok ? selRead.to.ms : Number.NaN;
  const selected = Number.isFinite(selFrom) && Number.isFinite(selTo) && selTo > selFrom;
  const zone = siteTime();
  const prefill = `camera=${encodeURIComponent(cam ?? "")}&from=${selected ? selFrom : from}&to=${selected ? selTo : to}`;
  const fpsNow = playingFrom === undefined ? undefined : playFps;
  const frameStep = (dir: 1 | -1) => {
    if (video.current && fpsNow) step(video.current, dir / fpsNow);
  };

  return (
    <section class="panel playback" aria-labelledby="playback-title">
      <h2 id="playback-title">Playback</h2>
      <div class="filters">
        <Field id="pb-camera" label="Camera" errors={[]}>
          <select id="pb-camera" value={cam} onChange={(e) => setCamera(e.currentTarget.value)}>
            {cams?.cameras.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </Field>
        <Field
          id="pb-purpose"
          label="Purpose of viewing"
          errors={purposeError ? [{ field: "pb-purpose", message: purposeError }] : []}
        >
          <input
            id="pb-purpose"
            value={purpose}
            placeholder="case 26-004211"
            onInput={(e) => setPurpose(e.currentTarget.value)}
          />
        </Field>
        <Field
          id="pb-jump"
          label={`Go to (${zone})`}
          errors={jumpError ? [{ field: "pb-jump", message: jumpError }] : []}
        >
          <input
            id="pb-jump"
            type="datetime-local"
            step={1}
            value={jump}
            onInput={(e) => setJump(e.currentTarget.value)}
          />
        </Field>
        <div class="row">
          <button
            type="button"
            onClick={() => {
              const t = siteInstant(jump);
              setJumpError(t.ok ? undefined : t.reason);
              if (t.ok) {
                setCentre(t.ms);
                play(t.ms);
              }
            }}
          >
            Go
          </button>
        </div>
      </div>
      <fieldset class="row">
        <legend class="sr-only">Zoom</legend>
        {ZOOMS.map((z, i) => (
          <button type="button" key={z.label} aria-pressed={zoom === i} onClick={() => setZoom(i)}>
            {z.label}
          </button>
        ))}
        <button type="button" onClick={() => setCentre(centre - width / 2)} aria-label="Earlier">
          ◀
        </button>
        <button type="button" onClick={() => setCentre(centre + width / 2)} aria-label="Later">
          ▶
        </button>
        <span class="hint">
          {when(from)} – {when(to)}
        </span>
      </fieldset>
      {tlError && <p class="notice">{tlError}</p>}
      <TimelineBar
        from={from}
        to={to}
        timeline={tl}
        held={held ? heldRanges : undefined}
        destroyed={destroyed}
        selection={selected ? { from: selFrom, to: selTo } : undefined}
        cursor={playingFrom}
        onPlay={play}
        onSelect={select}
      />
      <fieldset class="filters selection-fields">
        <legend>Range to hold or export (drag across the timeline, or type it)</legend>
        {(["from", "to"] as const).map((end) => {
          const read = selRead[end];
          const errors = sel[end] && !read.ok ? [{ field: `pb-sel-${end}`, message: read.reason }] : [];
          return (
            <Field key={end} id={`pb-sel-${end}`} label={`Selected ${end} (${zone})`} errors={errors}>
              <input
                id={`pb-sel-${end}`}
                type="datetime-local"
                step={1}
                value={sel[end]}
                onInput={(e) => setSel({ ...sel, [end]: e.currentTarget.value })}
              />
            </Field>
          );
        })}
        <div class="row">
          <button type="button" disabled={!sel.from && !sel.to} onClick={() => setSel({ from: "", to: "" })}>
            Clear selection
          </button>
        </div>
      </fieldset>
      <video ref={video} controls muted class="player" aria-label="Recorded footage" />
      {playError && (
        <p class="notice" role="alert">
          {playError}
        </p>
      )}
      <div class="row">
        <button type="button" disabled={!fpsNow} onClick={() => frameStep(-1)}>
          ◀ Frame
        </button>
        <button type="button" disabled={!fpsNow} onClick={() => frameStep(1)}>
          Frame ▶
        </button>
        {playingFrom !== undefined && (
          <span class="hint" data-fps={fpsNow ?? ""}>
            {fpsNow ? `${fpsNow} frames a second` : "frame rate of this footage not known"}
          </span>
        )}
        {may(p.me, "holds.request") && (
          <a class="button" href={`#/holds/new?${prefill}`}>
            {selected ? "Hold the selected range" : "Hold this range"}
          </a>
        )}
        {may(p.me, "exports.create") && (
          <a class="button" href={`#/exports/new?${prefill}`}>
            {selected ? "Export the selected range" : "Export this range"}
          </a>
        )}
      </div>
    </section>
  );
}

function step(v: HTMLVideoElement, by: number): void {
  v.currentTime = Math.max(0, v.currentTime + by);
}
