import { z } from "zod";
import { ROLES } from "../../src/auth/roles.js";
import { USERNAME_PATTERN } from "../../src/auth/users.js";
import { parseTimeText } from "../../src/time/parse.js";

/** Schemas more than one route file uses. */

export const username = z
  .string()
  .regex(
    USERNAME_PATTERN,
    "expected 2-32 characters: a lower-case letter, then lower-case letters, digits, '.', '_' or '-'",
  );
export const role = z.enum(ROLES);
export const epochMs = z.int().min(0).describe("UTC epoch milliseconds");
/** Query strings arrive as text: an ISO 8601 time or epoch milliseconds. */
export const timeQuery = z
  .string()
  .max(40)
  .transform((s, ctx) => {
    const t = parseTimeText(s);
    if (t === undefined) {
      ctx.addIssue({ code: "custom", message: "expected an ISO 8601 time or epoch milliseconds" });
      return z.NEVER;
    }
    return t;
  });
export const intQuery = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,12}$/, "expected a whole number")
    .transform(Number)
    .pipe(z.int().min(min).max(max));

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
});
