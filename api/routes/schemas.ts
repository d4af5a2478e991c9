import { z } from "zod";
import { ROLES } from "../../src/auth/roles.js";
import { USERNAME_PATTERN } from "../../src/auth/users.js";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import { NO_PURPOSE, PURPOSE_MAX } from "../../src/footage/purpose.js";
import { parseTime } from "../../src/time/parse.js";

/** Schemas more than one route file uses. */

export const username = z
  .string()
  .regex(
    USERNAME_PATTERN,
    "expected 2-32 characters: a lower-case letter, then lower-case letters, digits, '.', '_' or '-'",
  );
export const role = z.enum(ROLES);
export const epochMs = z.int().min(0).describe("UTC epoch milliseconds");
/** Reads text as parseTime does, as a zod transform that names the reason. */
const inZone = (zone: string) => (v: string | number, ctx: z.RefinementCtx) => {
  if (typeof v === "number") return v;
  const t = parseTime(v, zone);
  if (t.ok) return t.ms;
  ctx.addIssue({ code: "custom", message: t.reason });
  return z.NEVER;
};
/**
 * Query strings arrive as text: an ISO 8601 time (without an offset, a wall-clock time in the site's
 * zone) or epoch milliseconds.
 */
export const timeQuery = (zone: string) => z.string().max(40).transform(inZone(zone));
/** A time in a JSON body: epoch milliseconds as a number, or text as in a query. */
export const timeValue = (zone: string) => z.union([epochMs, z.string().max(40)]).transform(inZone(zone));
/** Why footage is viewed (the service holds the rule; this states it in the API's terms and docs). */
export const purposeQuery = z
  .string({ error: (issue) => (issue.input === undefined ? NO_PURPOSE : undefined) })
  .trim()
  .min(1, NO_PURPOSE)
  .max(PURPOSE_MAX)
  .describe("why the footage is viewed: a case number or the reason (kept in the audit entry)");
/** Camera ranges in a body (hold requests, exports), times read as timeValue reads them. */
export const rangesSchema = (zone: string) =>
  z
    .array(z.strictObject({ camera: cameraIdSchema, from: timeValue(zone), to: timeValue(zone) }))
    .min(1, "expected at least one camera range")
    .max(64);
/** Body ranges as the services take them. */
export const toRanges = (rs: { camera: string; from: number; to: number }[]) =>
  rs.map((r) => ({ camera: r.camera, fromMs: r.from, toMs: r.to }));
export const intQuery = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,12}$/, "expected a whole number")
    .transform(Number)
    .pipe(z.int().min(min).max(max));

/** A person's name as the screens and the audit log show it. */
export const displayName = z
  .string()
  // Stored exactly as sent, like every text pscsd takes: a blank one is refused, not trimmed.
  .refine((s) => s.trim() !== "", { message: "expected a name: 1 to 100 characters", abort: true })
  .max(100, "expected at most 100 characters");

export const publicUser = z.object({
  username: z.string(),
  displayName: z.string(),
  roles: z.array(role),
  disabled: z.boolean(),
  mustChangePassword: z.boolean(),
  lockedUntil: epochMs.nullable(),
  createdAt: epochMs,
  createdBy: z.string(),
  passwordChangedAt: epochMs,
  lastSignInAt: epochMs
    .nullable()
    .describe(
      "UTC epoch milliseconds of the last sign-in with the password (null: never); tokens do not count",
    ),
});
