import { useState } from "preact/hooks";
import { HOLD_STATUSES } from "../../../src/holds/hold.js";
import { ApiProblem, api } from "../api.js";
import { Field } from "./field.js";
import { bytes, when } from "./format.js";
import { HoldRequest } from "./hold-request.js";
import { may } from "./permissions.js";
import { rangeFromHash } from "./ranges.js";
import type { Me } from "./session.js";
import { usePoll } from "./use-poll.js";

interface Hold {
  id: number;
  formNumber: string;
  receivedOn: string;
  requestedBy: string;
  agency: string;
  caseNumber: string;
  legalBasis: string;
  reason: string;
  ranges: { camera: string; fromMs: number; toMs: number }[];
  form: { sha256: string; type: string; bytes: number };
  enteredBy: string;
  enteredAt: number;
  status: string;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  releasedBy: string | null;
  releasedAt: number | null;
  releaseReason: string | null;
  evidence: { segments: number; bytes: number };
  overdue: boolean;
}

interface TrailEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  outcome: string;
}

/**
 * Records and the commander: the hold log (filters, CSV, the printable page), the commander's queue
 * of requests to decide, a new request, and one hold in full with its audit trail, its form, its
 * evidence verified, and release with the written reason.
 */
export function Holds(p: { me: Me }) {
  // `#/holds/new?camera=…&from=…&to=…` (playback's "hold this range") opens the form pre-filled.
  const [asked] = useState(() => rangeFromHash("holds"));
  const [view, setView] = useState<{ kind: "log" } | { kind: "new" } | { kind: "hold"; id: number }>(
    asked ? { kind: "new" } : { kind: "log" },
  );
  const [filter, setFilter] = useState({ status: "", case: "", camera: "" });
  const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v));
  const [log, error] = usePoll((bg) => api<{ holds: Hold[] }>(`/api/holds?${q}`, bg), 10_000, [q.toString()]);
  const [cams] = usePoll(
    (bg) => api<{ cameras: { id: string; name: string }[] }>("/api/cameras", bg),
    60_000,
  );

  if (view.kind === "new")
    return (
      <HoldRequest
        cameras={cams?.cameras ?? []}
        {...(asked ? { prefill: asked } : {})}
        onFiled={(id) => setView({ kind: "hold", id })}
      />
    );
  if (view.kind === "hold")
    return <HoldDetail id={view.id} me={p.me} onBack={() => setView({ kind: "log" })} />;
  const pending = (log?.holds ?? []).filter((h) => h.status === "requested");
  return (
    <div class="holds">
      {may(p.me, "holds.approve") && (
        <section class="panel" aria-labelledby="queue-title">
          <h2 id="queue-title">Requests to decide ({pending.length})</h2>
          {pending.length === 0 && <p class="hint">None waiting.</p>}
          <HoldTable holds={pending} open={(id) => setView({ kind: "hold", id })} />
        </section>
      )}
      <section class="panel" aria-labelledby="log-title">
        <h2 id="log-title">Hold log</h2>
        <div class="filters no-print">
          <Field id="f-status" label="Status" errors={[]}>
            <select
              id="f-status"
              value={filter.status}
              onChange={(e) => setFilter({ ...filter, status: e.currentTarget.value })}
            >
              <option value="">any</option>
              {HOLD_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field id="f-case" label="Case number" errors={[]}>
            <input
              id="f-case"
              value={filter.case}
              onInput={(e) => setFilter({ ...filter, case: e.currentTarget.value })}
            />
          </Field>
          <Field id="f-camera" label="Camera" errors={[]}>
            <input
              id="f-camera"
              value={filter.camera}
              onInput={(e) => setFilter({ ...filter, camera: e.currentTarget.value })}
            />
          </Field>
          <div class="row">
            {may(p.me, "holds.request") && (
              <button type="button" class="primary" onClick={() => setView({ kind: "new" })}>
                New hold request
              </button>
            )}
            <a class="button" href={`/api/holds?${withFormat(q, "csv")}`} download>
              CSV
            </a>
            <a class="button" href={`/api/holds?${withFormat(q, "html")}`} target="_blank" rel="noopener">
              Printable log
            </a>
          </div>
        </div>
        {error && <p class="notice">{error}</p>}
        <HoldTable holds={log?.holds ?? []} open={(id) => setView({ kind: "hold", id })} />
      </section>
    </div>
  );
}

function withFormat(q: URLSearchParams, format: string): string {
  const c = new URLSearchParams(q);
  c.set("format", format);
  return c.toString();
}

