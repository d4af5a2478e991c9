import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { Field } from "./field.js";
import { when } from "./format.js";
import { may } from "./permissions.js";
import type { Me } from "./session.js";
import { usePoll } from "./use-poll.js";

interface Timeline {
  spans: { fromMs: number; toMs: number }[];
  gaps: { startMs: number; endMs: number | null; cause: string }[];
}
interface Coverage {
  destroyed: { fromMs: number; toMs: number; reason: string }[];
  lost: { fromMs: number; toMs: number }[];
}

const ZOOMS = [
  { label: "Day", ms: 86_400_000 },
  { label: "Hour", ms: 3_600_000 },
  { label: "10 minutes", ms: 600_000 },
  { label: "Minute", ms: 60_000 },
] as const;

/** Minutes of footage one playback asks for from where it starts. */
const PLAY_MS = 10 * 60_000;
const FRAME_S = 1 / 15;

/**
 * Playback of one camera: a timeline (day, hour, ten minutes, a minute) of what was recorded, the
 * gaps with their causes, what holds keep and what was destroyed; a click or a typed time plays from
 * there (a stated purpose first: every view is audited with it); frame steps; the range in view
 * handed to a hold request or an export, pre-filled.
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
  const [coverage] = usePoll(
    (bg) =>
      cam && may(p.me, "holds.request")
        ? api<{ coverage: Coverage[] }>("/api/holds/coverage", {
            ...bg,
            body: { ranges: [{ camera: cam, from, to }] },
          })
        : Promise.resolve(undefined),
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
    setPlayingFrom(at);
  };
  useEffect(() => {
    const v = video.current;
    if (!v || playingFrom === undefined || !cam) return;
    const q = new URLSearchParams({
      from: String(playingFrom),
      to: String(playingFrom + PLAY_MS),
      purpose: purpose.trim(),
    });
    v.src = `/api/cameras/${encodeURIComponent(cam)}/playback?${q}`;
    void v.play().catch(() => undefined);
  }, [playingFrom, cam]);

  const x = (t: number) => ((t - from) / (to - from)) * 1000;
  const clickAt = (e: MouseEvent) => {
    const r = (e.currentTarget as SVGElement).getBoundingClientRect();
    play(Math.round(from + ((e.clientX - r.left) / r.width) * (to - from)));
  };
  const prefill = `camera=${encodeURIComponent(cam ?? "")}&from=${from}&to=${to}`;

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
        <Field id="pb-jump" label="Go to (your time)" errors={[]}>
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
              const t = new Date(jump).getTime();
              if (Number.isFinite(t)) {
                setCentre(t);
                play(t);
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
      {/* biome-ignore lint/a11y/useKeyWithClickEvents: the typed "Go to" time does what a click does */}
      <svg
        class="timeline"
        viewBox="0 0 1000 60"
        preserveAspectRatio="none"
        onClick={clickAt}
        role="img"
        aria-label="Timeline: click to play from there"
      >
        {tl?.spans.map((s) => (
          <rect
            key={`s${s.fromMs}`}
            class="span"
            x={x(s.fromMs)}
            y={10}
            width={Math.max(0.5, x(s.toMs) - x(s.fromMs))}
            height={24}
          >
            <title>
              recorded {when(s.fromMs)} – {when(s.toMs)}
            </title>
          </rect>
        ))}
        {tl?.gaps.map((g) => (
          <rect
            key={`g${g.startMs}`}
            class="gap"
            x={x(g.startMs)}
            y={10}
            width={Math.max(0.5, x(g.endMs ?? to) - x(g.startMs))}
            height={24}
          >
            <title>gap: {g.cause}</title>
          </rect>
        ))}
        {heldRanges.map((h) => (
          <rect
            key={`h${h.id}${h.fromMs}`}
            class="held"
            x={x(h.fromMs)}
            y={36}
            width={Math.max(0.5, x(h.toMs) - x(h.fromMs))}
            height={8}
          >
            <title>held (hold #{h.id})</title>
          </rect>
        ))}
        {coverage?.coverage.flatMap((c) =>
          c.destroyed.map((dd) => (
            <rect
              key={`d${dd.fromMs}`}
              class="destroyed"
              x={x(dd.fromMs)}
              y={46}
              width={Math.max(0.5, x(dd.toMs) - x(dd.fromMs))}
              height={8}
            >
              <title>destroyed: {dd.reason}</title>
            </rect>
          )),
        )}
        {playingFrom !== undefined && (
          <line class="cursor" x1={x(playingFrom)} x2={x(playingFrom)} y1={0} y2={60} />
        )}
      </svg>
      <ul class="legend">
        <li class="span">recorded</li>
        <li class="gap">gap (cause on hover)</li>
        <li class="held">held</li>
        <li class="destroyed">destroyed</li>
      </ul>
      <video ref={video} controls muted class="player" aria-label="Recorded footage" />
      <div class="row">
        <button type="button" onClick={() => step(video.current, -FRAME_S)}>
          ◀ Frame
        </button>
        <button type="button" onClick={() => step(video.current, FRAME_S)}>
          Frame ▶
        </button>
        {may(p.me, "holds.request") && (
          <a class="button" href={`#/holds/new?${prefill}`}>
            Hold this range
          </a>
        )}
        {may(p.me, "exports.create") && (
          <a class="button" href={`#/exports/new?${prefill}`}>
            Export this range
          </a>
        )}
      </div>
    </section>
  );
}

function step(v: HTMLVideoElement | null, by: number): void {
  if (!v) return;
  v.pause();
  v.currentTime = Math.max(0, v.currentTime + by);
}
