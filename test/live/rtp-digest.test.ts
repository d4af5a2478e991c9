import { describe, expect, it } from "vitest";
import { Authenticator, pickChallenge } from "../../recorder/live/digest.js";
import { H264Depacketizer, nalType, spropParameterSets } from "../../recorder/live/rtp-h264.js";
import type { AccessUnit } from "../../src/live/feed.js";

// The parts the simulator's server does not exercise: Digest with qop (RFC 2617's own example) and
// Basic, and RTP loss, which TCP on loopback never shows.

describe("RTSP Digest", () => {
  it("answers RFC 2617's example challenge (qop=auth) with its response", () => {
    const c = pickChallenge([
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    ]);
    const auth = new Authenticator(c as NonNullable<typeof c>, "Mufasa", "Circle Of Life", () => "0a4f113b");
    const h = auth.header("GET", "/dir/index.html");
    expect(h).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(h).toContain("nc=00000001");
    expect(h).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(auth.header("GET", "/dir/index.html")).toContain("nc=00000002");
    expect(h).not.toContain("Circle Of Life");
  });

  it("prefers Digest (MD5) over Basic, skips other algorithms, takes Basic only alone", () => {
    expect(pickChallenge(['Basic realm="x"', 'Digest realm="r", nonce="n"'])?.scheme).toBe("Digest");
    expect(pickChallenge(['Digest realm="r", nonce="n", algorithm=SHA-256', 'Basic realm="x"'])?.scheme).toBe(
      "Basic",
    );
    expect(pickChallenge(['Digest realm="r", nonce="n", algorithm=SHA-256'])).toBeUndefined();
    const basic = new Authenticator({ scheme: "Basic", realm: "x" }, "u", "p");
    expect(basic.header("DESCRIBE", "rtsp://h/s")).toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
  });
});

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xd9]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
function rtp(seq: number, time: number, marker: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | 96;
  h.writeUInt16BE(seq, 2);
  h.writeUInt32BE(time, 4);
  return Buffer.concat([h, payload]);
}
const fu = (type: number, start: boolean, end: boolean, data: Buffer) =>
  Buffer.concat([Buffer.from([0x60 | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | type]), data]);

describe("H.264 depacketizer", () => {
  it("joins FU-A fragments, puts the SDP's SPS/PPS before an IDR, and after a loss waits for the next IDR", () => {
    const sprop = `packetization-mode=1;sprop-parameter-sets=${SPS.toString("base64")},${PPS.toString("base64")}`;
    const out: AccessUnit[] = [];
    const d = new H264Depacketizer(spropParameterSets(sprop), (au) => out.push(au));
    // A P frame before any key frame is not given out.
    d.push(rtp(1, 0, true, Buffer.from([0x41, 1, 2])));
    // An IDR in three fragments.
    d.push(rtp(2, 3000, false, fu(5, true, false, Buffer.from([1, 2]))));
    d.push(rtp(3, 3000, false, fu(5, false, false, Buffer.from([3]))));
    d.push(rtp(4, 3000, true, fu(5, false, true, Buffer.from([4]))));
    d.push(rtp(5, 6000, true, Buffer.from([0x41, 9])));
    // Packet 6 lost: the P frames after it are dropped until the next IDR (single NAL).
    d.push(rtp(7, 9000, true, Buffer.from([0x41, 7])));
    d.push(rtp(8, 12000, true, Buffer.from([0x65, 8])));
    expect(out.map((u) => [u.rtpTime, u.keyframe, u.nals.map(nalType)])).toEqual([
      [3000, true, [7, 8, 5]],
      [6000, false, [1]],
      [12000, true, [7, 8, 5]],
    ]);
    expect(out[0]?.nals[2]).toEqual(Buffer.from([0x65, 1, 2, 3, 4]));
    expect(d.dropped).toBe(3); // the first P frame, the loss, the P frame after it
  });
});
