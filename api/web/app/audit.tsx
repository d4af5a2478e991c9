import { useLayoutEffect, useState } from "preact/hooks";
import { ApiProblem, api, type FieldError } from "../api.js";
import { Field } from "./field.js";
import { siteTime, siteZone, when } from "./format.js";
import { may } from "./permissions.js";
import type { Me } from "./session.js";

interface Entry {
  seq: number;
  at: number;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  outcome: string;
  client: string;
  details: string;
}

interface Verify {
  ok: boolean;
  entries: number;
  headSeq: number;
  anchored: boolean;
  breakCount: number;
  breaks: { seq: number; reason: string }[];
}

interface SampleItem {
  kind: string;
  target: string;
  firstAt: number;
  lastAt: number;
  events: number;
  actors: string[];
  actions: string[];
  checklist: string[];
}

const FILTERS = ["actor", "camera", "action", "outcome", "from", "to"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/**
 * The auditor's screen: the chain walked now, the log filtered (everything one person did, or
 * everyone who saw, moved, held or exported one camera, in a period) as a printable investigation
 * report with who, what, when and why, its CSV, and the random inspection sample.
 */
export function Audit(p: { me: Me }) {
  const [chain, setChain] = useState<Verify | undefined>(undefined);
  const [chainError, setChainError] = useState<string | undefined>(undefined);
  const verify = () => {
    setChain(undefined);
    api<Verify>("/api/audit/verify").then(setChain, (e: unknown) => setChainError(String(e)));
  };
  // A layout effect: the request leaves as the screen is drawn, not a frame later.
  useLayoutEffect(verify, []);
  return (
    <div class="audit">
      <section class="panel no-print" aria-labelledby="chain-title">
        <h2 id="chain-title">Audit chain</h2>
        {chainError && <p class="notice">{chainError}</p>}
        {!chain && !chainError && <p>Walking the chain…</p>}
        {chain?.ok && (
          <p class="ok" data-chain="ok">
            Chain verified: {chain.entries} entries up to #{chain.headSeq}, every hash linked
            {chain.anchored ? ", anchored by signed checkpoints" : ""}.
          </p>
        )}
        {chain && !chain.ok && (
          <div class="alert failing" data-chain="broken">
            The chain is broken at {chain.breakCount} place(s):
            <ul>
              {chain.breaks.map((b) => (
                <li key={b.seq}>
                  #{b.seq}: {b.reason}
                </li>
              ))}
            </ul>
          </div>
        )}
        <button type="button" onClick={verify}>
          Verify again
        </button>
      </section>
      <Investigation me={p.me} />
      {may(p.me, "audit.sample") && <Inspection />}
    </div>
  );
}

function Investigation(p: { me: Me }) {
  const [f, setF] = useState<Filters>({ actor: "", camera: "", action: "", outcome: "", from: "", to: "" });
  const [entries, setEntries] = useState<Entry[] | undefined>(undefined);
  const [next, setNext] = useState<number | null>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [asked, setAsked] = useState<{ filters: Filters; at: number } | undefined>(undefined);

  const query = (after?: number) => {
    const q = new URLSearchParams();
    for (const k of FILTERS) if (f[k].trim()) q.set(k, f[k].trim());
    q.set("order", "desc");
    q.set("limit", "200");
    if (after !== undefined) q.set("after", String(after));
    return q;
  };
  const run = async (e?: Event, after?: number) => {
    e?.preventDefault();
    try {
      const page = await api<{ entries: Entry[]; next: number | null }>(`/api/audit?${query(after)}`);
      setErrors([]);
      setEntries(after === undefined ? page.entries : [...(entries ?? []), ...page.entries]);
      setNext(page.next);
      if (after === undefined) setAsked({ filters: { ...f }, at: Date.now() });
    } catch (err) {
      if (err instanceof ApiProblem)
        setErrors(err.errors.map((x) => ({ ...x, field: x.field.replace(/^query\./, "") })));
      else throw err;
    }
  };
  const csv = () => {
    const q = query();
    q.delete("order");
    q.delete("limit");
    return `/api/audit/export?${q}`;
  };
  const input = (k: keyof Filters, label: string, o: { type?: string; placeholder?: string } = {}) => (
    <Field id={k} label={label} errors={errors}>
      <input
        id={k}
        type={o.type ?? "text"}
        placeholder={o.placeholder}
        value={f[k]}
        onInput={(e) => setF({ ...f, [k]: e.currentTarget.value })}
      />
    </Field>
  );
  return (
    <section class="panel" aria-labelledby="inv-title">
      <h2 id="inv-title">Investigation</h2>
      <form class="filters no-print" onSubmit={(e) => run(e)}>
        {input("actor", "Person", { placeholder: "user:jdoe" })}
        {input("camera", "Camera", { placeholder: "cam1" })}
        {input("action", "Action", { placeholder: "video. or ptz.absolute" })}
        <Field id="outcome" label="Outcome" errors={errors}>
          <select
            id="outcome"
            value={f.outcome}
            onChange={(e) => setF({ ...f, outcome: e.currentTarget.value })}
          >
            <option value="">any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
            <option value="failure">failure</option>
          </select>
        </Field>
        {input("from", `From (${siteTime()})`, { type: "datetime-local" })}
        {input("to", `To (${siteTime()})`, { type: "datetime-local" })}
        <div class="row">
          <button type="submit" class="primary">
            Search
          </button>
          {entries && (
            <>
              <a class="button" href={csv()} download>
                CSV
              </a>
              <button type="button" onClick={() => print()}>
                Print report
              </button>
            </>
          )}
        </div>
      </form>
      {asked && (
        <header class="report-head">
          <h3>Investigation report</h3>
          <p>
            {describe(asked.filters)}. Prepared by {p.me.displayName ?? p.me.username} on {when(asked.at)}{" "}
            from the audit log{" "}
            {entries &&
              `(${entries.length} entr${entries.length === 1 ? "y" : "ies"}${next !== null ? ", more follow" : ""})`}
            . Times are the site's ({siteZone()}).
          </p>
        </header>
      )}
      {entries && (
        <table class="grid report">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">On</th>
              <th scope="col">Outcome</th>
              <th scope="col">Why</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.seq} data-seq={e.seq}>
                <td>{when(e.at)}</td>
                <td>
                  {e.actor}
                  {e.role && <span class="tag">{e.role}</span>}
                </td>
                <td>{e.action}</td>
                <td>{e.target ?? ""}</td>
                <td class={e.outcome === "success" ? "" : "bad"}>{e.outcome}</td>
                <td>{why(e.details)}</td>
                <td>{e.client}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button type="button" class="no-print" onClick={() => run(undefined, next)}>
          More
        </button>
      )}
    </section>
  );
}