function HoldTable(p: { holds: Hold[]; open: (id: number) => void }) {
  return (
    <table class="grid">
      <thead>
        <tr>
          <th scope="col">Hold</th>
          <th scope="col">Case</th>
          <th scope="col">Requested by</th>
          <th scope="col">Footage</th>
          <th scope="col">Status</th>
          <th scope="col">Entered</th>
        </tr>
      </thead>
      <tbody>
        {p.holds.map((h) => (
          <tr key={h.id} data-hold={h.id}>
            <th scope="row">
              <button type="button" class="link" onClick={() => p.open(h.id)}>
                #{h.id} {h.formNumber}
              </button>
            </th>
            <td>{h.caseNumber}</td>
            <td>
              {h.requestedBy}, {h.agency}
            </td>
            <td>
              {h.ranges.map((r) => (
                <div key={`${r.camera}${r.fromMs}`}>
                  {r.camera}: {when(r.fromMs)} – {when(r.toMs)}
                </div>
              ))}
            </td>
            <td>
              <span class={`badge ${h.status}`}>{h.status}</span>
              {h.overdue && <span class="tag bad">overdue</span>}
            </td>
            <td>{when(h.enteredAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function HoldDetail(p: { id: number; me: Me; onBack: () => void }) {
  const [tick, setTick] = useState(0);
  const [hold] = usePoll((bg) => api<Hold & { trail: TrailEntry[] }>(`/api/holds/${p.id}`, bg), 10_000, [
    tick,
  ]);
  const [verified, setVerified] = useState<{ ok: boolean; problems: unknown[]; files?: number } | undefined>(
    undefined,
  );
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState<string | undefined>(undefined);
  const decide = async (verb: "approve" | "refuse" | "release") => {
    try {
      await api(`/api/holds/${p.id}/${verb}`, { body: verb === "approve" ? { note: reason } : { reason } });
      setMessage(undefined);
      setReason("");
      setTick(tick + 1);
    } catch (e) {
      setMessage(e instanceof ApiProblem ? e.detail : String(e));
    }
  };
  if (!hold) return <section class="panel">Loading…</section>;
  const commander = may(p.me, "holds.approve");
  return (
    <section class="panel hold" aria-labelledby="hold-title">
      <div class="row no-print">
        <button type="button" onClick={p.onBack}>
          Back to the log
        </button>
        <button type="button" onClick={() => print()}>
          Print
        </button>
      </div>
      <h2 id="hold-title">
        Hold #{hold.id}: form {hold.formNumber} <span class={`badge ${hold.status}`}>{hold.status}</span>
      </h2>
      <dl class="facts">
        <dt>Case</dt>
        <dd>{hold.caseNumber}</dd>
        <dt>Requested by</dt>
        <dd>
          {hold.requestedBy}, {hold.agency} (form received {hold.receivedOn})
        </dd>
        <dt>Legal basis</dt>
        <dd>{hold.legalBasis}</dd>
        <dt>Reason</dt>
        <dd>{hold.reason}</dd>
        <dt>Footage</dt>
        <dd>
          {hold.ranges.map((r) => (
            <div key={`${r.camera}${r.fromMs}`}>
              {r.camera}: {when(r.fromMs)} – {when(r.toMs)}
            </div>
          ))}
        </dd>
        <dt>Signed form</dt>
        <dd>
          <a href={`/api/holds/${hold.id}/form`} target="_blank" rel="noopener">
            {hold.form.type}, {bytes(hold.form.bytes)}
          </a>{" "}
          <code class="hash">sha256 {hold.form.sha256}</code>
        </dd>
        <dt>Entered</dt>
        <dd>
          {when(hold.enteredAt)} by {hold.enteredBy}
        </dd>
        {hold.decidedAt && (
          <>
            <dt>Decided</dt>
            <dd>
              {when(hold.decidedAt)} by {hold.decidedBy}
              {hold.decisionNote ? `: ${hold.decisionNote}` : ""}
            </dd>
          </>
        )}
        {hold.releasedAt && (
          <>
            <dt>Released</dt>
            <dd>
              {when(hold.releasedAt)} by {hold.releasedBy}: {hold.releaseReason}
            </dd>
          </>
        )}
        <dt>Evidence</dt>
        <dd>
          {hold.evidence.segments} segments, {bytes(hold.evidence.bytes)}{" "}
          {hold.status === "active" && (
            <button
              type="button"
              class="no-print"
              onClick={() =>
                api<typeof verified>(`/api/holds/${hold.id}/verify`).then(setVerified, (e: unknown) =>
                  setMessage(String(e)),
                )
              }
            >
              Verify evidence
            </button>
          )}
          {verified && (
            <span class={verified.ok ? "ok" : "bad"} data-verified={verified.ok ? "ok" : "problems"}>
              {verified.ok
                ? " Every file matches what was recorded."
                : ` ${verified.problems.length} problem(s) found.`}
            </span>
          )}
        </dd>
      </dl>
      {message && (
        <p class="notice" role="alert">
          {message}
        </p>
      )}
      {commander && (hold.status === "requested" || hold.status === "active") && (
        <div class="decide no-print">
          <label for="decision-text">
            {hold.status === "requested"
              ? "Note or reason (a refusal needs one)"
              : "Written reason for release"}
          </label>
          <textarea
            id="decision-text"
            rows={2}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <div class="row">
            {hold.status === "requested" && (
              <>
                <button type="button" class="primary" onClick={() => decide("approve")}>
                  Approve
                </button>
                <button type="button" onClick={() => decide("refuse")}>
                  Refuse
                </button>
              </>
            )}
            {hold.status === "active" && (
              <button type="button" onClick={() => decide("release")}>
                Release
              </button>
            )}
          </div>
        </div>
      )}
      <h3>Audit trail</h3>
      <ol class="trail">
        {hold.trail.map((t) => (
          <li key={t.seq}>
            {when(t.at)}: {t.actor} {t.action} ({t.outcome})
          </li>
        ))}
      </ol>
    </section>
  );
}
