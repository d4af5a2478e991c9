import type { AccessUnit } from "../../src/live/feed.js";
import { avcCodec, parseSps, type SpsInfo } from "../../src/live/sps.js";

/**
 * Fragmented MP4 (ISO/IEC 14496-12, H.264 in it by 14496-15) for Media Source Extensions: an init
 * segment from a key frame's SPS and PPS, then one moof+mdat per access unit, written the moment it
 * arrives (ffmpeg's muxer holds a frame back; this holds none).
 * Invariants: decode times only move forward (the RTP clock unwrapped at 2^32; a jump back or of
 * more than MAX_STEP is bridged by the last frame's duration); a fragment never precedes its init
 * segment; new parameter sets (the camera restarted its stream) bring a new init segment first.
 */

const TIMESCALE = 90_000;
/**
 * A frame's duration is only known when the next arrives, and nothing waits for it: each takes the
 * last interval and COVER more, which the next frame's decode time cuts short. A gap of even 3 ms
 * stalls chromium's MSE playback, and so does a playhead past the buffered end (a frame late by
 * more than its duration): chromium then stops the clock and restarts it behind, 150-300 ms later.
 * COVER lets the playhead run up to a quarter second past the newest frame, as late as the
 * simulator's and a loaded machine's frames come. The first frame, with no interval yet, takes a 5
 * fps camera's.
 */
const FIRST_DURATION = 18_000;
const COVER = 22_500;
/** An RTP step longer than this (5 s) is a restart, not a frame interval. */
const MAX_STEP = 5 * TIMESCALE;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;
const SAMPLE_KEY = 0x02000000; // sample_depends_on = 2 (depends on nothing)
const SAMPLE_NON_KEY = 0x01010000; // sample_depends_on = 1, sample_is_non_sync_sample

export interface InitSegment {
  /** `avc1.PPCCLL`, for MediaSource.isTypeSupported and addSourceBuffer. */
  codec: string;
  width: number;
  height: number;
  sps: SpsInfo;
  /** ftyp + moov. */
  segment: Buffer;
}

export interface Muxed {
  /** A new init segment to send before `fragment` (the first key frame, or new parameter sets). */
  init?: InitSegment;
  /** moof + mdat of the access unit; undefined until the first key frame. */
  fragment?: Buffer;
}

export class Fmp4Muxer {
  private params: Buffer | undefined;
  private sequence = 0;
  private lastRtp: number | undefined;
  private decodeTime = 0;
  private lastDuration = FIRST_DURATION;

  push(au: AccessUnit): Muxed {
    const type = (n: Buffer) => (n[0] ?? 0) & 0x1f;
    let init: InitSegment | undefined;
    if (au.keyframe) {
      const sps = au.nals.find((n) => type(n) === NAL_SPS);
      const pps = au.nals.find((n) => type(n) === NAL_PPS);
      if (sps && pps) {
        const params = Buffer.concat([sps, pps]);
        if (!this.params?.equals(params)) {
          this.params = params;
          init = initSegment(sps, pps);
        }
      }
    }
    if (!this.params) return {};
    this.advance(au.rtpTime);
    // Parameter sets live in the init segment; an access unit delimiter means nothing in MP4.
    const nals = au.nals.filter((n) => ![NAL_SPS, NAL_PPS, NAL_AUD].includes(type(n)));
    const fragment = this.fragment(nals, au.keyframe);
    return init ? { init, fragment } : { fragment };
  }

  private advance(rtpTime: number): void {
    if (this.lastRtp !== undefined) {
      const step = (rtpTime - this.lastRtp) | 0; // signed difference modulo 2^32
      if (step > 0 && step <= MAX_STEP) this.lastDuration = step;
      this.decodeTime += step > 0 && step <= MAX_STEP ? step : this.lastDuration;
    }
    this.lastRtp = rtpTime >>> 0;
  }

