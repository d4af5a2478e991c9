import { z } from "zod";
import { writeAuditCsv } from "../../src/audit/csv.js";
import type { AuditFilter, AuditLog } from "../../src/audit/log.js";
import { drawSample } from "../../src/audit/sample.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { intQuery, timeQuery } from "./schemas.js";

/** The audit log for auditors: browse, export, verify, and draw the random inspection sample. */

const filtersIn = (zone: string) => ({
  from: timeQuery(zone).optional(),
  to: timeQuery(zone).optional(),
  actor: z.string().min(1).max(100).optional(),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.-]{0,63}$/, "expected an action such as 'auth.login' or a prefix such as 'auth.'")
    .optional(),
  target: z.string().min(1).max(200).optional(),
  outcome: z.enum(["success", "failure", "denied"]).optional(),
});

export function auditRoutes(audit: AuditLog, zone: string): AnyRoute[] {
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
        limit: intQuery(1, 1000).optional(),
      }),
      example: { query: { action: "auth.", order: "desc", limit: "50" } },
      responses: { 200: { description: "entries" } },
      handler: ({ query }) => {
        const entries = audit.list(query as AuditFilter);
        return { entries, next: entries.length === (query.limit ?? 100) ? entries.at(-1)?.seq : null };
      },
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
        audit.append({ ...action, action: "audit.export", outcome: "success", details: { filter: query } });
        res.type("text/csv; charset=utf-8").attachment("pscs-audit.csv");
        await writeAuditCsv(audit, query as AuditFilter, res);
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
      handler: () => audit.verify(),
    }),
    defineRoute({
      method: "post",
      path: "/api/audit/sample",
      operationId: "sampleAudit",
      summary: "Draw the random inspection sample (holds, exports, PTZ sessions); the draw is audited",
      tag: "audit",
      access: { permission: "audit.sample" },
      body: z.strictObject({
        count: z.int().min(1).max(100).default(4),
        seed: z.string().min(1).max(100).optional(),
        from: z.int().min(0).optional(),
        to: z.int().min(0).optional(),
      }),
      example: { body: { count: 4, seed: "2026-Q3" } },
      responses: { 200: { description: "the sample, with its seed so it can be repeated" } },
      handler: ({ body, action }) => {
        const sample = drawSample(audit, body);
        audit.append({
          ...action,
          action: "audit.sample",
          outcome: "success",
          details: { seed: sample.seed, count: body.count, items: sample.items.map((i) => i.target) },
        });
        return sample;
      },
    }),
  ];
}
