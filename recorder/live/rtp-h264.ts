/**
 * H.264 out of RTP (RFC 6184): single NAL units, STAP-A and FU-A into access units, closed by the
 * marker bit (or a new timestamp when a marker was lost). A key frame (IDR) always leaves with the
 * SPS and PPS in front — in-band ones when the camera sent them, else the latest seen (SDP
 * sprop-parameter-sets first) — so every key frame is a point a decoder can start from.
 * Invariants: an access unit never exceeds MAX_ACCESS_UNIT bytes; after a lost packet nothing is
 * emitted until the next key frame (a decoder fed a frame with holes shows garbage).
 */

import type { AccessUnit } from "../../src/live/feed.js";

export const MAX_ACCESS_UNIT = 4 * 1024 * 1024;

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const STAP_A = 24;
const FU_A = 28;

const START = Buffer.from([0, 0, 0, 1]);

/** An access unit as an Annex B byte stream (what `ffmpeg -f h264` and MSE muxers read). */
export function annexB(au: AccessUnit): Buffer {
  return Buffer.concat(au.nals.flatMap((n) => [START, n]));
}

/** SPS and PPS from an SDP fmtp line's `sprop-parameter-sets=<b64>,<b64>`. */
export function spropParameterSets(fmtp: string | undefined): Buffer[] {
  const m = fmtp ? /sprop-parameter-sets=([^;\s]+)/.exec(fmtp) : null;
  if (!m?.[1]) return [];
  return m[1]
    .split(",")
    .map((b) => Buffer.from(b, "base64"))
    .filter((n) => n.length > 0);
}

export const nalType = (nal: Buffer): number => (nal[0] ?? 0) & 0x1f;

export class H264Depacketizer {
  private sps: Buffer | undefined;
  private pps: Buffer | undefined;
  private nals: Buffer[] = [];
  private bytes = 0;
  private time: number | undefined;
  private fu: Buffer[] | undefined;
  private lastSeq: number | undefined;
  /** Packets were lost: drop everything until the next key frame. */
  private broken = true;
  /** Access units and packets dropped because of loss, or oversized units. */
  dropped = 0;

  constructor(
    parameterSets: Buffer[],
    private readonly emit: (au: AccessUnit) => void,
  ) {
    for (const n of parameterSets) this.remember(n);
  }

  /** One RTP packet (header included). Malformed packets are counted and skipped. */
  push(packet: Buffer, receivedAt = Date.now()): void {
    if (packet.length < 12 || packet[0] === undefined || packet[0] >> 6 !== 2) {
      this.dropped += 1;
      return;
    }
    const cc = packet[0] & 0x0f;
    const hasExtension = (packet[0] & 0x10) !== 0;
    const padding = (packet[0] & 0x20) !== 0;
    const marker = ((packet[1] ?? 0) & 0x80) !== 0;
    const seq = packet.readUInt16BE(2);
    const time = packet.readUInt32BE(4);
    let offset = 12 + cc * 4;
    if (hasExtension) {
      if (packet.length < offset + 4) {
        this.lose();
        return;
      }
      offset += 4 + packet.readUInt16BE(offset + 2) * 4;
    }
    let end = packet.length;
    if (padding) end -= packet[packet.length - 1] ?? 0;
    if (offset >= end) {
      this.lose();
      return;
    }

    if (this.lastSeq !== undefined && seq !== ((this.lastSeq + 1) & 0xffff)) this.lose();
    this.lastSeq = seq;
    if (this.time !== undefined && time !== this.time) this.flush(receivedAt);
    this.time = time;
    this.payload(packet.subarray(offset, end));
    if (marker) this.flush(receivedAt);
  }

  private payload(p: Buffer): void {
    const type = (p[0] ?? 0) & 0x1f;
    if (type >= 1 && type <= 23) {
      this.fu = undefined;
      this.add(p);
    } else if (type === STAP_A) {
      this.fu = undefined;
      for (let i = 1; i + 2 <= p.length; ) {
        const size = p.readUInt16BE(i);
        i += 2;
        if (size === 0 || i + size > p.length) {
          this.lose();
          return;
        }
        this.add(p.subarray(i, i + size));
        i += size;
      }
    } else if (type === FU_A) {
      if (p.length < 3) {
        this.lose();
        return;
      }
      const header = p[1] ?? 0;
      const start = (header & 0x80) !== 0;
      const finish = (header & 0x40) !== 0;
      if (start) this.fu = [Buffer.from([((p[0] ?? 0) & 0xe0) | (header & 0x1f)])];
      else if (!this.fu) return; // the start was lost: lose() already marked the stream broken
      this.fu.push(p.subarray(2));
      if (finish) {
        const nal = Buffer.concat(this.fu);
        this.fu = undefined;
        this.add(nal);
      }
    } else {
      this.dropped += 1; // STAP-B, MTAP, FU-B: not in packetization-mode 0/1
    }
  }

  private add(nal: Buffer): void {
    this.bytes += nal.length;
    if (this.bytes > MAX_ACCESS_UNIT) {
      this.lose();
      return;
    }
    // Copy: the packet's buffer belongs to the socket's read and may be reused.
    this.nals.push(Buffer.from(nal));
  }

  private remember(nal: Buffer): void {
    if (nalType(nal) === NAL_SPS) this.sps = Buffer.from(nal);
    else if (nalType(nal) === NAL_PPS) this.pps = Buffer.from(nal);
  }

  private lose(): void {
    this.dropped += 1;
    this.broken = true;
    this.nals = [];
    this.bytes = 0;
    this.fu = undefined;
  }

  private flush(receivedAt: number): void {
    const nals = this.nals;
    this.nals = [];
    this.bytes = 0;
    this.fu = undefined;
    if (nals.length === 0 || this.time === undefined) return;
    for (const n of nals) this.remember(n);
    const keyframe = nals.some((n) => nalType(n) === NAL_IDR);
    if (this.broken && !keyframe) {
      this.dropped += 1;
      return;
    }
    if (keyframe) {
      if (!this.sps || !this.pps) {
        this.dropped += 1; // undecodable until a camera says its parameter sets
        return;
      }
      this.broken = false;
      const has = (t: number) => nals.some((n) => nalType(n) === t);
      const front = [...(has(NAL_SPS) ? [] : [this.sps]), ...(has(NAL_PPS) ? [] : [this.pps])];
      nals.unshift(...front);
    }
    this.emit({
      rtpTime: this.time,
      receivedAt,
      keyframe,
      nals,
      bytes: nals.reduce((s, n) => s + n.length, 0),
    });
  }
}
