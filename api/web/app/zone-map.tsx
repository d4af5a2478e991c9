import { useRef } from "preact/hooks";

/** A rectangle in ONVIF's generic pan/tilt space ([-1, 1] each: left to right, down to up). */
export interface PanTiltRect {
  pan: [number, number];
  tilt: [number, number];
}

export interface MapZone extends PanTiltRect {
  id: string;
  source: "config" | "api";
}

const S = 200;
const x = (pan: number) => ((pan + 1) / 2) * S;
const y = (tilt: number) => ((1 - tilt) / 2) * S;
const clamp = (v: number) => Math.min(1, Math.max(-1, v));
/** Two decimals: what the fields show and what a hand can aim at on a map this size. */
const round = (v: number) => Math.round(v * 100) / 100;

/**
 * A camera's pan/tilt space: its privacy zones (config file and API apart), where it points and
 * what it sees from there, and the zone being drawn. Dragging draws a new rectangle; the same
 * rectangle is typed in the form's fields, which is the keyboard's way to draw.
 */
export function ZoneMap(p: {
  zones: readonly MapZone[];
  position: { pan: number; tilt: number; zoom: number } | null;
  view: { pan: number; tilt: number } | null;
  draft: PanTiltRect | undefined;
  onDraw: (r: PanTiltRect) => void;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const start = useRef<{ pan: number; tilt: number } | undefined>(undefined);
  const at = (e: PointerEvent) => {
    const r = (svg.current as SVGSVGElement).getBoundingClientRect();
    return {
      pan: round(clamp(((e.clientX - r.left) / r.width) * 2 - 1)),
      tilt: round(clamp(1 - ((e.clientY - r.top) / r.height) * 2)),
    };
  };
  const draw = (e: PointerEvent) => {
    const a = start.current;
    if (!a) return;
    const b = at(e);
    p.onDraw({
      pan: [Math.min(a.pan, b.pan), Math.max(a.pan, b.pan)],
      tilt: [Math.min(a.tilt, b.tilt), Math.max(a.tilt, b.tilt)],
    });
  };
  const rect = (r: PanTiltRect) => ({
    x: x(r.pan[0]),
    y: y(r.tilt[1]),
    width: Math.max(0.5, x(r.pan[1]) - x(r.pan[0])),
    height: Math.max(0.5, y(r.tilt[0]) - y(r.tilt[1])),
  });
  const here = p.position;
  return (
    <svg
      ref={svg}
      class="zone-map"
      viewBox={`-6 -6 ${S + 12} ${S + 12}`}
      role="img"
      aria-label="Pan/tilt map of the camera: its privacy zones, where it points, the zone being drawn"
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        start.current = at(e);
      }}
      onPointerMove={draw}
      onPointerUp={(e) => {
        draw(e);
        start.current = undefined;
      }}
    >
      <rect x={0} y={0} width={S} height={S} class="frame" />
      <line x1={S / 2} y1={0} x2={S / 2} y2={S} class="axis" />
      <line x1={0} y1={S / 2} x2={S} y2={S / 2} class="axis" />
      {p.zones.map((z) => (
        <g key={z.id} class={`zone ${z.source}`} data-zone={z.id}>
          <rect {...rect(z)} />
          <text x={rect(z).x + 2} y={rect(z).y + 8}>
            {z.id}
          </text>
        </g>
      ))}
      {here && p.view && (
        <g class="here" data-pan={here.pan} data-tilt={here.tilt}>
          <rect
            {...rect({
              pan: [clamp(here.pan - p.view.pan), clamp(here.pan + p.view.pan)],
              tilt: [clamp(here.tilt - p.view.tilt), clamp(here.tilt + p.view.tilt)],
            })}
          />
          <line x1={x(here.pan) - 5} y1={y(here.tilt)} x2={x(here.pan) + 5} y2={y(here.tilt)} />
          <line x1={x(here.pan)} y1={y(here.tilt) - 5} x2={x(here.pan)} y2={y(here.tilt) + 5} />
        </g>
      )}
      {p.draft && <rect {...rect(p.draft)} class="draft" />}
    </svg>
  );
}
