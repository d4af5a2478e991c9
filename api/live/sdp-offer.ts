/**
 * A viewer's SDP offer, checked before any peer connection is made, and narrowed to the one H.264
 * payload type pscsd will send. Invariant: an offer reaches werift only if it is bounded SDP text
 * with exactly one media section, video, that may receive (recvonly or sendrecv), with ICE
 * credentials, a DTLS fingerprint and an H.264 packetization-mode=1 payload type; what is answered
 * is that payload type alone, so the answer names exactly what is sent (werift would otherwise
 * keep every H.264 variant offered and send under the first, mode 0 or High profile alike).
 * Candidates named by mDNS (`….local`) are dropped: resolving them would have pscsd multicast on
 * the site's networks; the browser's checks reach pscsd's candidate and are answered all the same.
 */

/** Chrome's offers run 3–6 KB with candidates for a few interfaces. */
export const MAX_OFFER_CHARS = 32 * 1024;

export type OfferCheck =
  | { ok: true; offer: string; payloadType: number; profileLevelId: string }
  | { ok: false; reason: string };

interface H264Option {
  pt: number;
  profileLevelId: string;
}

const LINE = /^[a-z]=[^\r\n]*$/;

/**
 * `streamProfile` is the stream's profile-level-id (from its SPS) when known: the payload type of the
 * same profile is chosen; otherwise constrained baseline, which every WebRTC browser decodes.
 */
export function checkOffer(sdp: string, streamProfile?: string): OfferCheck {
  if (sdp.length > MAX_OFFER_CHARS) return fail(`longer than ${MAX_OFFER_CHARS} characters`);
  const lines = sdp.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  const bad = lines.findIndex((l) => !LINE.test(l));
  if (bad >= 0) return fail(`line ${bad + 1} is not an SDP line (type=value)`);
  if (lines[0] !== "v=0") return fail("not an SDP offer: it must begin with v=0");
  const media = lines.flatMap((l, i) => (l.startsWith("m=") ? [i] : []));
  if (media.length !== 1) return fail(`must have exactly one media section, video (it has ${media.length})`);
  const at = media[0] as number;
  const m = /^m=(\w+) (\d+) (\S+)((?: \w+)+)$/.exec(lines[at] as string);
  if (m?.[1] !== "video") return fail("its media section must be video");
  if (m[2] === "0") return fail("its video section is disabled (port 0)");
  const section = lines.slice(at + 1);
  const attr = (name: string) => lines.some((l) => l.startsWith(`a=${name}:`));
  for (const need of ["ice-ufrag", "ice-pwd", "fingerprint"]) {
    if (!attr(need)) return fail(`has no a=${need} (ICE and DTLS need it)`);
  }
  const direction = section.find((l) => /^a=(sendrecv|recvonly|sendonly|inactive)$/.test(l)) ?? "a=sendrecv";
  if (direction !== "a=recvonly" && direction !== "a=sendrecv") {
    return fail(`its video section is ${direction.slice(2)}: it must receive (recvonly or sendrecv)`);
  }
  const options = h264Options(section);
  if (options.length === 0) return fail("offers no H.264 video with packetization-mode=1");
  const choice = choose(options, streamProfile);
  return {
    ok: true,
    offer: narrow(lines, at, choice.pt),
    payloadType: choice.pt,
    profileLevelId: choice.profileLevelId,
  };
}

function fail(what: string): OfferCheck {
  return { ok: false, reason: `the SDP offer ${what}` };
}

function h264Options(section: string[]): H264Option[] {
  const out: H264Option[] = [];
  for (const l of section) {
    const r = /^a=rtpmap:(\d+) H264\/90000$/i.exec(l);
    if (!r) continue;
    const pt = Number(r[1]);
    const fmtp = section.find((f) => f.startsWith(`a=fmtp:${pt} `))?.slice(`a=fmtp:${pt} `.length) ?? "";
    const params = new Map(
      fmtp.split(";").map((p) => {
        const [k = "", v = ""] = p.trim().split("=");
        return [k.toLowerCase(), v] as const;
      }),
    );
    const profile = (params.get("profile-level-id") ?? "42001f").toLowerCase();
    if (params.get("packetization-mode") === "1" && /^[0-9a-f]{6}$/.test(profile)) {
      out.push({ pt, profileLevelId: profile });
    }
  }
  return out;
}

/** Same profile_idc; for baseline (0x42) also the same constraint_set1 (constrained or not). */
function sameProfile(a: string, b: string): boolean {
  const idc = (p: string) => p.slice(0, 2);
  const constrained = (p: string) => (Number.parseInt(p.slice(2, 4), 16) & 0x40) !== 0;
  return idc(a) === idc(b) && (idc(a) !== "42" || constrained(a) === constrained(b));
}

const CONSTRAINED_BASELINE = "42e01f";

function choose(options: H264Option[], streamProfile: string | undefined): H264Option {
  const want = streamProfile?.toLowerCase();
  return (
    (want && options.find((o) => sameProfile(o.profileLevelId, want))) ||
    options.find((o) => sameProfile(o.profileLevelId, CONSTRAINED_BASELINE)) ||
    (options[0] as H264Option)
  );
}

/** The offer with its video section reduced to one payload type (its rtpmap, fmtp, rtcp-fb lines), without mDNS candidates. */
function narrow(lines: string[], at: number, pt: number): string {
  const out = lines.map((l, i) => {
    if (i === at) return l.replace(/^(m=video \d+ \S+)(?: \w+)+$/, `$1 ${pt}`);
    if (i < at) return l;
    if (/^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /i.test(l)) return undefined;
    const r = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+|\*) /.exec(l);
    return r && r[1] !== String(pt) && r[1] !== "*" ? undefined : l;
  });
  return `${out.filter((l) => l !== undefined).join("\r\n")}\r\n`;
}
