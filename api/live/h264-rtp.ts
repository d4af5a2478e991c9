import type { AccessUnit } from "../../src/live/feed.js";

/**
 * H.264 into RTP payloads (RFC 6184, packetization-mode=1): a NAL unit that fits is sent alone, a
 * larger one in FU-A fragments. Invariants: no payload exceeds `maxPayload`; the marker is set on the
 * last packet of the access unit only; NAL units leave in the order the camera sent them (a key
 * frame's SPS and PPS ahead of its IDR slices).
 */

/** Payload bound leaving room for RTP, SRTP, UDP and IP headers inside a 1280-byte IPv6 minimum MTU. */
export const RTP_MAX_PAYLOAD = 1200;

const FU_A = 28;

export interface RtpPayload {
  payload: Buffer;
  /** Last packet of the access unit. */
  marker: boolean;
}

export function packetize(au: AccessUnit, maxPayload = RTP_MAX_PAYLOAD): RtpPayload[] {
  const out: Buffer[] = [];
  for (const nal of au.nals) {
    if (nal.length === 0) continue;
    if (nal.length <= maxPayload) {
      out.push(nal);
      continue;
    }
    const head = nal[0] ?? 0;
    const indicator = (head & 0xe0) | FU_A;
    const type = head & 0x1f;
    const chunk = maxPayload - 2;
    for (let at = 1; at < nal.length; at += chunk) {
      const end = Math.min(at + chunk, nal.length);
      const fu = (at === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
      out.push(Buffer.concat([Buffer.from([indicator, fu]), nal.subarray(at, end)]));
    }
  }
  return out.map((payload, i) => ({ payload, marker: i === out.length - 1 }));
}

/** `profile-level-id` as the SPS states it (its profile_idc, constraint flags and level_idc bytes). */
export function profileLevelId(au: AccessUnit): string | undefined {
  const sps = au.nals.find((n) => ((n[0] ?? 0) & 0x1f) === 7);
  return sps && sps.length >= 4 ? sps.subarray(1, 4).toString("hex") : undefined;
}
