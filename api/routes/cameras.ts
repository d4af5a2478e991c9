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
      // Stream URIs carry camera credentials for some makes: never sent to a browser.
      handler: () => ({ cameras: cameras().map(({ streamUri: _, ...c }) => c) }),
    }),
  ];
}
