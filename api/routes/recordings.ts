import { z } from "zod";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import type { Recordings } from "../../src/footage/recordings.js";
import { utcText } from "../../src/time/parse.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { purposeQuery, timeQuery } from "./schemas.js";

/**
 * Timeline, playback and single segments: every playback and download is audited with camera,
 * range and the purpose the viewer stated; playbacks are bounded per person, and playbacks and
 * segment downloads are stopped when their client stops reading.
 */

const camera = cameraIdSchema;

export function recordingRoutes(recordings: Recordings, zone: string): AnyRoute[] {
  const range = z.strictObject({ from: timeQuery(zone), to: timeQuery(zone) });
  const viewing = range.extend({ purpose: purposeQuery });
  return [
    defineRoute({
      method: "get",
      path: "/api/cameras/{camera}/timeline",
      operationId: "timeline",
      summary: "Recorded spans, segments and gaps (with causes) of one camera over a time range",
      tag: "recordings",
      access: { permission: "video.playback" },
      params: z.strictObject({ camera }),
      query: range,
      example: {
        params: { camera: "cam1" },
        query: { from: "2026-01-01T00:00:00Z", to: "2026-01-01T01:00:00Z" },
      },
      responses: { 200: { description: "timeline" } },
      // The range as read (typed times may be the site's wall-clock times), echoed back in UTC.
      handler: ({ params, query }) => ({
        ...recordings.timeline(params.camera, query.from, query.to),
        range: { from: utcText(query.from), to: utcText(query.to), timeZone: zone },
      }),
    }),
    defineRoute({
      method: "get",
      path: "/api/cameras/{camera}/playback",
      operationId: "playback",
      summary:
        "A time range as one fragmented MP4, starting at the keyframe before `from` (audited with its purpose)",
      tag: "recordings",
      access: { permission: "video.playback" },
      params: z.strictObject({ camera }),
      query: viewing,
      example: {
        params: { camera: "cam1" },
        query: { from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:01Z", purpose: "case 26-001234" },
      },
      responses: {
        200: { description: "video/mp4 (fragmented), streamed", contentType: "video/mp4" },
        429: { description: "this person already has playback.maxPerUser playbacks streaming (Retry-After)" },
      },
      handler: async ({ params, query, action, res }) => {
        await recordings.playback(params.camera, query.from, query.to, query.purpose, action, res, () =>
          res.type("video/mp4"),
        );
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/segments/{id}/file",
      operationId: "segmentFile",
      summary: "One stored segment as recorded (MPEG-TS), with HTTP range support (audited with its purpose)",
      tag: "recordings",
      access: { permission: "video.playback" },
      params: z.strictObject({
        id: z
          .string()
          .regex(/^\d{1,15}$/, "expected a segment id")
          .transform(Number),
      }),
      query: z.strictObject({ purpose: purposeQuery }),
      example: { params: { id: "1" }, query: { purpose: "case 26-001234" } },
      responses: { 200: { description: "video/mp2t", contentType: "video/mp2t" } },
      handler: async ({ params, query, action, req, res }) => {
        await recordings.segment(
          params.id,
          query.purpose,
          action,
          req.get("range") ?? null,
          res,
          (file, row) => {
            res.setHeader("X-Content-SHA256", row.sha256 ?? "");
            return new Promise<void>((resolve, reject) =>
              res.sendFile(file, { headers: { "Content-Type": "video/mp2t" }, dotfiles: "deny" }, (err) =>
                err && !res.headersSent ? reject(err) : resolve(),
              ),
            );
          },
        );
      },
    }),
  ];
}
