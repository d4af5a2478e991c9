import { useMemo } from "preact/hooks";
import { api } from "../api.js";
import { Chart, type ChartSeries } from "./chart.js";
import { ago, bytes, when } from "./format.js";
import { usePoll } from "./use-poll.js";

/** Only what this screen reads of GET /api/health (src/health/health.ts HealthReport). */
interface Health {
  status: "ok" | "degraded" | "failing";
  alerts: { severity: "failing" | "degraded"; subject: string; text: string }[];
  cameras: {
    id: string;
    name: string;
    state: string;
    since: number;
    required: boolean;
    lastError?: string;
    clock?: { offsetMs: number };
    clockOff?: string;
    recording?: { state: string; restarts: number; segments: number; lastSegmentAt?: number };
    live?: { viewers: number };
  }[];
  storage: {
    volume: string;
    totalBytes: number;
    freeBytes: number;
    floorBytes: number;
    low: boolean;
    daysLeft: number | null;
    error?: string;
  }[];
  purge: {
    retentionDays: number;
    schedule: string;
    nextRunAt: number | null;
    overdue: boolean;
    lastRun: {
      startedAt: number;
      destroyed: number;
      bytes: number;
      failures: number;
      error: string | null;
    } | null;
  };
}

interface Sample {
  at: number;
  free: Record<string, number>;
  cameras: Record<string, { connected: boolean; recordedBytes: number; viewers: number }>;
}

interface Destroyed {
  camera: string;
  startMs: number;
  endMs: number;
  reason: string;
  destroyedAt: number;
}

/**
 * Operations: what needs a person now (alerts), each camera's state, storage and days left, the
 * purge, the last destructions, and 24 h charts of free space and recorded bitrate.
 */
