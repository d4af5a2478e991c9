import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ServiceError } from "../src/errors/service-error.js";
import { writeFileAtomic } from "../src/storage/durable.js";

/**
 * The scanned, signed hold-request form: checked by its content (not its claimed name), stored once
 * under `evidence/forms/<sha256>.<ext>`, its hash recorded with the request.
 */

export const MAX_FORM_BYTES = 15 * 1024 * 1024;

const KINDS = [
  { type: "application/pdf", ext: "pdf", magic: [Buffer.from("%PDF-")] },
  { type: "image/png", ext: "png", magic: [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])] },
  { type: "image/jpeg", ext: "jpg", magic: [Buffer.from([0xff, 0xd8, 0xff])] },
  { type: "image/tiff", ext: "tif", magic: [Buffer.from("II*\0"), Buffer.from("MM\0*")] },
] as const;

export const FORM_TYPES = KINDS.map((k) => k.type);

export interface StoredForm {
  path: string;
  sha256: string;
  type: string;
  bytes: number;
}

/** Which accepted kind `data` is, by its first bytes; undefined for anything else. */
export function sniffForm(data: Uint8Array): (typeof KINDS)[number] | undefined {
  const head = Buffer.from(data.subarray(0, 8));
  return KINDS.find((k) => k.magic.some((m) => head.subarray(0, m.length).equals(m)));
}

export async function storeForm(evidenceRoot: string, data: Uint8Array, field = "form"): Promise<StoredForm> {
  if (data.length === 0) throw new ServiceError("invalid", "the scanned form is empty", field);
  if (data.length > MAX_FORM_BYTES) {
    throw new ServiceError(
      "invalid",
      `the scanned form is ${data.length} bytes; at most ${MAX_FORM_BYTES} are accepted`,
      field,
    );
  }
  const kind = sniffForm(data);
  if (!kind) {
    throw new ServiceError("invalid", `the scanned form must be one of ${FORM_TYPES.join(", ")}`, field);
  }
  const sha256 = createHash("sha256").update(data).digest("hex");
  const path = join("forms", `${sha256}.${kind.ext}`);
  await mkdir(join(evidenceRoot, "forms"), { recursive: true });
  await writeFileAtomic(join(evidenceRoot, path), data);
  return { path, sha256, type: kind.type, bytes: data.length };
}
