import type { ActionContext } from "../auth/service.js";
import type {
  Coverage,
  FormScan,
  Hold,
  HoldFilter,
  HoldRange,
  HoldRequestForm,
  HoldRequestInput,
  VerifyReport,
} from "./hold.js";

/**
 * The hold service as its callers use it (API routes, `pscs hold …`): every rule, refusal and audit
 * entry lives behind these methods, so a caller only translates its input and output.
 */

export type HoldLogFormat = "csv" | "html";

export interface HoldDesk {
  /** The request form's own rules (legal basis, received date, ranges), with nothing stored or audited. */
  check(form: HoldRequestForm): void;
  /** A hold log filter's own rules (a known status). */
  checkFilter(filter: HoldFilter): void;
  /** What is and is not still there for each range, as the request form would be checked. */
  coverage(ranges: readonly HoldRange[]): Coverage[];
  request(input: HoldRequestInput, by: ActionContext): Promise<Hold & { coverage: Coverage[] }>;
  /** Only a commander who did not enter the request decides it; a refusal is audited and thrown. */
  approve(id: number, note: string, by: ActionContext): Promise<Hold>;
  refuse(id: number, reason: string, by: ActionContext): Promise<Hold>;
  release(id: number, reason: string, by: ActionContext): Promise<Hold>;
  get(id: number): Promise<Hold>;
  /** The hold log, newest first. */
  list(filter?: HoldFilter): Promise<Hold[]>;
  /** The hold log rendered for print or a spreadsheet; audited as an export. */
  exportLog(
    filter: HoldFilter,
    format: HoldLogFormat,
    by: ActionContext,
  ): Promise<{ holds: Hold[]; body: string }>;
  /** The stored form scan of a hold, its absolute file; audited as a view. */
  viewForm(id: number, by: ActionContext): Promise<FormScan & { root: string }>;
  /** Hashes the hold's evidence tree against what was recorded; audited. */
  verify(id: number, by: ActionContext): Promise<VerifyReport>;
}
