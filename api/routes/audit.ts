import { z } from "zod";
import {
  AUDIT_FILTER_TEXT,
  AUDIT_PAGE,
  type AuditInspection,
  SAMPLE_REQUEST,
} from "../../src/audit/inspection.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { intQuery, timeQuery } from "./schemas.js";

/**
 * The audit log for auditors: browse, export, verify, and draw the random inspection sample. The
 * rules and the audit entries are the service's (`src/audit/inspection.ts`); these routes read the
 * request's text and answer.
 */

const filtersIn = (zone: string) => ({
  from: timeQuery(zone).optional(),
  to: timeQuery(zone).optional(),
  actor: AUDIT_FILTER_TEXT.actor.optional(),
  action: AUDIT_FILTER_TEXT.action.optional(),
  target: AUDIT_FILTER_TEXT.target.optional(),
  camera: AUDIT_FILTER_TEXT.camera.optional(),
  outcome: AUDIT_FILTER_TEXT.outcome.optional(),
});

export function auditRoutes(audit: AuditInspection, zone: string): AnyRoute[] {
  const filters = filtersIn(zone);
  return [
    defineRoute({
      method: "get",
      path: "/api/audit",
      operationId: "listAudit",
      summary: "Audit entries, filtered; page with `after` (the last seq seen)",
      tag: "audit",
      access: { permission: "audit.read" },
      query: z.strictObject({
        ...filters,
        after: intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
        order: z.enum(["asc", "desc"]).optional(),
        limit: intQuery(1, AUDIT_PAGE.max).optional(),
      }),
      example: { query: { action: "auth.", order: "desc", limit: "50" } },
      responses: { 200: { description: "entries" } },
      handler: ({ query, action }) => audit.list(query, action),
    }),
    defineRoute({
      method: "get",
      path: "/api/audit/export",
      operationId: "exportAudit",
      summary: "Audit entries as CSV (every matching entry, oldest first); the export itself is audited",
      tag: "audit",
      access: { permission: "audit.read" },
      query: z.strictObject(filters),
      example: { query: { from: "2026-01-01T00:00:00Z" } },
      responses: { 200: { description: "CSV", contentType: "text/csv" } },
      handler: async ({ query, action, res }) => {
        const csv = await audit.export(query, action);
        res.type("text/csv; charset=utf-8").attachment("pscs-audit.csv");
        await csv.writeTo(res);
        if (!res.destroyed) res.end();
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/audit/verify",
      operationId: "verifyAudit",
      summary: "Walk the hash chain now and list every broken entry and gap",
      tag: "audit",
      access: { permission: "audit.read" },
      responses: { 200: { description: "result: ok, or every broken entry and gap (breaks)" } },
      handler: ({ action }) => audit.verify(action),
    }),
    defineRoute({
      method: "post",
      path: "/api/audit/sample",
      operationId: "sampleAudit",
      summary: "Draw the random inspection sample (holds, exports, PTZ sessions); the draw is audited",
      tag: "audit",
      access: { permission: "audit.sample" },
      body: SAMPLE_REQUEST,
      example: { body: { count: 4, seed: "2026-Q3" } },
      responses: { 200: { description: "the sample, with its seed so it can be repeated" } },
      handler: ({ body, action }) => audit.sample(body, action),
    }),
  ];
}
