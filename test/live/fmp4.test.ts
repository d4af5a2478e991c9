import { describe, expect, it } from "vitest";
import { Fmp4Muxer } from "../../api/live/fmp4.js";
import type { AccessUnit } from "../../src/live/feed.js";

// The MSE muxer's timing: each fragment's one sample must reach past the next frame's decode time
// even when that frame comes late, or chromium finds the playhead past the buffered end and stops
// its clock (playback restarted 150-300 ms behind: the stall the live benchmark measured).

// libx264's constrained-baseline 64x64 parameter sets.
const SPS = Buffer.from("6742c00ad90426c044000003000400000300503c489920", "hex");
const PPS = Buffer.from("68cb83cb20", "hex");
const unit = (rtpTime: number, keyframe: boolean): AccessUnit => {
  const slice = Buffer.from([keyframe ? 0x65 : 0x41, 1, 2, 3]);
  const nals = keyframe ? [SPS, PPS, slice] : [slice];
  return { rtpTime, receivedAt: 0, keyframe, nals, bytes: nals.reduce((n, b) => n + b.length, 0) };
};

/** The payload of the box at `path` under `buf` (each name a child of the one before). */
function box(buf: Buffer, path: string[]): Buffer {
  let at = buf;
  for (const name of path) {
    let i = 0;
    while (at.toString("latin1", i + 4, i + 8) !== name) {
      if (i + 8 > at.length) throw new Error(`no ${name} box`);
      i += at.readUInt32BE(i);
    }
    at = at.subarray(i + 8, i + at.readUInt32BE(i));
  }
  return at;
}

/** A fragment's decode time and its one sample's duration (90 kHz). */
function timing(fragment: Buffer): { decodeTime: number; duration: number } {
  const tfdt = box(fragment, ["moof", "traf", "tfdt"]);
  const trun = box(fragment, ["moof", "traf", "trun"]);
  expect(trun.readUInt32BE(0) & 0x100).toBe(0x100); // sample-duration-present
  return { decodeTime: Number(tfdt.readBigUInt64BE(4)), duration: trun.readUInt32BE(12) };
}

describe("fMP4 fragments for MSE", () => {
  it("each sample lasts its last interval and a quarter second more, so a frame three intervals late leaves no gap", () => {
    const muxer = new Fmp4Muxer();
    // 15 fps (6000 ticks), then one frame 18000 ticks after the one before (200 ms, as a loaded
    // camera or machine sends them), then on time again.
    const times = [0, 6000, 12_000, 30_000, 36_000];
    const fragments = times.map((t, i) => muxer.push(unit(t, i === 0)).fragment);
    const got = fragments.map((f) => timing(f as Buffer));
    expect(got.map((g) => g.decodeTime)).toEqual(times);
    for (let i = 1; i < got.length; i++) {
      const prev = got[i - 1] as (typeof got)[0];
      const interval = (times[i - 1] as number) - (times[i - 2] ?? 0);
      if (i > 1) expect(prev.duration).toBe(interval + 22_500);
      // The frame before covers this one's decode time: no gap in the buffered range.
      expect(prev.decodeTime + prev.duration).toBeGreaterThan((got[i] as (typeof got)[0]).decodeTime);
    }
  });
});
