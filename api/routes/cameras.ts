import type { CameraHealth } from "../../src/health/health.js";
import { type AnyRoute, defineRoute } from "../http/route.js";

/** The configured cameras and their connection state (no video). */
export function cameraRoutes(cameras: () => CameraHealth[]): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/cameras",
      operationId: "listCameras",
      summary: "Cameras with their connection state and last error",
      tag: "cameras",
      access: { permission: "cameras.read" },
      responses: { 200: { description: "cameras" } },
      // CameraHealth carries no stream URI (some makes put credentials in it): see health.ts.
      handler: () => ({ cameras: cameras() }),
    }),
  ];
}
