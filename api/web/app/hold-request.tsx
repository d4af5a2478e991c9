import { useState } from "preact/hooks";
import { LEGAL_BASES, type LegalBasis } from "../../../src/holds/hold.js";
import { ApiProblem, api, type FieldError } from "../api.js";
import { Field } from "./field.js";
import { siteInput } from "./format.js";
import { type RangeRow, RangesEditor, rangesBody } from "./ranges.js";
import { readScan, type Scan, ScanPreview } from "./scan.js";

const BASIS_LABELS: Record<LegalBasis, string> = {
  criminal: "Criminal investigation or prosecution",
  agency_request: "Another agency's formal written request",
  court_order: "Court order",
};

/**
 * A written hold request as the department's form has it (policy, Storage 2): every field, the
 * camera ranges, and the scanned signed form, previewed before it is sent. The footage is
 * protected from the purge the moment pscsd accepts it; the commander then decides.
 */
export function HoldRequest(p: {
  cameras: { id: string; name: string }[];
  prefill?: RangeRow;
  onFiled: (id: number) => void;
}) {
  const [f, setF] = useState({
    formNumber: "",
    // Today at the site, where the form was received.
    receivedOn: siteInput(Date.now()).slice(0, 10),
    requestedBy: "",
    agency: "",
    caseNumber: "",
    legalBasis: "criminal" as LegalBasis,
    reason: "",
  });
  const [ranges, setRanges] = useState<RangeRow[]>([
    p.prefill ?? { camera: p.cameras[0]?.id ?? "", from: "", to: "" },
  ]);
  const [scan, setScan] = useState<Scan | undefined>(undefined);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [busy, setBusy] = useState(false);

  const text = (k: keyof typeof f, label: string, o: { type?: string; multiline?: boolean } = {}) => (
    <Field id={k} label={label} errors={errors}>
      {o.multiline ? (
        <textarea id={k} rows={3} value={f[k]} onInput={(e) => setF({ ...f, [k]: e.currentTarget.value })} />
      ) : (
        <input
          id={k}
          type={o.type ?? "text"}
          value={f[k]}
          onInput={(e) => setF({ ...f, [k]: e.currentTarget.value })}
        />
      )}
    </Field>
  );

  const pick = async (file: File | undefined) => {
    setErrors(errors.filter((e) => e.field !== "body.form"));
    if (!file) return setScan(undefined);
    try {
      setScan(await readScan(file));
    } catch (e) {
      setErrors([...errors, { field: "body.form", message: e instanceof Error ? e.message : String(e) }]);
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const hold = await api<{ id: number }>("/api/holds", {
        body: {
          ...f,
          ranges: rangesBody(ranges),
          form: scan ? { contentType: scan.type, data: scan.data } : { data: "" },
        },
      });
      p.onFiled(hold.id);
    } catch (err) {
      if (err instanceof ApiProblem)
        setErrors(err.errors.length ? err.errors : [{ field: "body", message: err.detail }]);
      else throw err;
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel hold-form" onSubmit={submit} noValidate aria-labelledby="hold-form-title">
      <h2 id="hold-form-title">Hold request</h2>
      <div class="two">
        {text("formNumber", "Form number")}
        {text("receivedOn", "Signed form received on", { type: "date" })}
        {text("requestedBy", "Requested by")}
        {text("agency", "Agency")}
        {text("caseNumber", "Case or incident number")}
        <Field id="legalBasis" label="Legal basis" errors={errors}>
          <select
            id="legalBasis"
            value={f.legalBasis}
            onChange={(e) => setF({ ...f, legalBasis: e.currentTarget.value as LegalBasis })}
          >
            {LEGAL_BASES.map((b) => (
              <option key={b} value={b}>
                {BASIS_LABELS[b]}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {text("reason", "Reason", { multiline: true })}
      <RangesEditor
        cameras={p.cameras}
        ranges={ranges}
        onChange={setRanges}
        errors={errors}
        legend="Footage to hold"
      />
      <Field id="form" label="Scanned signed form (PDF or image)" errors={errors}>
        <input
          id="form"
          type="file"
          accept="application/pdf,image/png,image/jpeg,image/tiff"
          onChange={(e) => void pick(e.currentTarget.files?.[0])}
        />
      </Field>
      {scan && <ScanPreview scan={scan} />}
      {errors
        .filter((e) => e.field === "body")
        .map((e) => (
          <p class="notice" role="alert" key={e.message}>
            {e.message}
          </p>
        ))}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Filing…" : "File the request"}
      </button>
    </form>
  );
}
