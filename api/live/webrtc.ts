import type { PeerConfig } from "werift";
import type { ActionContext } from "../../src/auth/acting.js";
import { ServiceError } from "../../src/errors/service-error.js";
import type { Live } from "../../src/live/desk.js";
import type { Logger } from "../../src/log/logger.js";
import { problem } from "../http/problem.js";
import { profileLevelId } from "./h264-rtp.js";
import { checkOffer } from "./sdp-offer.js";
import { type ViewerTiming, WebRtcViewer } from "./webrtc-viewer.js";

/**
 * Live view over WebRTC (werift, H.264 passed through as the camera coded it): a viewer's offer in,
 * an answer with every ICE candidate out, one peer connection per viewer. The rules (who, how many,
 * the audit trail) are the LiveDesk's; this is delivery.
 * Invariant: pscsd offers ICE host candidates only on the configured address (no STUN, no TURN, no
 * other interface), from the configured UDP port range; one viewer's gathering at a time, so two
 * never pick the same port.
 */

export interface WebRtcSettings {
  /** The one address offered (0.0.0.0 or :: gathers on every interface). */
  host: string;
  portMin?: number | undefined;
  portMax?: number | undefined;
}

export const DEFAULT_TIMING: ViewerTiming = { connectMs: 15_000, disconnectGraceMs: 5_000, gatherMs: 5_000 };

/**
 * How long an answer waits for the stream's profile (the SPS of its first key frame) when the
 * camera's is not known yet: a live session already open answers at once from its cached key
 * frame; a cold one is answered for constrained baseline rather than made to wait up to a group of
 * pictures (the connection comes up meanwhile). Once seen, a camera's profile is remembered.
 */
const PROFILE_WAIT_MS = 250;

/** werift's ICE options for one host address. */
export function iceConfig(s: WebRtcSettings): Partial<PeerConfig> {
  const v6 = s.host.includes(":");
  const every = s.host === "0.0.0.0" || s.host === "::";
  const ports: [number, number] | undefined =
    s.portMin !== undefined && s.portMax !== undefined ? [s.portMin, s.portMax] : undefined;
  return {
    iceServers: [],
    icePortRange: ports,
    ...(every
      ? { iceUseIpv4: true, iceUseIpv6: v6 }
      : {
          // werift gathers every non-internal interface unless both families are off; then only the
          // additional address, its socket bound there.
          iceUseIpv4: false,
          iceUseIpv6: false,
          iceAdditionalHostAddresses: [s.host],
          iceInterfaceAddresses: v6 ? { udp6: s.host } : { udp4: s.host },
        }),
  };
}

export class WebRtcLive {
  private readonly ice: Partial<PeerConfig>;
  private gathering: Promise<unknown> = Promise.resolve();
  /** camera → profile-level-id of its stream's SPS, once seen. */
  private readonly profiles = new Map<string, string>();

  constructor(
    private readonly live: Live,
    settings: WebRtcSettings,
    private readonly log: Logger,
    private readonly timing: ViewerTiming = DEFAULT_TIMING,
  ) {
    this.ice = iceConfig(settings);
  }

  /** Opens a live session for `by` and answers its offer (refusals audited by the desk). */
  async open(
    camera: string,
    offer: string,
    by: ActionContext,
    signIn: string,
  ): Promise<{ session: string; answer: string }> {
    const usable = checkOffer(offer);
    if (!usable.ok)
      await this.live.refuse(camera, "webrtc", by, new ServiceError("invalid", usable.reason, "offer"));
    const watch = await this.live.open(camera, "webrtc", by, signIn);
    const viewer = new WebRtcViewer(watch, this.ice, this.timing);
    try {
      const first = watch.frames.next();
      // A subscription's first picture is a key frame: its SPS names the stream's profile.
      const seen = first.then((au) => {
        const p = au && profileLevelId(au);
        if (p) this.profiles.set(camera, p);
        return p;
      });
      const profile = this.profiles.get(camera) ?? (await Promise.race([seen, sleep(PROFILE_WAIT_MS)]));
      const narrowed = checkOffer(offer, profile);
      if (!narrowed.ok) throw new Error(narrowed.reason); // checked above: the same offer
      const answer = await this.oneAtATime(() => viewer.answer(narrowed.offer));
      viewer
        .run(first)
        .catch((err: unknown) => this.log.error({ err, session: watch.id }, "webrtc viewer failed"));
      return { session: watch.id, answer };
    } catch (err) {
      this.log.warn({ err, session: watch.id, camera }, "webrtc answer failed");
      await viewer.end(`no answer: ${(err as Error).message}`);
      throw problem(503, `no WebRTC answer for camera '${camera}': ${(err as Error).message}`);
    }
  }

  private oneAtATime<T>(job: () => Promise<T>): Promise<T> {
    const run = this.gathering.then(job, job);
    this.gathering = run.catch(() => undefined);
    return run;
  }
}

const sleep = (ms: number) =>
  new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref());
