import { z } from "zod";
import type { AuditTrail } from "../../src/audit/log.js";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import { HOLD_STATUSES, LEGAL_BASES } from "../../src/holds/hold.js";
import type { HoldDesk } from "../../src/holds/service.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { rangesSchema, timeQuery, toRanges } from "./schemas.js";

/**
 * Written hold requests (records), the commander's decisions and releases, the hold log (CSV and a
 * printable page), each hold's form scan, evidence verification and audit trail.
 */

const holdId = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,12}$/, "expected a hold id")
    .transform(Number),
});
const text = (max: number, what: string) => z.string().trim().min(1, `expected ${what}`).max(max);
const camera = cameraIdSchema;

/** Typed times are read in the site's zone, so the schemas are made for it. */
function schemasIn(zone: string) {
  const ranges = rangesSchema(zone);
  const requestBody = z.strictObject({
    formNumber: text(64, "the form number printed on the request form"),
    receivedOn: z.iso.date("expected the date the signed form was received, YYYY-MM-DD"),
    requestedBy: text(200, "the requesting member or party"),
    agency: text(200, "the requesting agency"),
    caseNumber: text(64, "a case or incident number"),
    legalBasis: z.enum(LEGAL_BASES),
    reason: text(2000, "the reason for the request"),
    ranges,
    form: z.strictObject({
      /** The client's idea of the type; the server decides by the bytes. */
      contentType: z.string().max(100).optional(),
      data: z
        .base64("expected the scanned signed form, base64-encoded")
        .min(1, "expected the scanned signed form"),
    }),
  });
  const logQuery = z.strictObject({
    from: timeQuery(zone).optional(),
    to: timeQuery(zone).optional(),
    case: z.string().min(1).max(64).optional(),
    camera: camera.optional(),
    status: z.enum(HOLD_STATUSES).optional(),
    format: z.enum(["json", "csv", "html"]).optional(),
  });
  return { ranges, requestBody, logQuery };
}