function describe(f: Filters): string {
  const parts = [
    f.actor && `everything ${f.actor} did`,
    f.camera && `everyone who saw, moved, held or exported camera ${f.camera}`,
    f.action && `action ${f.action}`,
    f.outcome && `outcome ${f.outcome}`,
    (f.from || f.to) && `from ${f.from || "the start"} to ${f.to || "now"} (${siteTime()})`,
  ].filter(Boolean);
  const text = parts.join(", ");
  return text ? text[0]?.toUpperCase() + text.slice(1) : "All entries";
}

/** The reason an entry records: a stated purpose (text, or a PTZ purpose), a reason, a note. */
function why(details: string): string {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(details) as Record<string, unknown>;
  } catch {
    return "";
  }
  const purpose = d.purpose;
  if (typeof purpose === "string") return purpose;
  if (purpose && typeof purpose === "object") {
    const o = purpose as Record<string, unknown>;
    return [o.kind, o.reference, o.note].filter((x) => typeof x === "string").join(" · ");
  }
  for (const k of ["reason", "note", "basis"]) if (typeof d[k] === "string") return d[k] as string;
  return "";
}

function Inspection() {
  const [count, setCount] = useState("4");
  const [seed, setSeed] = useState("");
  const [sample, setSample] = useState<{ seed: string; items: SampleItem[] } | undefined>(undefined);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const draw = async (e: Event) => {
    e.preventDefault();
    try {
      setSample(
        await api("/api/audit/sample", {
          body: { count: Number(count), ...(seed.trim() ? { seed: seed.trim() } : {}) },
        }),
      );
      setErrors([]);
    } catch (err) {
      if (err instanceof ApiProblem)
        setErrors(err.errors.length ? err.errors : [{ field: "body.count", message: err.detail }]);
      else throw err;
    }
  };
  return (
    <section class="panel no-print" aria-labelledby="sample-title">
      <h2 id="sample-title">Random inspection sample</h2>
      <form class="filters" onSubmit={draw}>
        <Field id="count" label="Items" errors={errors}>
          <input
            id="count"
            type="number"
            min={1}
            max={100}
            value={count}
            onInput={(e) => setCount(e.currentTarget.value)}
          />
        </Field>
        <Field id="seed" label="Seed (to repeat a draw)" errors={errors}>
          <input id="seed" value={seed} onInput={(e) => setSeed(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary">
          Draw
        </button>
      </form>
      {sample && (
        <>
          <p>
            Seed <code>{sample.seed}</code> (the draw is audited).
          </p>
          <ol class="sample">
            {sample.items.map((it) => (
              <li key={it.target}>
                <strong>{it.target}</strong> ({it.kind}; {it.events} entries, {when(it.firstAt)} –{" "}
                {when(it.lastAt)}; by {it.actors.join(", ")})
                <ul>
                  {it.checklist.map((c) => (
                    <li key={c}>☐ {c}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
