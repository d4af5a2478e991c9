import { z } from "zod";
import type { ActionContext } from "../../src/auth/acting.js";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import { PTZ_PURPOSE_KINDS } from "../../src/ptz/purpose.js";
import type { PtzDesk } from "../../src/ptz/service.js";
import {
  type EventStreamOptions,
  lastEventId,
  openEventStream,
  wantsEventStream,
} from "../http/event-stream.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { timeQuery } from "./schemas.js";

/**
 * PTZ control (dispatchers, supervisors): take and release control with a stated purpose, keep it
 * alive, move, presets, home, status; control events, polled or streamed; supervisors take over;
 * supervisors and auditors review the sessions. Every rule is the PTZ service's (src/ptz/service.ts).
 */

const cameraParams = z.strictObject({ camera: cameraIdSchema });
const presetParams = z.strictObject({ camera: cameraIdSchema, token: z.string().min(1).max(64) });
const sessionParams = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,12}$/, "expected a PTZ session id")
    .transform(Number),
});
const purpose = z.strictObject({
  kind: z.enum(PTZ_PURPOSE_KINDS),
  reference: z.string().max(200).optional(),
  note: z.string().max(1000).optional(),
});
const axis = z.number().optional();
const vector = z.strictObject({ pan: axis, tilt: axis, zoom: axis });
const controlBody = z.strictObject({ purpose });
const CAM = { camera: "cam1" };
const PURPOSE = { purpose: { kind: "incident" as const, reference: "CAD-2026-0042" } };

