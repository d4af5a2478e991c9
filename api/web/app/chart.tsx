import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import { clock, siteZone, zoneName } from "./format.js";

// uPlot is half the UI's code and only the charts need it: fetched when the first chart is drawn,
// after the screen's figures (its stylesheet is in the page's, app.entry.tsx).
let uPlotCode: Promise<typeof uPlot> | undefined;
const loadUPlot = () => (uPlotCode ??= import("uplot").then((m) => m.default));

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

/**
 * A time chart (uPlot): x in epoch ms, its ticks in the site's zone (named in the legend), one line
 * per series, its unit on the y axis.
 */
export function Chart(p: { title: string; times: number[]; series: ChartSeries[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let plot: uPlot | undefined;
    let stopped = false;
    const palette = ["#5cb3ff", "#4cc38a", "#f0b429", "#ff6b6b", "#c792ea", "#89ddff"];
    const draw = (UPlot: typeof uPlot) => {
      if (stopped) return;
      const zone = siteZone();
      plot = new UPlot(
        {
          title: p.title,
          tzDate: (s) => UPlot.tzDate(new Date(s * 1000), zone),
          width: Math.max(320, el.clientWidth),
          height: 220,
          axes: [
            { stroke: "#9fb0c0", grid: { stroke: "#2c3844" } },
            { stroke: "#9fb0c0", grid: { stroke: "#2c3844" }, label: p.unit, size: 70 },
          ],
          series: [
            { label: `Time (${zoneName()})`, value: (_u, v) => (v == null ? "—" : clock(v * 1000)) },
            ...p.series.map((s, i) => ({
              label: s.label,
              stroke: palette[i % palette.length] as string,
              width: 2,
            })),
          ],
        },
        [p.times.map((t) => t / 1000), ...p.series.map((s) => s.values)] as uPlot.AlignedData,
        el,
      );
    };
    loadUPlot().then(draw, (e: unknown) => {
      el.textContent = `The chart could not be drawn: ${e instanceof Error ? e.message : String(e)}`;
    });
    return () => {
      stopped = true;
      plot?.destroy();
    };
  }, [p.title, p.times, p.series, p.unit]);
  return <div class="chart" ref={box} role="img" aria-label={`${p.title} (${p.unit}) over time`} />;
}
