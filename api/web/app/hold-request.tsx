import { useState } from "preact/hooks";
import { LEGAL_BASES, type LegalBasis } from "../../../src/holds/hold.js";
import { ApiProblem, api, type FieldError } from "../api.js";
import { Field } from "./field.js";
import { bytes } from "./format.js";

const BASIS_LABELS: Record<LegalBasis, string> = {
  criminal: "Criminal investigation or prosecution",
  agency_request: "Another agency's formal written request",
  court_order: "Court order",
};

interface RangeRow {
  camera: string;
  from: string;
  to: string;
}

const MAX_SCAN = 20 * 1024 * 1024;

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
    receivedOn: new Date().toISOString().slice(0, 10),
    requestedBy: "",
    agency: "",
    caseNumber: "",
    legalBasis: "criminal" as LegalBasis,
    reason: "",
  });
  const [ranges, setRanges] = useState<RangeRow[]>([
    p.prefill ?? { camera: p.cameras[0]?.id ?? "", from: "", to: "" },
  ]);
  const [scan, setScan] = useState<
    { name: string; type: string; size: number; data: string; preview?: string } | undefined
  >(undefined);
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
    if (!file) return setScan(undefined);
    if (file.size > MAX_SCAN) {
      setErrors([
        { field: "body.form", message: `the scan is ${bytes(file.size)}; at most ${bytes(MAX_SCAN)}` },
      ]);
      return;
    }
    const buf = new Uint8Array(await file.arrayBuffer());
    let bin = "";
    for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    setErrors(errors.filter((e) => e.field !== "body.form"));
    setScan({
      name: file.name,
      type: file.type,
      size: file.size,
      data: btoa(bin),
      ...(file.type.startsWith("image/") ? { preview: URL.createObjectURL(file) } : {}),
    });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const hold = await api<{ id: number }>("/api/holds", {
        body: {
          ...f,
          ranges: ranges.map((r) => ({ camera: r.camera, from: r.from, to: r.to })),
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
      <fieldset class="ranges">
        <legend>Footage to hold (site time)</legend>
        {ranges.map((r, i) => {
          const set = (patch: Partial<RangeRow>) =>
            setRanges(ranges.map((x, j) => (j === i ? { ...x, ...patch } : x)));
          const at = (k: string) =>
            errors.filter((e) => e.field === (k ? `body.ranges[${i}].${k}` : `body.ranges[${i}]`));
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
              <label for={`from-${i}`}>From</label>
              <input
                id={`from-${i}`}
                type="datetime-local"
                step={1}
                value={r.from}
                onInput={(e) => set({ from: e.currentTarget.value })}
              />
              <label for={`to-${i}`}>To</label>
              <input
                id={`to-${i}`}
                type="datetime-local"
                step={1}
                value={r.to}
                onInput={(e) => set({ to: e.currentTarget.value })}
              />
              {ranges.length > 1 && (
                <button type="button" onClick={() => setRanges(ranges.filter((_, j) => j !== i))}>
                  Remove
                </button>
              )}
              {[...at(""), ...at("camera"), ...at("from"), ...at("to")].map((e) => (
                <p class="field-error" role="alert" key={e.field}>
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
          onClick={() => setRanges([...ranges, { camera: p.cameras[0]?.id ?? "", from: "", to: "" }])}
        >
          Add a camera range
        </button>
      </fieldset>
      <Field id="form" label="Scanned signed form (PDF or image)" errors={errors}>
        <input
          id="form"
          type="file"
          accept="application/pdf,image/png,image/jpeg,image/tiff"
          onChange={(e) => void pick(e.currentTarget.files?.[0])}
        />
      </Field>
      {scan && (
        <div class="scan" data-scan={scan.name}>
          <p>
            {scan.name}: {scan.type || "unknown type"}, {bytes(scan.size)}
          </p>
          {scan.preview && <img src={scan.preview} alt={`Preview of ${scan.name}`} />}
        </div>
      )}
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
