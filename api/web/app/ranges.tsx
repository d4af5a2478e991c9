import type { FieldError } from "../api.js";
import { siteInput, siteTime } from "./format.js";

export interface RangeRow {
  camera: string;
  from: string;
  to: string;
}

/**
 * The `camera=…&from=…&to=…` a link (playback's "hold this range", "export this range") passes in
 * the hash after `#/<screen>/new?` (epoch ms), as a range row in site time; undefined when there is none.
 */
export function rangeFromHash(screen: string): RangeRow | undefined {
  const m = new RegExp(`^#/${screen}/new\\?(.*)$`).exec(location.hash);
  if (!m) return undefined;
  const q = new URLSearchParams(m[1]);
  const from = Number(q.get("from"));
  const to = Number(q.get("to"));
  const camera = q.get("camera");
  if (!camera || !Number.isFinite(from) || !Number.isFinite(to)) return undefined;
  return { camera, from: siteInput(from), to: siteInput(to) };
}

/**
 * Camera time ranges in site time, each row's errors (`body.ranges[i].…`, such as a time the
 * clocks went back over) beside it.
 */
export function RangesEditor(p: {
  cameras: { id: string; name: string }[];
  ranges: RangeRow[];
  onChange: (r: RangeRow[]) => void;
  errors: FieldError[];
  legend: string;
}) {
  const { ranges, onChange, errors } = p;
  const zone = siteTime();
  return (
    <fieldset class="ranges">
      <legend>{p.legend}</legend>
      {ranges.map((r, i) => {
        const set = (patch: Partial<RangeRow>) =>
          onChange(ranges.map((x, j) => (j === i ? { ...x, ...patch } : x)));
        const here = errors.filter(
          (e) => e.field === `body.ranges[${i}]` || e.field.startsWith(`body.ranges[${i}].`),
        );
        return (
          <div class="range" key={i}>
            <label for={`camera-${i}`}>Camera</label>
            <select
              id={`camera-${i}`}
              value={r.camera}
              onChange={(e) => set({ camera: e.currentTarget.value })}
            >
              {p.cameras.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
            <label for={`from-${i}`}>From ({zone})</label>
            <input
              id={`from-${i}`}
              type="datetime-local"
              step={1}
              value={r.from}
              onInput={(e) => set({ from: e.currentTarget.value })}
            />
            <label for={`to-${i}`}>To ({zone})</label>
            <input
              id={`to-${i}`}
              type="datetime-local"
              step={1}
              value={r.to}
              onInput={(e) => set({ to: e.currentTarget.value })}
            />
            {ranges.length > 1 && (
              <button type="button" onClick={() => onChange(ranges.filter((_, j) => j !== i))}>
                Remove
              </button>
            )}
            {here.map((e) => (
              <p class="field-error" role="alert" key={e.field + e.message}>
                {e.field.replace(/^body\./, "")}: {e.message}
              </p>
            ))}
          </div>
        );
      })}
      {errors
        .filter((e) => e.field === "body.ranges")
        .map((e) => (
          <p class="field-error" role="alert" key={e.message}>
            {e.message}
          </p>
        ))}
      <button
        type="button"
        onClick={() => onChange([...ranges, { camera: p.cameras[0]?.id ?? "", from: "", to: "" }])}
      >
        Add a camera range
      </button>
    </fieldset>
  );
}

/** Ranges as the API takes them: each time as typed, a wall time pscsd reads in the site's zone. */
export const rangesBody = (ranges: RangeRow[]) =>
  ranges.map((r) => ({ camera: r.camera, from: r.from, to: r.to }));
