import { z } from "zod";
import type { Principal } from "../../src/auth/service.js";
import { cameraIdSchema } from "../../src/cameras/camera-id.js";
import { ServiceError } from "../../src/errors/service-error.js";
import type { Live } from "../../src/live/desk.js";
import { problem } from "../http/problem.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { MAX_OFFER_CHARS } from "../live/sdp-offer.js";
import type { WebRtcLive } from "../live/webrtc.js";

/**
 * Live view signalling: a WebRTC offer answered in one request (the answer carries every ICE
 * candidate), and a viewer ending its own session; the MSE socket declared for the document (its
 * upgrade is served by api/live/mse.ts, never by express). Who may watch, and the audit trail, are the
 * LiveDesk's (src/live/desk.ts); delivery is api/live/.
 */

const cameraParams = z.strictObject({ camera: cameraIdSchema });
const sessionParams = z.strictObject({ session: z.uuid("expected a live session id") });
const offerBody = z.strictObject({ offer: z.string().min(1).max(MAX_OFFER_CHARS) });
const answer = z.object({ session: z.uuid(), answer: z.string() });
const EXAMPLE_OFFER =
  "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n" +
  "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n" +
  "a=mid:0\r\na=recvonly\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n";

/** The sign-in watching: video.live is never a machine token's (src/auth/roles.ts), so this is a person. */
function signInOf(p: Principal | undefined): string {
  if (p?.kind !== "user") throw new ServiceError("forbidden", "live view is watched by a signed-in person");
  return p.session.idHash;
}

export function liveRoutes(live: Live, webrtc: WebRtcLive): AnyRoute[] {
  return [
    defineRoute({
      method: "post",
      path: "/api/live/cameras/{camera}/webrtc",
      operationId: "liveWebRtc",
      summary: "Watch a camera live over WebRTC: a complete SDP offer (ICE gathered) in, the answer out",
      tag: "live",
      access: { permission: "video.live" },
      params: cameraParams,
      body: offerBody,
      example: { params: { camera: "cam1" }, body: { offer: EXAMPLE_OFFER } },
      responses: {
        200: { description: "the live session and the SDP answer", schema: answer },
        400: { description: "the offer is not usable (body.offer says why)" },
        404: { description: "no such camera" },
        429: { description: "too many live sessions open" },
        503: { description: "no answer could be made" },
      },
      handler: ({ params, body, action, principal }) =>
        webrtc.open(params.camera, body.offer, action, signInOf(principal)),
    }),
    defineRoute({
      method: "get",
      path: "/api/live/cameras/{camera}/mse",
      operationId: "liveMse",
      summary:
        "Watch a camera live as fragmented MP4 over a WebSocket (Upgrade: websocket, the session cookie, a same-origin Origin): " +
        'a text {"type":"init","session","codec","width","height"}, the init segment, then one binary moof+mdat per picture; ' +
        "closes 1000 feed ended, 1001 pscsd stopping, 4001 sign-in ended, 4003 video.live withdrawn, 4008 stalled, 1011 error",
      tag: "live",
      access: { permission: "video.live" },
      params: cameraParams,
      example: { params: { camera: "cam1" } },
      responses: {
        101: {
          description:
            "upgraded: the live stream (refusals, 401/403/404/429, come before it as problem+json)",
        },
        426: { description: "a plain request: this route is a WebSocket" },
      },
      // Only reached without Upgrade: websocket (an upgrade leaves HTTP before express).
      handler: () => {
        throw problem(426, "this route is a WebSocket: GET with Upgrade: websocket");
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/live/sessions/{session}",
      operationId: "liveEnd",
      summary: "End one of my live sessions",
      tag: "live",
      access: { permission: "video.live" },
      params: sessionParams,
      example: { params: { session: "00000000-0000-4000-8000-000000000000" } },
      responses: {
        204: { description: "ended" },
        403: { description: "someone else's session" },
        404: { description: "no such session open" },
      },
      handler: async ({ params, action, res }) => {
        await live.end(params.session, action);
        res.status(204).end();
      },
    }),
  ];
}