  private fragment(nals: Buffer[], key: boolean): Buffer {
    const data = Buffer.concat(nals.flatMap((n) => [u32(n.length), n]));
    const build = (dataOffset: number) =>
      box(
        "moof",
        box("mfhd", fullBox(0, 0), u32(this.sequence + 1)),
        box(
          "traf",
          box("tfhd", fullBox(0, 0x020000), u32(1)), // default-base-is-moof
          box("tfdt", fullBox(1, 0), u64(this.decodeTime)),
          // data-offset, sample duration, size and flags present; one sample.
          box(
            "trun",
            fullBox(0, 0x000701),
            u32(1),
            u32(dataOffset),
            u32(this.lastDuration + COVER),
            u32(data.length),
            u32(key ? SAMPLE_KEY : SAMPLE_NON_KEY),
          ),
        ),
      );
    const moof = build(0);
    this.sequence++;
    // The data offset counts from the moof's first byte to the first sample byte (past mdat's header).
    return Buffer.concat([build(moof.length + 8), box("mdat", data)]);
  }
}

function initSegment(spsNal: Buffer, ppsNal: Buffer): InitSegment {
  const sps = parseSps(spsNal);
  const { width, height } = sps;
  const matrix = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(u32));
  const avcC = box(
    "avcC",
    Buffer.from([1, sps.profileIdc, sps.constraints, sps.levelIdc, 0xff, 0xe1]),
    u16(spsNal.length),
    spsNal,
    Buffer.from([1]),
    u16(ppsNal.length),
    ppsNal,
    // 14496-15 5.3.3.1.2: profiles other than Baseline, Main and Extended carry chroma format and depths.
    ![66, 77, 88].includes(sps.profileIdc)
      ? Buffer.from([
          0xfc | sps.chromaFormatIdc,
          0xf8 | sps.bitDepthLumaMinus8,
          0xf8 | sps.bitDepthChromaMinus8,
          0,
        ])
      : Buffer.alloc(0),
  );
  const avc1 = box(
    "avc1",
    Buffer.alloc(6),
    u16(1), // data_reference_index
    Buffer.alloc(16),
    u16(width),
    u16(height),
    u32(0x00480000), // 72 dpi
    u32(0x00480000),
    u32(0),
    u16(1), // frame_count
    Buffer.alloc(32), // compressorname
    u16(0x0018),
    u16(0xffff),
    avcC,
  );
  const empty = (type: string, extra: Buffer[] = []) => box(type, fullBox(0, 0), ...extra, u32(0));
  const trak = box(
    "trak",
    box(
      "tkhd",
      fullBox(0, 3), // enabled, in movie
      u32(0),
      u32(0),
      u32(1), // track_ID
      u32(0),
      u32(0), // duration
      Buffer.alloc(8),
      u16(0),
      u16(0),
      u16(0),
      u16(0),
      matrix,
      u32(width * 0x10000),
      u32(height * 0x10000),
    ),
    box(
      "mdia",
      box("mdhd", fullBox(0, 0), u32(0), u32(0), u32(TIMESCALE), u32(0), u16(0x55c4), u16(0)), // 'und'
      box("hdlr", fullBox(0, 0), u32(0), Buffer.from("vide"), Buffer.alloc(12), Buffer.from("Live\0")),
      box(
        "minf",
        box("vmhd", fullBox(0, 1), Buffer.alloc(8)),
        box("dinf", box("dref", fullBox(0, 0), u32(1), box("url ", fullBox(0, 1)))),
        box(
          "stbl",
          box("stsd", fullBox(0, 0), u32(1), avc1),
          empty("stts"),
          empty("stsc"),
          box("stsz", fullBox(0, 0), u32(0), u32(0)),
          empty("stco"),
        ),
      ),
    ),
  );
  const moov = box(
    "moov",
    box(
      "mvhd",
      fullBox(0, 0),
      u32(0),
      u32(0),
      u32(1000),
      u32(0),
      u32(0x00010000), // rate 1.0
      u16(0x0100), // volume 1.0
      Buffer.alloc(10),
      matrix,
      Buffer.alloc(24),
      u32(2), // next_track_ID
    ),
    trak,
    box("mvex", box("trex", fullBox(0, 0), u32(1), u32(1), u32(0), u32(0), u32(0))),
  );
  const ftyp = box("ftyp", Buffer.from("iso5"), u32(512), Buffer.from("iso5iso6avc1mp41"));
  return { codec: avcCodec(sps), width, height, sps, segment: Buffer.concat([ftyp, moov]) };
}

function box(type: string, ...parts: Buffer[]): Buffer {
  const size = 8 + parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([u32(size), Buffer.from(type, "latin1"), ...parts]);
}

function fullBox(version: number, flags: number): Buffer {
  return u32(((version << 24) | flags) >>> 0);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
