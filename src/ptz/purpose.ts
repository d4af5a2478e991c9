import { ServiceError } from "../errors/service-error.js";
import { statedPurpose } from "../footage/purpose.js";

/**
 * Why someone takes control of a camera (policy, Use Procedures 7: every movement must be
 * explainable later): one of four kinds, with the reference each needs. Kept with the PTZ session
 * and in every command's audit entry.
 *   incident      an incident or CAD number (reference, required)
 *   event         event management (note: which event, required)
 *   emergency     an emergency (note optional: there may be no number yet)
 *   investigation a case number (reference, required)
 */

export const PTZ_PURPOSE_KINDS = ["incident", "event", "emergency", "investigation"] as const;
export type PtzPurposeKind = (typeof PTZ_PURPOSE_KINDS)[number];

export interface PtzPurpose {
  kind: PtzPurposeKind;
  /** The incident/CAD or case number. */
  reference?: string;
  /** Free text: the event managed, the emergency. */
  note?: string;
}

/** A CAD or case number: short, one line. */
const REFERENCE_MAX = 64;

/** The purpose as kept (trimmed), or an `invalid` refusal naming the field at fault under `field`. */
export function ptzPurpose(input: unknown, field = "purpose"): PtzPurpose {
  if (input === undefined || input === null || typeof input !== "object") {
    throw new ServiceError(
      "invalid",
      `${field}: taking control needs a purpose: {kind: ${PTZ_PURPOSE_KINDS.join(" | ")}, reference?, note?}`,
      field,
    );
  }
  const { kind, reference, note } = input as Record<string, unknown>;
  if (typeof kind !== "string" || !(PTZ_PURPOSE_KINDS as readonly string[]).includes(kind)) {
    throw new ServiceError(
      "invalid",
      `${field}/kind: expected one of ${PTZ_PURPOSE_KINDS.join(", ")}`,
      `${field}/kind`,
    );
  }
  const k = kind as PtzPurposeKind;
  const text = (value: unknown, name: string, max?: number): string | undefined => {
    if (value === undefined || value === null || value === "") return undefined;
    const at = `${field}/${name}`;
    if (typeof value !== "string") throw new ServiceError("invalid", `${at}: expected text`, at);
    const s = statedPurpose(value, at);
    if (max !== undefined && (s.length > max || /[\r\n]/.test(s))) {
      throw new ServiceError("invalid", `${at}: one line of at most ${max} characters`, at);
    }
    return s;
  };
  const ref = text(reference, "reference", REFERENCE_MAX);
  const n = text(note, "note");
  const needs = k === "incident" || k === "investigation" ? "reference" : k === "event" ? "note" : undefined;
  if (needs === "reference" && !ref) {
    const what = k === "incident" ? "the incident or CAD number" : "the case number";
    throw new ServiceError("invalid", `${field}/reference: ${k} needs ${what}`, `${field}/reference`);
  }
  if (needs === "note" && !n) {
    throw new ServiceError("invalid", `${field}/note: event management needs the event`, `${field}/note`);
  }
  return { kind: k, ...(ref ? { reference: ref } : {}), ...(n ? { note: n } : {}) };
}
