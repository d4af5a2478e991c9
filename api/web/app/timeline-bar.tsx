import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";
import { api } from "../api.js";
import { when } from "./format.js";
import { may } from "./permissions.js";
import type { Me } from "./session.js";

/**
 * A camera's timeline as drawn: recorded spans, gaps with their causes, held and destroyed ranges
 * (those rows only for roles that may read them), a selection and the playing cursor. A click plays
 * from there; a drag selects a range.
 */

export interface Segment {
  startMs: number;
  endMs: number | null;
  /** Frames per second, as recorded (null: not known). */
  fps: number | null;
}
export interface Timeline {
  spans: { startMs: number; endMs: number }[];
  gaps: { startMs: number; endMs: number | null; cause: string }[];
  segments: Segment[];
}
export interface Destroyed {
  fromMs: number;
  toMs: number;
  reason: string;
}

/** A press that moves less than this across the timeline is a click (play), more a drag (select). */
const DRAG_PX = 4;

export function TimelineBar(p: {
  from: number;
  to: number;
  timeline: Timeline | undefined;
  /** Undefined: not for this role (no row, no legend entry). */
  held: { id: number; fromMs: number; toMs: number }[] | undefined;
  destroyed: Destroyed[] | undefined;
  selection: { from: number; to: number } | undefined;
  cursor: number | undefined;
  onPlay: (at: number) => void;
  onSelect: (a: number, b: number) => void;
}) {
  const drag = useRef<{ x: number; at: number; moved: boolean } | undefined>(undefined);
  const sel = p.selection;
  const x = (t: number) => ((t - p.from) / (p.to - p.from)) * 1000;
  const timeAt = (e: PointerEvent) => {
    const r = (e.currentTarget as SVGElement).getBoundingClientRect();
    return Math.round(p.from + ((e.clientX - r.left) / r.width) * (p.to - p.from));
  };
  return (
    <>
      <svg
        class="timeline"
        viewBox="0 0 1000 60"
        preserveAspectRatio="none"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          drag.current = { x: e.clientX, at: timeAt(e), moved: false };
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (!d || (!d.moved && Math.abs(e.clientX - d.x) < DRAG_PX)) return;
          d.moved = true;
          p.onSelect(d.at, timeAt(e));
        }}
        onPointerUp={(e) => {
          const d = drag.current;
          drag.current = undefined;
          if (!d) return;
          if (d.moved) p.onSelect(d.at, timeAt(e));
          else p.onPlay(timeAt(e));
        }}
        role="img"
        aria-label="Timeline: click to play from there, drag to select a range (or type it below)"
      >
        {p.timeline?.spans.map((s) => (
          <Band x={x} key={`s${s.startMs}`} class="span" from={s.startMs} to={s.endMs} y={10} h={24}>
            recorded {when(s.startMs)} – {when(s.endMs)}
          </Band>
        ))}
        {p.timeline?.gaps.map((g) => (
          <Band x={x} key={`g${g.startMs}`} class="gap" from={g.startMs} to={g.endMs ?? p.to} y={10} h={24}>
            gap: {g.cause}
          </Band>
        ))}
        {p.held?.map((h) => (
          <Band x={x} key={`h${h.id}${h.fromMs}`} class="held" from={h.fromMs} to={h.toMs} y={36} h={8}>
            held (hold #{h.id})
          </Band>
        ))}
        {p.destroyed?.map((d) => (
          <Band x={x} key={`d${d.fromMs}`} class="destroyed" from={d.fromMs} to={d.toMs} y={46} h={8}>
            destroyed: {d.reason}
          </Band>
        ))}
        {sel && (
          <Band x={x} class="selection" from={sel.from} to={sel.to} y={2} h={56}>
            selected {when(sel.from)} – {when(sel.to)}
          </Band>
        )}
        {p.cursor !== undefined && <line class="cursor" x1={x(p.cursor)} x2={x(p.cursor)} y1={0} y2={60} />}
      </svg>
      <ul class="legend">
        <li class="span">recorded</li>
        <li class="gap">gap (cause on hover)</li>
        {p.held && <li class="held">held</li>}
        {p.destroyed && <li class="destroyed">destroyed</li>}
        <li class="selection">selected</li>
      </ul>
    </>
  );
}

/** One range drawn as a band at least half a unit wide, what it is on hover. */
function Band(b: {
  x: (t: number) => number;
  class: string;
  from: number;
  to: number;
  y: number;
  h: number;
  children: ComponentChildren;
}) {
  return (
    <rect class={b.class} x={b.x(b.from)} y={b.y} width={Math.max(0.5, b.x(b.to) - b.x(b.from))} height={b.h}>
      <title>{b.children}</title>
    </rect>
  );
}

/**
 * The frame rate of the footage at `t`: the segment holding it, else the nearest one whose rate is
 * known (a camera's rate seldom changes); undefined when none is.
 */
export function frameRateAt(segments: Segment[] | undefined, t: number): number | undefined {
  let best: { d: number; fps: number } | undefined;
  for (const s of segments ?? []) {
    if (!s.fps) continue;
    const d = t < s.startMs ? s.startMs - t : s.endMs !== null && t >= s.endMs ? t - s.endMs : 0;
    if (!best || d < best.d) best = { d, fps: s.fps };
  }
  return best?.fps;
}

/** What was destroyed in the range: from the coverage (holds.request) or the destruction log (purge.read). */
export async function destroyedIn(
  me: Me,
  camera: string,
  from: number,
  to: number,
  bg: { background: boolean },
): Promise<Destroyed[] | undefined> {
  if (may(me, "holds.request")) {
    const r = await api<{ coverage: { destroyed: Destroyed[] }[] }>("/api/holds/coverage", {
      ...bg,
      body: { ranges: [{ camera, from, to }] },
    });
    return r.coverage.flatMap((c) => c.destroyed);
  }
  if (may(me, "purge.read")) {
    const q = new URLSearchParams({ camera, from: String(from), to: String(to), limit: "10000" });
    const r = await api<{ entries: { startMs: number; endMs: number; reason: string }[] }>(
      `/api/purge/destroyed?${q}`,
      bg,
    );
    return r.entries.map((e) => ({ fromMs: e.startMs, toMs: e.endMs, reason: e.reason }));
  }
  return undefined;
}
