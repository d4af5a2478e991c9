import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { LiveTile } from "./live-tile.js";
import { may } from "./permissions.js";
import { PtzPanel } from "./ptz-panel.js";
import type { Me } from "./session.js";
import { usePoll } from "./use-poll.js";

const LAYOUTS = [1, 4, 9, 16] as const;
type Layout = (typeof LAYOUTS)[number];

/**
 * The dispatch wall: 1, 4, 9 or 16 live tiles (keys 1–4 switch), a tile opened large with its PTZ
 * panel, Escape back to the wall. The layout is remembered on this computer.
 */
export function Dispatch(p: { me: Me }) {
  const [cams] = usePoll(
    (bg) => api<{ cameras: { id: string; name: string }[] }>("/api/cameras", bg),
    30_000,
  );
  const [layout, setLayout] = useState<Layout>(() => {
    const saved = Number(localStorage.getItem("pscs.wall.layout"));
    return (LAYOUTS as readonly number[]).includes(saved) ? (saved as Layout) : 4;
  });
  const [open, setOpen] = useState<string | undefined>(undefined);

  useEffect(() => localStorage.setItem("pscs.wall.layout", String(layout)), [layout]);
  useEffect(() => {
    const f = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
      if (e.key === "Escape") setOpen(undefined);
      const i = ["1", "2", "3", "4"].indexOf(e.key);
      if (i >= 0 && !open) setLayout(LAYOUTS[i] as Layout);
    };
    addEventListener("keydown", f);
    return () => removeEventListener("keydown", f);
  }, [open]);

  const cameras = cams?.cameras ?? [];
  const shown = cameras.find((c) => c.id === open);
  if (shown) {
    return (
      <section class="wall-one" aria-label={`Camera ${shown.name}`}>
        <div class="row">
          <button type="button" onClick={() => setOpen(undefined)}>
            Back to the wall (Esc)
          </button>
        </div>
        <div class="one">
          <LiveTile camera={shown.id} name={shown.name} big />
          {may(p.me, "ptz.control") && <PtzPanel camera={shown.id} me={p.me} />}
        </div>
      </section>
    );
  }
  return (
    <section class="wall" aria-label="Dispatch wall">
      <fieldset class="row">
        <legend class="sr-only">Layout</legend>
        {LAYOUTS.map((n, i) => (
          <button
            type="button"
            key={n}
            aria-pressed={layout === n}
            onClick={() => setLayout(n)}
            title={`key ${i + 1}`}
          >
            {n === 1 ? "1 tile" : `${n} tiles`}
          </button>
        ))}
      </fieldset>
      <div class={`tiles n${layout}`}>
        {cameras.slice(0, layout).map((c) => (
          <LiveTile key={c.id} camera={c.id} name={c.name} onOpen={() => setOpen(c.id)} />
        ))}
      </div>
    </section>
  );
}
