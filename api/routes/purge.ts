import { z } from "zod";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import type { PurgeDesk } from "../../src/purge/service.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { intQuery, timeQuery } from "./schemas.js";

/** The purger: what the next run would destroy, a run now, and the destruction log. */

export function purgeRoutes(purge: PurgeDesk, zone: string): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/purge/plan",
      operationId: "purgePlan",
      summary: "Dry run: what the next purge would destroy for age (count, bytes, the oldest 50)",
      tag: "retention",
      access: { permission: "purge.read" },
      responses: { 200: { description: "plan" } },
      handler: async () => ({ ...(await purge.plan()), status: await purge.health() }),
    }),
    defineRoute({
      method: "post",
      path: "/api/purge/run",
      operationId: "purgeNow",
      summary: "Run the purge now (audited like a scheduled run, with who asked)",
      tag: "retention",
      access: { permission: "purge.run" },
      responses: { 200: { description: "result of the run" } },
      handler: ({ action }) => purge.run("manual", action),
    }),
    defineRoute({
      method: "get",
      path: "/api/purge/destroyed",
      operationId: "destructionLog",
      summary: "The destruction log: every destroyed segment with its hash, range, reason and time",
      tag: "retention",
      access: { permission: "purge.read" },
      query: z.strictObject({
        camera: cameraIdSchema.optional(),
        from: timeQuery(zone).optional(),
        to: timeQuery(zone).optional(),
        limit: intQuery(1, 10_000).optional(),
      }),
      example: { query: { camera: "cam1", limit: "100" } },
      responses: { 200: { description: "entries, newest first" } },
      handler: ({ query }) => ({ entries: purge.destroyed(query) }),
    }),
  ];
}
