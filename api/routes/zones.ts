import { z } from "zod";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import type { PrivacyZoneDesk } from "../../src/ptz/privacy-zones.js";
import type { PtzDesk } from "../../src/ptz/service.js";
import { type AnyRoute, defineRoute } from "../http/route.js";

/**
 * Privacy zones (policy, Use Procedures 4): their geometry and which are in view, for the live view's
 * masks; admins add, change and remove the API's zones, each with a reason. Every rule is the
 * services' (src/ptz/privacy-zones.ts, src/ptz/service.ts).
 */

const cameraParams = z.strictObject({ camera: cameraIdSchema });
const zoneParams = z.strictObject({ camera: cameraIdSchema, id: z.string().min(1).max(64) });
const reason = z.string().max(1000);
const pair = z.tuple([z.number(), z.number()]);
const putBody = z.strictObject({ pan: pair, tilt: pair, maxZoom: z.number(), reason });
const removeBody = z.strictObject({ reason });
const EXAMPLE_ZONE = { camera: "cam1", id: "apartments" };

export function zoneRoutes(ptz: Pick<PtzDesk, "privacyZones">, zones: PrivacyZoneDesk): AnyRoute[] {
  const base = "/api/cameras/{camera}/privacy-zones";
  return [
    defineRoute({
      method: "get",
      path: base,
      operationId: "listPrivacyZones",
      summary:
        "The camera's privacy zones (config and API), its field of view, and which zones are in view from where it points",
      tag: "ptz",
      access: { permission: "zones.read" },
      params: cameraParams,
      example: { params: { camera: "cam1" } },
      responses: { 200: { description: "zones, position (null when not connected), view half-size" } },
      handler: ({ params, action }) => ptz.privacyZones(params.camera, action),
    }),
    defineRoute({
      method: "put",
      path: `${base}/{id}`,
      operationId: "putPrivacyZone",
      summary:
        "Add or change a privacy zone (a config file zone cannot be changed here); audited with the reason",
      tag: "ptz",
      access: { permission: "zones.manage" },
      params: zoneParams,
      body: putBody,
      example: {
        params: EXAMPLE_ZONE,
        body: { pan: [0.3, 0.6], tilt: [0, 0.4], maxZoom: 0.2, reason: "complaint 2026-113" },
      },
      responses: {
        200: { description: "the zone as stored" },
        400: { description: "not a zone, or no reason" },
        409: { description: "a config file zone has this id" },
      },
      handler: ({ params, body, action }) => {
        const { reason: why, ...geometry } = body;
        return zones.put(params.camera, { id: params.id, ...geometry }, why, action);
      },
    }),
    defineRoute({
      method: "delete",
      path: `${base}/{id}`,
      operationId: "removePrivacyZone",
      summary: "Remove a privacy zone set through the API; audited with the reason",
      tag: "ptz",
      access: { permission: "zones.manage" },
      params: zoneParams,
      body: removeBody,
      example: { params: EXAMPLE_ZONE, body: { reason: "building demolished" } },
      responses: {
        204: { description: "removed" },
        404: { description: "no such zone" },
        409: { description: "a config file zone" },
      },
      handler: async ({ params, body, action, res }) => {
        await zones.remove(params.camera, params.id, body.reason, action);
        res.status(204).end();
      },
    }),
  ];
}
