import { useState } from "preact/hooks";
import { ApiProblem, api, type FieldError } from "../api.js";
import { Field } from "./field.js";
import { bytes, when } from "./format.js";
import { may } from "./permissions.js";
import { type RangeRow, RangesEditor, rangeFromHash, rangesBody } from "./ranges.js";
import { readScan, type Scan, ScanPreview } from "./scan.js";
import type { Me } from "./session.js";
import { usePoll } from "./use-poll.js";

type BasisType = "criminal" | "agency_request" | "court_order";

/** Exactly the fields each legal basis needs (retention/export/basis.ts checks them, quoting the policy). */
const BASIS_FIELDS: Record<BasisType, { id: string; label: string; type?: string }[]> = {
  criminal: [
    { id: "caseNumber", label: "Case number" },
    { id: "requestingOfficer", label: "Requesting officer or prosecutor" },
  ],
  agency_request: [
    { id: "agency", label: "Requesting agency" },
    { id: "requestNumber", label: "Number of the formal written request" },
    { id: "requestDate", label: "Date of the written request", type: "date" },
  ],
  court_order: [
    { id: "court", label: "Court" },
    { id: "docketNumber", label: "Docket number" },
    { id: "judge", label: "Judge" },
    { id: "orderDate", label: "Date of the order", type: "date" },
  ],
};
const BASIS_LABELS: Record<BasisType, string> = {
  criminal: "Criminal investigation or prosecution",
  agency_request: "Another government agency's formal written request",
  court_order: "Court order",
};

interface ExportRow {
  id: number;
  hold: number;
  status: string;
  purpose: string;
  recipient: { name: string; organisation: string };
  ranges: { camera: string; fromMs: number; toMs: number }[];
  requestedBy: string;
  requestedAt: number;
  decidedBy: string | null;
  progress: { bytesDone: number; bytesTotal: number; etaMs: number | null } | null;
  error: string | null;
  packageBytes: number | null;
  downloads: { by: string; at: number; bytes: number; complete: boolean }[];
}

interface Coverage {
  camera: string;
  present: { fromMs: number; toMs: number; segments: number }[];
  destroyed: { fromMs: number; toMs: number }[];
}

/**
 * Exports: the wizard (footage and what of it is there, the legal basis asking exactly its fields,
 * the recipient and purpose, review), then the list with each export's job progress, the
 * commander's approval (another commander than the one who entered it), the download and the
 * server's verification of the package.
 */