export function ptzRoutes(ptz: PtzDesk, zone: string, stream: EventStreamOptions): AnyRoute[] {
  const base = "/api/cameras/{camera}/ptz";
  /** A command on one camera as its controller: 204 unless it has something to say. */
  function command<B extends z.ZodType = z.ZodUndefined>(def: {
    method: "post" | "put";
    path: string;
    operationId: string;
    summary: string;
    body?: B;
    example: { params: { camera: string }; body?: z.input<B> };
    responses: Record<number, { description: string }>;
    run: (camera: string, body: z.output<B>, action: ActionContext) => Promise<unknown>;
  }): AnyRoute {
    const { run, ...rest } = def;
    return defineRoute<typeof cameraParams, z.ZodObject<z.ZodRawShape>, B>({
      ...rest,
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: cameraParams,
      handler: async ({ params, body, action, res }) => {
        const out = await run(params.camera, body, action);
        if (out !== undefined) return out;
        res.status(204).end();
        return undefined;
      },
    });
  }
  return [
    defineRoute({
      method: "get",
      path: base,
      operationId: "ptzStatus",
      summary: "The camera's position and move status, and who controls it",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: cameraParams,
      example: { params: CAM },
      responses: { 200: { description: "status" }, 409: { description: "camera not connected" } },
      handler: ({ params, action }) => ptz.status(params.camera, action),
    }),
    defineRoute({
      method: "get",
      path: `${base}/control`,
      operationId: "ptzLock",
      summary: "Who controls the camera: person, since, purpose (null when free)",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: cameraParams,
      example: { params: CAM },
      responses: { 200: { description: "the lock, or {lock: null}" } },
      handler: ({ params, action }) => ({ lock: ptz.lock(params.camera, action) }),
    }),
    defineRoute({
      method: "post",
      path: `${base}/control`,
      operationId: "takePtzControl",
      summary:
        "Take control of the camera for a stated purpose (incident/CAD, event, emergency, investigation)",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: cameraParams,
      body: controlBody,
      example: { params: CAM, body: PURPOSE },
      responses: {
        200: { description: "control granted: the session, its lease, keep-alive and dead-man periods" },
        409: { description: "someone else controls the camera (body.holder says who, since when, why)" },
      },
      handler: ({ params, body, action }) => ptz.take(params.camera, body.purpose, action),
    }),
    defineRoute({
      method: "delete",
      path: `${base}/control`,
      operationId: "releasePtzControl",
      summary: "Release control of the camera (a continuous move is stopped)",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: cameraParams,
      example: { params: CAM },
      responses: { 204: { description: "released" }, 409: { description: "not the controller" } },
      handler: async ({ params, action, res }) => {
        await ptz.release(params.camera, action);
        res.status(204).end();
      },
    }),
    defineRoute({
      method: "post",
      path: `${base}/takeover`,
      operationId: "takeOverPtzControl",
      summary: "Supervisor: take control from whoever holds it (audited; the holder is told)",
      tag: "ptz",
      access: { permission: "ptz.supervise" },
      params: cameraParams,
      body: controlBody,
      example: {
        params: CAM,
        body: { purpose: { kind: "emergency" as const, note: "officer needs assistance" } },
      },
      responses: { 200: { description: "control granted" } },
      handler: ({ params, body, action }) => ptz.takeover(params.camera, body.purpose, action),
    }),
    command({
      method: "post",
      path: `${base}/keepalive`,
      operationId: "ptzKeepAlive",
      summary: "Keep control (and a continuous move) alive: every keepAliveMs while moving",
      example: { params: CAM },
      responses: { 200: { description: "lease renewed" }, 409: { description: "not the controller" } },
      run: async (camera, _b, action) => ptz.keepAlive(camera, action),
    }),
    command({
      method: "post",
      path: `${base}/continuous`,
      operationId: "ptzContinuousMove",
      summary: "Move at a velocity (each axis in [-1, 1]) until stopped or keep-alives lapse",
      body: z.strictObject({ velocity: vector }),
      example: { params: CAM, body: { velocity: { pan: 0.2 } } },
      responses: { 200: { description: "moving" }, 409: { description: "not the controller" } },
      run: (camera, body, action) => ptz.continuous(camera, body.velocity, action),
    }),
    command({
      method: "post",
      path: `${base}/absolute`,
      operationId: "ptzAbsoluteMove",
      summary: "Move to a position: pan, tilt in [-1, 1], zoom in [0, 1]",
      body: z.strictObject({ position: vector, speed: vector.optional() }),
      example: { params: CAM, body: { position: { pan: 0.5, tilt: 0, zoom: 0.2 } } },
      responses: { 204: { description: "sent" }, 409: { description: "not the controller" } },
      run: (camera, body, action) => ptz.absolute(camera, body.position, body.speed, action),
    }),
    command({
      method: "post",
      path: `${base}/relative`,
      operationId: "ptzRelativeMove",
      summary: "Move by a translation (each axis in [-1, 1])",
      body: z.strictObject({ translation: vector, speed: vector.optional() }),
      example: { params: CAM, body: { translation: { pan: -0.1 } } },
      responses: { 204: { description: "sent" }, 409: { description: "not the controller" } },
      run: (camera, body, action) => ptz.relative(camera, body.translation, body.speed, action),
    }),
    command({
      method: "post",
      path: `${base}/stop`,
      operationId: "ptzStop",
      summary: "Stop pan, tilt and zoom",
      example: { params: CAM },
      responses: { 204: { description: "stopped" }, 409: { description: "not the controller" } },
      run: (camera, _b, action) => ptz.stopMove(camera, action),
    }),
    defineRoute({
      method: "get",
      path: `${base}/presets`,
      operationId: "ptzPresets",
      summary: "The camera's presets",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: cameraParams,
      example: { params: CAM },
      responses: { 200: { description: "presets" }, 409: { description: "camera not connected" } },
      handler: async ({ params, action }) => ({ presets: await ptz.presets(params.camera, action) }),
    }),
    command({
      method: "post",
      path: `${base}/presets`,
      operationId: "savePtzPreset",
      summary: "Save the current position as a preset (a new one, or `token` overwritten)",
      body: z.strictObject({ name: z.string().max(200), token: z.string().max(64).optional() }),
      example: { params: CAM, body: { name: "Main gate" } },
      responses: { 200: { description: "the preset's token" }, 409: { description: "not the controller" } },
      run: async (camera, body, action) => ({
        token: await ptz.savePreset(camera, body.name, body.token, action),
      }),
    }),
    defineRoute({
      method: "post",
      path: `${base}/presets/{token}/goto`,
      operationId: "gotoPtzPreset",
      summary: "Go to a preset",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: presetParams,
      example: { params: { camera: "cam1", token: "1" } },
      responses: { 204: { description: "sent" }, 409: { description: "not the controller" } },
      handler: async ({ params, action, res }) => {
        await ptz.gotoPreset(params.camera, params.token, action);
        res.status(204).end();
      },
    }),
    defineRoute({
      method: "delete",
      path: `${base}/presets/{token}`,
      operationId: "deletePtzPreset",
      summary: "Delete a preset",
      tag: "ptz",
      access: { permission: "ptz.control" },
      params: presetParams,
      example: { params: { camera: "cam1", token: "1" } },
      responses: { 204: { description: "deleted" }, 409: { description: "not the controller" } },
      handler: async ({ params, action, res }) => {
        await ptz.deletePreset(params.camera, params.token, action);
        res.status(204).end();
      },
    }),
    command({
      method: "post",
      path: `${base}/home/goto`,
      operationId: "gotoPtzHome",
      summary: "Go to the home position",
      example: { params: CAM },
      responses: { 204: { description: "sent" }, 409: { description: "not the controller" } },
      run: (camera, _b, action) => ptz.gotoHome(camera, action),
    }),
    command({
      method: "put",
      path: `${base}/home`,
      operationId: "setPtzHome",
      summary: "Make the current position the home position",
      example: { params: CAM },
      responses: { 204: { description: "set" }, 409: { description: "not the controller" } },
      run: (camera, _b, action) => ptz.setHome(camera, action),
    }),
    defineRoute({
      method: "get",
      path: "/api/ptz/events",
      operationId: "ptzEvents",
      summary:
        "PTZ control events after `after` (control taken, released, expired, taken over, dead-man stop)",
      tag: "ptz",
      access: { permission: "ptz.control" },
      query: z.strictObject({
        after: z
          .string()
          .regex(/^\d{1,15}$/, "expected an event id")
          .transform(Number)
          .optional(),
      }),
      example: { query: { after: "0" } },
      responses: {
        200: {
          description:
            "events, oldest first; with `Accept: text/event-stream`, a stream of them (Server-Sent Events, each " +
            "with its id; from `after` or Last-Event-ID, else from now) that ends with the signed-in session",
        },
      },
      handler: async ({ query, req, res }) => {
        if (!wantsEventStream(req)) return { events: ptz.events.after(query.after ?? 0) };
        const out = openEventStream(req, res, stream);
        // From the last id the client saw (a reconnect), else `after`, else from now on. The backlog and
        // the subscription in one turn of the event loop: nothing falls between them.
        const since = lastEventId(req) ?? query.after;
        if (since !== undefined) for (const e of ptz.events.after(since)) out.send(e.id, e);
        const stop = ptz.events.subscribe((e) => out.send(e.id, e));
        await out.ended.finally(stop);
        return undefined;
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/ptz/sessions",
      operationId: "listPtzSessions",
      summary: "PTZ sessions, newest first: who, camera, purpose, start, end and how",
      tag: "ptz",
      access: { permission: "ptz-sessions.read" },
      query: z.strictObject({
        camera: cameraIdSchema.optional(),
        user: z.string().min(1).max(64).optional(),
        from: timeQuery(zone).optional(),
        to: timeQuery(zone).optional(),
        limit: z
          .string()
          .regex(/^\d{1,4}$/)
          .transform(Number)
          .optional(),
      }),
      example: { query: { camera: "cam1" } },
      responses: { 200: { description: "sessions" } },
      handler: async ({ query, action }) => {
        const { user, ...rest } = query;
        return { sessions: await ptz.sessions({ ...rest, ...(user ? { actor: user } : {}) }, action) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/ptz/sessions/{id}",
      operationId: "getPtzSession",
      summary: "One PTZ session with every command (kind, parameters, time, outcome)",
      tag: "ptz",
      access: { permission: "ptz-sessions.read" },
      params: sessionParams,
      example: { params: { id: "1" } },
      responses: { 200: { description: "the session" }, 404: { description: "no such session" } },
      handler: ({ params, action }) => ptz.session(params.id, action),
    }),
  ];
}