const EXAMPLE_RANGE = { camera: "cam1", from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:10:00Z" };

export function holdRoutes(holds: HoldDesk, audit: Pick<AuditTrail, "list">, zone: string): AnyRoute[] {
  const { ranges, requestBody, logQuery } = schemasIn(zone);
  return [
    defineRoute({
      method: "post",
      path: "/api/holds/coverage",
      operationId: "holdCoverage",
      summary: "What is and is not still there for camera ranges (before filing a request)",
      tag: "holds",
      access: { permission: "holds.request" },
      body: z.strictObject({ ranges }),
      example: { body: { ranges: [EXAMPLE_RANGE] } },
      responses: { 200: { description: "coverage per range" } },
      handler: ({ body }) => ({ coverage: holds.coverage(toRanges(body.ranges)) }),
    }),
    defineRoute({
      method: "post",
      path: "/api/holds",
      operationId: "requestHold",
      summary: "Enter a written hold request with its scanned signed form; its footage is protected at once",
      tag: "holds",
      access: { permission: "holds.request" },
      body: requestBody,
      bodyLimit: "21mb",
      example: {
        body: {
          formNumber: "PSCS-H-0001",
          receivedOn: "2026-01-02",
          requestedBy: "Det. A. Example",
          agency: "Norwich Police Department",
          caseNumber: "26-000123",
          legalBasis: "criminal",
          reason: "Robbery investigation",
          ranges: [EXAMPLE_RANGE],
          form: { contentType: "application/pdf", data: Buffer.from("%PDF-1.4\n").toString("base64") },
        },
      },
      responses: {
        201: { description: "the request, with the coverage of each range" },
        409: { description: "this person already has retention.holds.maxPendingPerPerson requests pending" },
      },
      handler: async ({ body, action, res }) => {
        const { form, ranges: rs, ...fields } = body;
        const hold = await holds.request(
          { ...fields, ranges: toRanges(rs), form: Buffer.from(form.data, "base64") },
          action,
        );
        res.status(201).location(`/api/holds/${hold.id}`).json(hold);
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/holds",
      operationId: "holdLog",
      summary: "The hold log: every request and hold, newest first; as JSON, CSV or a printable page",
      tag: "holds",
      access: { permission: "holds.log" },
      query: logQuery,
      example: { query: { status: "active" } },
      responses: {
        200: { description: "hold log (JSON, text/csv or text/html by `format`)" },
      },
      handler: async ({ query, action, res }) => {
        const { format = "json", case: caseNumber, ...rest } = query;
        const filter = { ...rest, ...(caseNumber ? { caseNumber } : {}) };
        if (format === "json") return { holds: await holds.list(filter) };
        const { body } = await holds.exportLog(filter, format, action);
        if (format === "csv") {
          res.type("text/csv; charset=utf-8").attachment("pscs-hold-log.csv").send(body);
        } else {
          res.type("html").send(body);
        }
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/holds/{id}",
      operationId: "getHold",
      summary: "One request or hold, with its audit trail",
      tag: "holds",
      access: { permission: "holds.log" },
      params: holdId,
      example: { params: { id: "1" } },
      responses: { 200: { description: "hold" } },
      handler: async ({ params }) => ({
        ...(await holds.get(params.id)),
        trail: await audit.list({ target: `hold:${params.id}`, order: "asc", limit: 1000 }),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/api/holds/{id}/form",
      operationId: "holdForm",
      summary: "The scanned signed request form as stored (its SHA-256 in X-Content-SHA256); audited",
      tag: "holds",
      access: { permission: "holds.log" },
      params: holdId,
      example: { params: { id: "1" } },
      responses: { 200: { description: "PDF or image", contentType: "application/octet-stream" } },
      handler: async ({ params, action, res }) => {
        const form = await holds.viewForm(params.id, action);
        res.setHeader("X-Content-SHA256", form.sha256);
        await new Promise<void>((resolve, reject) =>
          res.sendFile(form.path, { root: form.root, headers: { "Content-Type": form.type } }, (err) =>
            err && !res.headersSent ? reject(err) : resolve(),
          ),
        );
      },
    }),
    ...(["approve", "refuse", "release"] as const).map((verb) =>
      defineRoute({
        method: "post",
        path: `/api/holds/{id}/${verb}`,
        operationId: `${verb}Hold`,
        summary: {
          approve: "Approve a request: the hold is created and its footage copied into the evidence tree",
          refuse: "Refuse a request, with the reason; its footage follows normal retention",
          release: "Release a hold, with the written reason; its footage then follows normal retention",
        }[verb],
        tag: "holds",
        access: { permission: "holds.approve" },
        params: holdId,
        body: z.strictObject(
          verb === "approve"
            ? { note: z.string().trim().max(2000).default("") }
            : {
                reason: text(2000, `the written reason for the ${verb === "refuse" ? "refusal" : "release"}`),
              },
        ),
        // The permission test's catalog has holds 1 and 2 requested, 3 active (test/helpers/pscsd.ts).
        example: {
          params: { id: { approve: "1", refuse: "2", release: "3" }[verb] },
          body: verb === "approve" ? { note: "ok" } : { reason: "case closed" },
        },
        responses: { 200: { description: "hold" }, 409: { description: "not in a state that allows this" } },
        handler: ({ params, body, action }) => {
          const b = body as { note?: string; reason?: string };
          if (verb === "approve") return holds.approve(params.id, b.note ?? "", action);
          if (verb === "refuse") return holds.refuse(params.id, b.reason ?? "", action);
          return holds.release(params.id, b.reason ?? "", action);
        },
      }),
    ),
    defineRoute({
      method: "get",
      path: "/api/holds/{id}/verify",
      operationId: "verifyHold",
      summary: "Hash every file of the hold's evidence tree against what was recorded; audited",
      tag: "holds",
      access: { permission: "holds.log" },
      params: holdId,
      example: { params: { id: "1" } },
      responses: { 200: { description: "verification report (problems empty when all is well)" } },
      handler: async ({ params, action }) => {
        const report = await holds.verify(params.id, action);
        return { ...report, ok: report.problems.length === 0 };
      },
    }),
  ];
}
