import { z } from "zod";
import { type Manifest, PACKAGE_FORMAT } from "./package-format.js";
import { packagePathProblem } from "./package-path.js";

/**
 * manifest.json's shape as the verifier reads it: a manifest that parses here has every field the
 * package format names, of its type (typed against `Manifest`, so the two cannot drift apart).
 * Extra fields pass: they are signed like the rest, and a later format may add some.
 */

const text = z.string();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 as 64 lowercase hex digits");
const bytes = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const path = z.string().superRefine((p, ctx) => {
  const problem = packagePathProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: `not a path inside the package: ${problem}` });
});
const instant = z.object({ utc: text, local: text });
const span = z.object({ from: instant, to: instant });
const scan = z.object({ file: path, sha256, type: text, bytes });
const ymd = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected YYYY-MM-DD");

const basis = z.discriminatedUnion("type", [
  z.object({ type: z.literal("criminal"), caseNumber: text, requestingOfficer: text }),
  z.object({
    type: z.literal("agency_request"),
    agency: text,
    requestNumber: text,
    requestDate: ymd,
    scan,
  }),
  z.object({
    type: z.literal("court_order"),
    dispute: z.enum(["criminal", "civil"]),
    court: text,
    docketNumber: text,
    judge: text,
    orderDate: ymd,
    scan,
  }),
]);

const camera = z.object({
  camera: text,
  clip: path,
  requested: span,
  actual: span,
  identity: z.object({ manufacturer: text, model: text, serial: text, firmware: text }).nullable(),
  clock: z.array(z.object({ at: text, offsetMs: z.number(), errorMs: z.number() })),
  sources: z.array(z.object({ segment: z.number().int(), file: text, from: text, to: text, sha256, bytes })),
});

const who = z.object({ user: text, at: text });

export const manifestSchema: z.ZodType<Manifest> = z.object({
  format: z.literal(PACKAGE_FORMAT),
  exportId: z.number().int().positive(),
  hold: z.number().int().positive(),
  basis,
  purpose: text,
  recipient: z.object({ name: text, organisation: text, delivery: text }),
  site: z.object({ name: text, timezone: text }),
  requested: span,
  actual: span,
  cameras: z.array(camera),
  files: z.array(z.object({ path, sha256, bytes })),
  requestedBy: who,
  approvedBy: who,
  producedBy: z.object({ by: text, at: text }),
  software: z.object({ name: z.literal("pscs"), version: text }),
  keyFingerprint: sha256,
});
