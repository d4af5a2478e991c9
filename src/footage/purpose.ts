import { ServiceError } from "../errors/service-error.js";
import { textFault } from "../text/well-formed.js";

/**
 * Why footage is seen or released (a case number or a reason), stated by the person each time and
 * kept in the audit entry, so the trail answers who saw what, when and why. One rule for every
 * caller (API, CLI, exports): trimmed, non-empty, acceptable text, at most PURPOSE_MAX characters.
 */

export const PURPOSE_MAX = 500;
export const NO_PURPOSE = "expected the purpose: a case number or the reason for viewing";

/** The purpose as it goes into the audit entry (trimmed), or an `invalid` refusal naming `field`. */
export function statedPurpose(value: string, field = "purpose"): string {
  const refuse = (message: string) => new ServiceError("invalid", `${field}: ${message}`, field);
  const fault = textFault(value);
  if (fault) throw refuse(fault);
  const purpose = value.trim();
  if (!purpose) throw refuse(NO_PURPOSE);
  if (purpose.length > PURPOSE_MAX) throw refuse(`at most ${PURPOSE_MAX} characters`);
  return purpose;
}
