import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { packetize, profileLevelId, RTP_MAX_PAYLOAD } from "../../api/live/h264-rtp.js";
import { checkOffer } from "../../api/live/sdp-offer.js";
import { H264Depacketizer } from "../../recorder/live/rtp-h264.js";
import type { AccessUnit } from "../../src/live/feed.js";

// pscsd's RTP packetizer against its own depacketizer (the one that reads cameras), and the offer
// check on the SDP Chrome sends.

const nal = (type: number, size: number) =>
  Buffer.concat([Buffer.from([0x60 | type]), randomBytes(size - 1)]);
const unit = (nals: Buffer[], keyframe: boolean, rtpTime: number): AccessUnit => ({
  rtpTime,
  receivedAt: Date.now(),
  keyframe,
  nals,
  bytes: nals.reduce((n, b) => n + b.length, 0),
});

function rtp(seq: number, time: number, marker: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | 96;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(time >>> 0, 4);
  return Buffer.concat([h, payload]);
}

describe("H.264 into RTP", () => {
  it("round-trips through the depacketizer: small NAL units alone, large ones in FU-A, marker on the last", () => {
    const sps = Buffer.from("6742c016da0a0fd8088000000300800000", "hex");
    const key = unit([sps, nal(8, 4), nal(5, 5000), nal(5, RTP_MAX_PAYLOAD)], true, 90_000);
    const delta = unit([nal(1, 1201), nal(1, 30)], false, 96_000);
    const got: AccessUnit[] = [];
    const d = new H264Depacketizer([], (au) => got.push(au));
    let seq = 65_530; // wraps
    for (const au of [key, delta]) {
      const packets = packetize(au);
      expect(packets.every((p) => p.payload.length <= RTP_MAX_PAYLOAD)).toBe(true);
      expect(packets.map((p) => p.marker)).toEqual(packets.map((_, i) => i === packets.length - 1));
      for (const p of packets) d.push(rtp(seq++, au.rtpTime, p.marker, p.payload));
    }
    expect(got).toHaveLength(2);
    expect(got.map((au) => au.nals.map((n) => n.toString("hex")))).toEqual(
      [key, delta].map((au) => au.nals.map((n) => n.toString("hex"))),
    );
    expect(got.map((au) => [au.rtpTime, au.keyframe])).toEqual([
      [90_000, true],
      [96_000, false],
    ]);
    // 5000 bytes less the NAL header, 1198 a fragment: five FU-A packets, first with S, last with E.
    const fu = packetize(unit([nal(5, 5000)], true, 0));
    expect(fu.map((p) => [p.payload[0] && p.payload[0] & 0x1f, (p.payload[1] ?? 0) & 0xc0])).toEqual([
      [28, 0x80],
      [28, 0],
      [28, 0],
      [28, 0],
      [28, 0x40],
    ]);
    expect(profileLevelId(key)).toBe("42c016");
  });
});

// Chrome 156's recvonly H.264 offer, trimmed to the parts that matter.
const CHROME = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108",
  "c=IN IP4 0.0.0.0",
  "a=candidate:1 1 udp 2113937151 1f2e3d4c-aaaa-bbbb-cccc-000000000000.local 50000 typ host",
  "a=candidate:2 1 udp 2113939711 127.0.0.1 50001 typ host",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:abcdefghijklmnopqrstuvwx",
  "a=fingerprint:sha-256 AA:BB",
  "a=setup:actpass",
  "a=mid:0",
  "a=recvonly",
  "a=rtpmap:96 VP8/90000",
  "a=rtcp-fb:96 nack",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:102 H264/90000",
  "a=rtcp-fb:102 nack",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  "a=rtpmap:103 H264/90000",
  "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
  "a=rtpmap:104 H264/90000",
  "a=rtcp-fb:104 nack",
  "a=rtcp-fb:104 goog-remb",
  "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtpmap:105 rtx/90000",
  "a=fmtp:105 apt=104",
  "a=rtpmap:106 H264/90000",
  "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
  "a=rtpmap:107 H264/90000",
  "a=fmtp:107 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f",
  "a=rtpmap:108 AV1/90000",
  "",
].join("\r\n");

describe("the SDP offer", () => {
  it("is narrowed to one packetization-mode=1 H.264 payload type of the stream's profile, mDNS candidates dropped", () => {
    const cb = checkOffer(CHROME, "42c016");
    if (!cb.ok) throw new Error(cb.reason);
    expect([cb.payloadType, cb.profileLevelId]).toEqual([104, "42e01f"]);
    expect(cb.offer).toMatch(/^m=video 9 UDP\/TLS\/RTP\/SAVPF 104\r$/m);
    expect(cb.offer.match(/^a=(rtpmap|fmtp|rtcp-fb):\d+/gm)).toEqual([
      "a=rtpmap:104",
      "a=rtcp-fb:104",
      "a=rtcp-fb:104",
      "a=fmtp:104",
    ]);
    expect(cb.offer).not.toMatch(/\.local/);
    expect(cb.offer).toMatch(/127\.0\.0\.1 50001 typ host/);

    expect(checkOffer(CHROME, "4d0028")).toMatchObject({ ok: true, payloadType: 106 });
    expect(checkOffer(CHROME, "42001e")).toMatchObject({ ok: true, payloadType: 102 });
    // Unknown or not offered (High): constrained baseline.
    expect(checkOffer(CHROME)).toMatchObject({ ok: true, payloadType: 104 });
    expect(checkOffer(CHROME, "640028")).toMatchObject({ ok: true, payloadType: 104 });
  });

  it("is refused, saying why, when it cannot be answered", () => {
    const reason = (sdp: string) => {
      const c = checkOffer(sdp);
      return c.ok ? "accepted" : c.reason;
    };
    expect(reason(CHROME.replace(/packetization-mode=1/g, "packetization-mode=0"))).toMatch(/no H\.264/);
    expect(reason(CHROME.replace("a=recvonly", "a=inactive"))).toMatch(/inactive: it must receive/);
    expect(reason(CHROME.replace("m=video 9", "m=video 0"))).toMatch(/disabled/);
    expect(reason(`${CHROME}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n`)).toMatch(/exactly one media section/);
    expect(reason(CHROME.replace("a=ice-pwd", "a=ice-pass"))).toMatch(/a=ice-pwd/);
    expect(reason(CHROME.replace("v=0", "v=1"))).toMatch(/begin with v=0/);
    expect(reason(CHROME.replace("s=-", "s=-\rx"))).toMatch(/line \d+ is not an SDP line/);
  });
});
