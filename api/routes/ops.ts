import { z } from "zod";
import type { Health } from "../../src/health/health.js";
import type { Metrics } from "../../src/metrics/metrics.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { intQuery } from "./schemas.js";

/** Liveness, readiness, the detailed health document and Prometheus metrics. */
export function opsRoutes(s: {
  health: Health;
  metrics: Metrics;
  version: string;
  startedAt: number;
}): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/healthz",
      operationId: "liveness",
      summary: "Process alive (answers while the event loop turns; checks no dependency)",
      tag: "ops",
      access: { public: true },
      responses: {
        200: {
          description: "alive",
          schema: z.object({ status: z.literal("ok"), version: z.string(), uptimeSeconds: z.int() }),
        },
      },
      handler: () => ({
        status: "ok",
        version: s.version,
        uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/readyz",
      operationId: "readiness",
      summary: "Ready to do its job: catalog and storage writable, required cameras connected",
      tag: "ops",
      access: { public: true },
      responses: { 200: { description: "ready" }, 503: { description: "not ready; checks say why" } },
      handler: async ({ res }) => {
        const r = await s.health.readiness();
        res.status(r.ready ? 200 : 503).json(r);
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/health",
      operationId: "healthDetail",
      summary: "Detailed health: cameras, storage, purge, audit chain, version, uptime",
      tag: "ops",
      access: { permission: "health.read" },
      responses: { 200: { description: "health document" } },
      handler: () => s.health.report(),
    }),
    defineRoute({
      method: "get",
      path: "/api/health/history",
      operationId: "healthHistory",
      summary: "One sample a minute of free space, camera connection, bytes recorded and live viewers",
      tag: "ops",
      access: { permission: "health.read" },
      query: z.strictObject({ hours: intQuery(1, 24).optional() }),
      example: { query: { hours: "24" } },
      responses: { 200: { description: "samples, oldest first (kept 24 h, in memory)" } },
      handler: ({ query }) => ({ samples: s.health.history(Date.now() - (query.hours ?? 24) * 3_600_000) }),
    }),
    defineRoute({
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics (text exposition format)",
      tag: "ops",
      access: { permission: "metrics.read" },
      responses: { 200: { description: "metrics", contentType: "text/plain" } },
      handler: async ({ res }) => {
        const text = await s.metrics.registry.metrics();
        res.type(s.metrics.registry.contentType).send(text);
      },
    }),
  ];
}