export function Exports(p: { me: Me }) {
  const [asked] = useState(() => rangeFromHash("exports"));
  const [wizard, setWizard] = useState(asked !== undefined);
  const [list, error] = usePoll((bg) => api<{ exports: ExportRow[] }>("/api/exports", bg), 2_000);
  const [cams] = usePoll(
    (bg) => api<{ cameras: { id: string; name: string }[] }>("/api/cameras", bg),
    60_000,
  );
  if (wizard)
    return (
      <Wizard
        cameras={cams?.cameras ?? []}
        {...(asked ? { prefill: asked } : {})}
        onDone={() => setWizard(false)}
      />
    );
  return (
    <section class="panel" aria-labelledby="exports-title">
      <h2 id="exports-title">Exports</h2>
      {may(p.me, "exports.create") && (
        <div class="row">
          <button type="button" class="primary" onClick={() => setWizard(true)}>
            New export
          </button>
        </div>
      )}
      {error && <p class="notice">{error}</p>}
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Export</th>
            <th scope="col">For</th>
            <th scope="col">Footage</th>
            <th scope="col">Status</th>
            <th scope="col" class="no-print">
              Actions
            </th>
          </tr>
        </thead>
        <tbody>
          {list?.exports.map((e) => (
            <ExportLine key={e.id} e={e} me={p.me} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ExportLine(p: { e: ExportRow; me: Me }) {
  const { e } = p;
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [verified, setVerified] = useState<boolean | undefined>(undefined);
  const act = (f: () => Promise<unknown>) =>
    f().then(
      () => setMessage(undefined),
      (err: unknown) => setMessage(err instanceof ApiProblem ? err.detail : String(err)),
    );
  const mine = e.requestedBy === p.me.actor;
  return (
    <tr data-export={e.id}>
      <th scope="row">
        #{e.id} <span class="tag">hold #{e.hold}</span>
        <div class="hint">{e.purpose}</div>
      </th>
      <td>
        {e.recipient.name}, {e.recipient.organisation}
      </td>
      <td>
        {e.ranges.map((r) => (
          <div key={`${r.camera}${r.fromMs}`}>
            {r.camera}: {when(r.fromMs)} – {when(r.toMs)}
          </div>
        ))}
      </td>
      <td>
        <span class={`badge ${e.status}`}>{e.status}</span>
        {e.status === "running" && e.progress && (
          <progress
            max={e.progress.bytesTotal || 1}
            value={e.progress.bytesDone}
            aria-label={`Export ${e.id} progress`}
          />
        )}
        {e.error && <div class="bad">{e.error}</div>}
        {e.packageBytes !== null && <div class="hint">{bytes(e.packageBytes)}</div>}
        {e.downloads.length > 0 && (
          <div class="hint">
            downloaded {e.downloads.length}×, last by {e.downloads.at(-1)?.by}
          </div>
        )}
      </td>
      <td class="no-print">
        <div class="row">
          {e.status === "requested" && may(p.me, "exports.approve") && !mine && (
            <>
              <button
                type="button"
                class="primary"
                onClick={() => act(() => api(`/api/exports/${e.id}/approve`, { body: { note: "" } }))}
              >
                Approve
              </button>
              <button
                type="button"
                onClick={() => {
                  const reason = prompt("Written reason for the refusal");
                  if (reason) void act(() => api(`/api/exports/${e.id}/refuse`, { body: { reason } }));
                }}
              >
                Refuse
              </button>
            </>
          )}
          {e.status === "done" && may(p.me, "exports.download") && (
            <a class="button" href={`/api/exports/${e.id}/download`} download>
              Download
            </a>
          )}
          {e.status === "done" && (
            <button
              type="button"
              onClick={() =>
                act(async () =>
                  setVerified(
                    (await api<{ ok: boolean }>(`/api/exports/${e.id}/verify`, { method: "POST" })).ok,
                  ),
                )
              }
            >
              Verify
            </button>
          )}
        </div>
        {verified !== undefined && (
          <p class={verified ? "ok" : "bad"} data-verified={verified ? "ok" : "bad"}>
            {verified ? "The package verifies: signature and every file." : "The package does not verify."}
          </p>
        )}
        {message && (
          <p class="notice" role="alert">
            {message}
          </p>
        )}
      </td>
    </tr>
  );
}

function Wizard(p: { cameras: { id: string; name: string }[]; prefill?: RangeRow; onDone: () => void }) {
  const [step, setStep] = useState(0);
  const [ranges, setRanges] = useState<RangeRow[]>([
    p.prefill ?? { camera: p.cameras[0]?.id ?? "", from: "", to: "" },
  ]);
  const [coverage, setCoverage] = useState<Coverage[] | undefined>(undefined);
  const [type, setType] = useState<BasisType>("criminal");
  const [basis, setBasis] = useState<Record<string, string>>({});
  const [dispute, setDispute] = useState<"criminal" | "civil">("criminal");
  const [scan, setScan] = useState<Scan | undefined>(undefined);
  const [recipient, setRecipient] = useState({ name: "", organisation: "", delivery: "download" });
  const [purpose, setPurpose] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const needsScan = type !== "criminal";

  const checkFootage = async () => {
    try {
      const r = await api<{ coverage: Coverage[] }>("/api/holds/coverage", {
        body: { ranges: rangesBody(ranges) },
      });
      setCoverage(r.coverage);
      setErrors([]);
      setStep(1);
    } catch (e) {
      if (e instanceof ApiProblem)
        setErrors(e.errors.length ? e.errors : [{ field: "body.ranges", message: e.detail }]);
      else throw e;
    }
  };
  const submit = async () => {
    const fields = Object.fromEntries(BASIS_FIELDS[type].map((f) => [f.id, basis[f.id] ?? ""]));
    try {
      await api("/api/exports", {
        body: {
          basis: {
            type,
            ...fields,
            ...(type === "court_order" ? { dispute } : {}),
            ...(needsScan && scan ? { scan: { contentType: scan.type, data: scan.data } } : {}),
          },
          recipient,
          purpose,
          ranges: rangesBody(ranges),
        },
      });
      p.onDone();
    } catch (e) {
      if (!(e instanceof ApiProblem)) throw e;
      const errs = e.errors.length ? e.errors : [{ field: "body", message: e.detail }];
      setErrors(errs.map((x) => ({ ...x, field: x.field.replace(/^body\.basis\./, "body.") })));
      // Back to the step the refused field is on.
      const f = errs[0]?.field ?? "";
      setStep(f.startsWith("body.ranges") ? 0 : f.startsWith("body.basis") ? 1 : 2);
    }
  };
  const steps = ["Footage", "Legal basis", "Recipient", "Review"];
  return (
    <section class="panel wizard" aria-labelledby="wizard-title">
      <h2 id="wizard-title">New export</h2>
      <ol class="steps">
        {steps.map((s, i) => (
          <li key={s} aria-current={i === step ? "step" : undefined}>
            {s}
          </li>
        ))}
      </ol>
      {step === 0 && (
        <>
          <RangesEditor
            cameras={p.cameras}
            ranges={ranges}
            onChange={setRanges}
            errors={errors}
            legend="Footage to export"
          />
          <div class="row">
            <button type="button" class="primary" onClick={checkFootage}>
              Next: legal basis
            </button>
            <button type="button" onClick={p.onDone}>
              Cancel
            </button>
          </div>
        </>
      )}
      {step === 1 && (
        <>
          <Field id="basisType" label="Legal basis" errors={errors}>
            <select id="basisType" value={type} onChange={(e) => setType(e.currentTarget.value as BasisType)}>
              {(Object.keys(BASIS_LABELS) as BasisType[]).map((t) => (
                <option key={t} value={t}>
                  {BASIS_LABELS[t]}
                </option>
              ))}
            </select>
          </Field>
          {type === "court_order" && (
            <Field id="dispute" label="The order is made in" errors={errors}>
              <select
                id="dispute"
                value={dispute}
                onChange={(e) => setDispute(e.currentTarget.value as "criminal" | "civil")}
              >
                <option value="criminal">a criminal matter</option>
                <option value="civil">
                  a civil dispute between private litigants (Superior Court of Connecticut only)
                </option>
              </select>
            </Field>
          )}
          {BASIS_FIELDS[type].map((f) => (
            <Field key={f.id} id={f.id} label={f.label} errors={errors}>
              <input
                id={f.id}
                type={f.type ?? "text"}
                value={basis[f.id] ?? ""}
                onInput={(e) => setBasis({ ...basis, [f.id]: e.currentTarget.value })}
              />
            </Field>
          ))}
          {needsScan && (
            <Field
              id="scan"
              label={type === "court_order" ? "The order, scanned" : "The written request, scanned"}
              errors={errors}
            >
              <input
                id="scan"
                type="file"
                accept="application/pdf,image/png,image/jpeg,image/tiff"
                onChange={(e) => {
                  const file = e.currentTarget.files?.[0];
                  if (file)
                    readScan(file).then(setScan, (err: unknown) =>
                      setErrors([{ field: "body.scan", message: String(err) }]),
                    );
                }}
              />
            </Field>
          )}
          {needsScan && scan && <ScanPreview scan={scan} />}
          <div class="row">
            <button type="button" onClick={() => setStep(0)}>
              Back
            </button>
            <button type="button" class="primary" onClick={() => setStep(2)}>
              Next: recipient
            </button>
          </div>
        </>
      )}
      {step === 2 && (
        <>
          {(["name", "organisation", "delivery"] as const).map((k) => (
            <Field
              key={k}
              id={`recipient.${k}`}
              label={{ name: "Recipient", organisation: "Organisation", delivery: "Hand-over" }[k]}
              errors={errors}
            >
              <input
                id={`recipient.${k}`}
                value={recipient[k]}
                onInput={(e) => setRecipient({ ...recipient, [k]: e.currentTarget.value })}
              />
            </Field>
          ))}
          <Field id="purpose" label="Purpose (kept with every audit entry of the export)" errors={errors}>
            <input id="purpose" value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
          </Field>
          <div class="row">
            <button type="button" onClick={() => setStep(1)}>
              Back
            </button>
            <button type="button" class="primary" onClick={() => setStep(3)}>
              Next: review
            </button>
          </div>
        </>
      )}
      {step === 3 && (
        <>
          <h3>What will be in the package</h3>
          <ul class="plain">
            {(coverage ?? []).map((c) => (
              <li key={c.camera + c.present[0]?.fromMs}>
                {c.camera}: {c.present.reduce((n, s) => n + s.segments, 0)} segments present
                {c.present.map((s) => ` (${when(s.fromMs)} – ${when(s.toMs)})`).join("")}
                {c.destroyed.length > 0 && (
                  <span class="bad"> — {c.destroyed.length} range(s) already destroyed</span>
                )}
              </li>
            ))}
          </ul>
          <p>
            {`Basis: ${BASIS_LABELS[type]}. For ${recipient.name || "—"}, ${recipient.organisation || "—"}. Purpose: ${purpose || "—"}.`}{" "}
            A commander other than you must approve it before it is produced.
          </p>
          {errors
            .filter((e) => e.field === "body")
            .map((e) => (
              <p class="notice" role="alert" key={e.message}>
                {e.message}
              </p>
            ))}
          <div class="row">
            <button type="button" onClick={() => setStep(2)}>
              Back
            </button>
            <button type="button" class="primary" onClick={submit}>
              Request the export
            </button>
          </div>
        </>
      )}
    </section>
  );
}
