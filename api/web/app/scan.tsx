import { bytes } from "./format.js";

/** A scanned document (signed form, written request, court order) as the API takes it, read in the browser. */
export interface Scan {
  name: string;
  type: string;
  size: number;
  /** Base64 of the file's bytes. */
  data: string;
  /** An object URL for images, to preview before sending. */
  preview?: string;
}

export const MAX_SCAN_BYTES = 20 * 1024 * 1024;

/** Reads a picked file; refuses one over MAX_SCAN_BYTES with a message a person can act on. */
export async function readScan(file: File): Promise<Scan> {
  if (file.size > MAX_SCAN_BYTES)
    throw new Error(`the scan is ${bytes(file.size)}; at most ${bytes(MAX_SCAN_BYTES)}`);
  const buf = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  return {
    name: file.name,
    type: file.type,
    size: file.size,
    data: btoa(bin),
    ...(file.type.startsWith("image/") ? { preview: URL.createObjectURL(file) } : {}),
  };
}

/** What was picked, previewed when it is an image (a PDF shows its name, type and size). */
export function ScanPreview(p: { scan: Scan }) {
  return (
    <div class="scan" data-scan={p.scan.name}>
      <p>
        {p.scan.name}: {p.scan.type || "unknown type"}, {bytes(p.scan.size)}
      </p>
      {p.scan.preview && <img src={p.scan.preview} alt={`Preview of ${p.scan.name}`} />}
    </div>
  );
}