export function Ops() {
  const [health, error] = usePoll((bg) => api<Health>("/api/health", bg), 5_000);
  const [history] = usePoll((bg) => api<{ samples: Sample[] }>("/api/health/history?hours=24", bg), 60_000);
  const [destroyed] = usePoll(
    (bg) => api<{ entries: Destroyed[] }>("/api/purge/destroyed?limit=10", bg),
    60_000,
  );
  const bitrate = useMemo(() => bitrateOf(history?.samples ?? []), [history]);
  const now = Date.now();
  return (
    <div class="ops">
      <section class="panel" aria-labelledby="alerts-title">
        <h2 id="alerts-title">
          Status: <span class={`badge ${health?.status ?? ""}`}>{health?.status ?? "…"}</span>
        </h2>
        {error && (
          <p class="notice" role="alert">
            {error}
          </p>
        )}
        {health && health.alerts.length === 0 && <p class="ok">Nothing needs attention.</p>}
        <ul class="alerts">
          {health?.alerts.map((a) => (
            <li key={`${a.subject} ${a.text}`} class={`alert ${a.severity}`}>
              <strong>{a.severity}</strong> {a.text}
            </li>
          ))}
        </ul>
      </section>
      <section class="panel" aria-labelledby="ops-cameras-title">
        <h2 id="ops-cameras-title">Cameras</h2>
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Camera</th>
              <th scope="col">State</th>
              <th scope="col">Recording</th>
              <th scope="col">Last segment</th>
              <th scope="col">Bitrate</th>
              <th scope="col">Restarts</th>
              <th scope="col">Clock offset</th>
              <th scope="col">Viewers</th>
            </tr>
          </thead>
          <tbody>
            {health?.cameras.map((c) => (
              <tr key={c.id} data-camera={c.id}>
                <th scope="row">
                  {c.name}
                  {c.required && <span class="tag">required</span>}
                </th>
                <td>
                  <span class={`badge ${c.state}`}>{c.state}</span>{" "}
                  <span class="hint">{ago(now - c.since)}</span>
                  {c.lastError && <div class="hint">{c.lastError}</div>}
                </td>
                <td>{c.recording?.state ?? "—"}</td>
                <td>{c.recording?.lastSegmentAt ? ago(now - c.recording.lastSegmentAt) : "—"}</td>
                <td>
                  {bitrate.latest[c.id] !== undefined
                    ? `${(bitrate.latest[c.id] as number).toFixed(2)} Mbit/s`
                    : "—"}
                </td>
                <td>{c.recording?.restarts ?? 0}</td>
                <td class={c.clockOff ? "bad" : ""}>
                  {c.clock ? `${(c.clock.offsetMs / 1000).toFixed(1)} s` : "—"}
                </td>
                <td>{c.live?.viewers ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="panel" aria-labelledby="storage-title">
        <h2 id="storage-title">Storage</h2>
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Volume</th>
              <th scope="col">Free</th>
              <th scope="col">Floor</th>
              <th scope="col">Days left</th>
            </tr>
          </thead>
          <tbody>
            {health?.storage.map((v) => (
              <tr key={v.volume}>
                <th scope="row">{v.volume}</th>
                <td class={v.low ? "bad" : ""}>
                  {v.error ?? `${bytes(v.freeBytes)} of ${bytes(v.totalBytes)}`}
                  <meter
                    min={0}
                    max={v.totalBytes || 1}
                    low={v.floorBytes}
                    value={v.freeBytes}
                    aria-label={`${v.volume} free`}
                  />
                </td>
                <td>{bytes(v.floorBytes)}</td>
                <td>{v.daysLeft === null ? "not shrinking (or not yet known)" : v.daysLeft.toFixed(1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {history && history.samples.length > 1 && (
          <Chart
            title="Free space, last 24 h"
            unit="GiB"
            times={history.samples.map((s) => s.at)}
            series={freeSeries(history.samples)}
          />
        )}
        {bitrate.series.length > 0 && (
          <Chart
            title="Recorded bitrate, last 24 h"
            unit="Mbit/s"
            times={bitrate.times}
            series={bitrate.series}
          />
        )}
      </section>
      <section class="panel" aria-labelledby="purge-title">
        <h2 id="purge-title">Purge</h2>
        {health && (
          <dl class="facts">
            <dt>Retention</dt>
            <dd>{health.purge.retentionDays} days</dd>
            <dt>Schedule</dt>
            <dd>
              <code>{health.purge.schedule}</code>
              {health.purge.nextRunAt && `, next ${when(health.purge.nextRunAt)}`}
            </dd>
            <dt>Last run</dt>
            <dd>
              {health.purge.lastRun
                ? `${when(health.purge.lastRun.startedAt)}: ${health.purge.lastRun.destroyed} segments, ${bytes(health.purge.lastRun.bytes)}${health.purge.lastRun.failures ? `, ${health.purge.lastRun.failures} failures` : ""}`
                : "none yet"}
            </dd>
            <dt>Behind</dt>
            <dd class={health.purge.overdue ? "bad" : ""}>
              {health.purge.overdue ? "yes: footage past retention is on disk" : "no"}
            </dd>
          </dl>
        )}
        <h3>Last destructions</h3>
        {destroyed && destroyed.entries.length === 0 && <p class="hint">None.</p>}
        <ul class="plain">
          {destroyed?.entries.map((d) => (
            <li key={`${d.camera}${d.startMs}`}>
              {when(d.destroyedAt)}: {d.camera} {when(d.startMs)} – {when(d.endMs)} ({d.reason})
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function freeSeries(samples: Sample[]): ChartSeries[] {
  const volumes = [...new Set(samples.flatMap((s) => Object.keys(s.free)))];
  return volumes.map((v) => ({
    label: v,
    values: samples.map((s) => (s.free[v] === undefined ? null : (s.free[v] as number) / 2 ** 30)),
  }));
}

/** Mbit/s recorded per camera between consecutive samples (bytes counted as segments close). */
function bitrateOf(samples: Sample[]): {
  times: number[];
  series: ChartSeries[];
  latest: Record<string, number>;
} {
  const cams = [...new Set(samples.flatMap((s) => Object.keys(s.cameras)))];
  const times = samples.slice(1).map((s) => s.at);
  const latest: Record<string, number> = {};
  const series = cams.map((c) => {
    const values = samples.slice(1).map((s, i) => {
      const prev = (samples[i] as Sample).cameras[c];
      const cur = s.cameras[c];
      if (!prev || !cur || cur.recordedBytes < prev.recordedBytes) return null;
      return (
        ((cur.recordedBytes - prev.recordedBytes) * 8) / ((s.at - (samples[i] as Sample).at) / 1000) / 1e6
      );
    });
    const last = values.at(-1);
    if (last !== undefined && last !== null) latest[c] = last;
    return { label: c, values };
  });
  return { times, series, latest };
}
