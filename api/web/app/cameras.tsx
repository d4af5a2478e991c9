import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { ago } from "./format.js";
import { usePoll } from "./use-poll.js";

interface CameraRow {
  id: string;
  name?: string;
  state: string;
  since?: number;
  required: boolean;
  lastError?: string;
  recording?: { state: string; lastSegmentAt?: number; restarts?: number };
  live?: { viewers: number; open: boolean };
}

/** Every configured camera, its connection and recording state, refreshed every 5 s. */
export function Cameras() {
  const [rows, error] = usePoll((bg) => api<{ cameras: CameraRow[] }>("/api/cameras", bg), 5_000);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(t);
  }, []);
  return (
    <section class="panel" aria-labelledby="cameras-title">
      <h2 id="cameras-title">Cameras</h2>
      {error && (
        <p class="notice" role="alert">
          {error}
        </p>
      )}
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Camera</th>
            <th scope="col">State</th>
            <th scope="col">Since</th>
            <th scope="col">Recording</th>
            <th scope="col">Live viewers</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {rows?.cameras.map((c) => (
            <tr key={c.id} data-camera={c.id}>
              <th scope="row">
                {c.name ?? c.id}
                {c.required && <span class="tag">required</span>}
              </th>
              <td>
                <span class={`badge ${c.state}`}>{c.state}</span>
              </td>
              <td>{c.since ? ago(now - c.since) : "—"}</td>
              <td>{c.recording?.state ?? "—"}</td>
              <td>{c.live?.viewers ?? 0}</td>
              <td>{c.lastError ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
