import { useState } from "preact/hooks";
import type { PtzPurpose } from "../../../src/ptz/purpose.js";
import { ApiProblem, api } from "../api.js";
import { clock, when } from "./format.js";
import { may } from "./permissions.js";
import { PurposeForm } from "./ptz-panel.js";
import type { Me } from "./session.js";
import { usePoll } from "./use-poll.js";

interface Session {
  id: number;
  camera: string;
  actor: string;
  purpose: PtzPurpose;
  startedAt: number;
  endedAt: number | null;
  endReason: string | null;
  endedBy: string | null;
}

interface Command {
  seq: number;
  at: number;
  kind: string;
  params: Record<string, unknown>;
  outcome: string;
  updates: number;
  error: string | null;
}

const purposeText = (p: PtzPurpose) => [p.kind, p.reference, p.note].filter(Boolean).join(" · ");

/**
 * PTZ sessions for review (supervisors, auditors): who controlled which camera, why, from when to
 * when and how it ended; a session's every command, and where its moves went on a pan/tilt map.
 * A supervisor can take over a session still open (audited; its holder is told).
 */
export function PtzSessions(p: { me: Me }) {
  const [list, error] = usePoll(
    (bg) => api<{ sessions: Session[] }>("/api/ptz/sessions?limit=200", bg),
    5_000,
  );
  const [open, setOpen] = useState<number | undefined>(undefined);
  return (
    <div class="sessions">
      <section class="panel" aria-labelledby="sessions-title">
        <h2 id="sessions-title">PTZ sessions</h2>
        {error && <p class="notice">{error}</p>}
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Session</th>
              <th scope="col">Camera</th>
              <th scope="col">Who</th>
              <th scope="col">Purpose</th>
              <th scope="col">From</th>
              <th scope="col">Ended</th>
            </tr>
          </thead>
          <tbody>
            {list?.sessions.map((s) => (
              <tr key={s.id} data-session={s.id} aria-selected={open === s.id}>
                <th scope="row">
                  <button type="button" class="link" onClick={() => setOpen(s.id)}>
                    #{s.id}
                  </button>
                </th>
                <td>{s.camera}</td>
                <td>{s.actor}</td>
                <td>{purposeText(s.purpose)}</td>
                <td>{when(s.startedAt)}</td>
                <td>
                  {s.endedAt === null ? (
                    <span class="badge playing">open</span>
                  ) : (
                    `${when(s.endedAt)} (${s.endReason}${s.endedBy ? ` by ${s.endedBy}` : ""})`
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {open !== undefined && <SessionDetail id={open} me={p.me} key={open} />}
    </div>
  );
}

function SessionDetail(p: { id: number; me: Me }) {
  const [s, error] = usePoll(
    (bg) => api<Session & { commands: Command[] }>(`/api/ptz/sessions/${p.id}`, bg),
    3_000,
  );
  const [taking, setTaking] = useState(false);
  const [told, setTold] = useState<string | undefined>(undefined);
  if (!s) return <section class="panel">{error ?? "Loading…"}</section>;
  const takeover = async (purpose: PtzPurpose) => {
    await api(`/api/cameras/${encodeURIComponent(s.camera)}/ptz/takeover`, { body: { purpose } });
    setTaking(false);
    setTold(`You now control ${s.camera}; ${s.actor} has been told.`);
  };
  return (
    <section class="panel" aria-labelledby="session-title">
      <h2 id="session-title">
        Session #{s.id}: {s.actor} on {s.camera}
      </h2>
      <p>
        {purposeText(s.purpose)}. {when(s.startedAt)} – {s.endedAt ? when(s.endedAt) : "still open"}
      </p>
      {told && <p class="ok">{told}</p>}
      {s.endedAt === null && may(p.me, "ptz.supervise") && !taking && (
        <button type="button" onClick={() => setTaking(true)}>
          Take over this camera
        </button>
      )}
      {taking && (
        <PurposeForm
          takeover
          onCancel={() => setTaking(false)}
          onSubmit={(purpose) =>
            takeover(purpose).catch((e: unknown) => {
              throw e instanceof ApiProblem ? e : new Error(String(e));
            })
          }
        />
      )}
      <div class="session-body">
        <MoveMap commands={s.commands} />
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Command</th>
              <th scope="col">Parameters</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {s.commands.map((c) => (
              <tr key={c.seq}>
                <td>{clock(c.at)}</td>
                <td>
                  {c.kind}
                  {c.updates > 1 && <span class="tag">{c.updates} updates</span>}
                </td>
                <td>
                  <code>{JSON.stringify(c.params)}</code>
                </td>
                <td class={c.outcome === "success" ? "" : "bad"}>
                  {c.error ? `${c.outcome}: ${c.error}` : c.outcome}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/**
 * Where the session's moves went, in pan/tilt space ([-1, 1] each): absolute targets as points
 * joined in order, continuous moves as arrows of their velocity from the last known point.
 */
function MoveMap(p: { commands: Command[] }) {
  const S = 100;
  const x = (pan: number) => ((pan + 1) / 2) * S;
  const y = (tilt: number) => ((1 - tilt) / 2) * S;
  let at = { pan: 0, tilt: 0 };
  type Mark = { kind: "point" | "arrow"; from: typeof at; to: typeof at; seq: number };
  const marks = p.commands.flatMap((c): Mark[] => {
    const v = (c.params.position ?? c.params.velocity ?? c.params.translation) as
      | { pan?: number; tilt?: number }
      | undefined;
    if (!v || c.outcome !== "success") return [];
    if (c.kind === "absolute") {
      const from = at;
      at = { pan: v.pan ?? at.pan, tilt: v.tilt ?? at.tilt };
      return [{ kind: "point", from, to: at, seq: c.seq }];
    }
    if (c.kind === "relative") {
      const from = at;
      at = { pan: at.pan + (v.pan ?? 0), tilt: at.tilt + (v.tilt ?? 0) };
      return [{ kind: "point", from, to: at, seq: c.seq }];
    }
    if (c.kind === "continuous") {
      const to = { pan: at.pan + (v.pan ?? 0) * 0.3, tilt: at.tilt + (v.tilt ?? 0) * 0.3 };
      return [{ kind: "arrow", from: at, to, seq: c.seq }];
    }
    return [];
  });
  return (
    <svg class="move-map" viewBox={`-4 -4 ${S + 8} ${S + 8}`} role="img" aria-label="Moves on a pan/tilt map">
      <rect x={0} y={0} width={S} height={S} class="frame" />
      <line x1={S / 2} y1={0} x2={S / 2} y2={S} class="axis" />
      <line x1={0} y1={S / 2} x2={S} y2={S / 2} class="axis" />
      {marks.map((m) => (
        <g key={m.seq} class={m.kind}>
          <line x1={x(m.from.pan)} y1={y(m.from.tilt)} x2={x(m.to.pan)} y2={y(m.to.tilt)} />
          {m.kind === "point" && <circle cx={x(m.to.pan)} cy={y(m.to.tilt)} r={2} />}
        </g>
      ))}
    </svg>
  );
}
