import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { avcCodec, parseSps, profileLevelId, SpsError } from "../../src/live/sps.js";

// The SPS parser against parameter sets real libx264 writes, each checked against what ffprobe
// reads from the same stream: sizes that need cropping (odd, not a multiple of 16, 4:4:4 where the
// crop unit is 1), interlaced coding (field crop units), profiles with and without the high fields.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pscs-sps-"));

async function encoded(name: string, size: string, args: string[]) {
  // testsrc2 draws even sizes only: an odd one is scaled to.
  const file = join(dir, `${name}.h264`);
  await run("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10", "-frames:v", "2"],
    ...["-vf", `scale=${size.replace("x", ":")}`],
    ...["-c:v", "libx264", ...args, "-f", "h264", "-y", file],
  ]);
  const probe = JSON.parse(
    (await run("ffprobe", ["-v", "error", "-of", "json", "-show_streams", file])).stdout,
  ) as { streams: { width: number; height: number; level: number; profile: string }[] };
  const bytes = readFileSync(file);
  // The first NAL unit of type 7 after a start code.
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 0 &&
      bytes[i + 1] === 0 &&
      bytes[i + 2] === 1 &&
      ((bytes[i + 3] as number) & 0x1f) === 7
    ) {
      const end = bytes.indexOf(Buffer.from([0, 0, 1]), i + 3);
      let nal = bytes.subarray(i + 3, end);
      while (nal.at(-1) === 0) nal = nal.subarray(0, -1);
      return { sps: nal, probe: probe.streams[0] as (typeof probe.streams)[0] };
    }
  }
  throw new Error("no SPS");
}

const PROFILE_IDC: Record<string, number> = {
  "Constrained Baseline": 66,
  Main: 77,
  High: 100,
  "High 4:2:2": 122,
  "High 4:4:4 Predictive": 244,
};

describe("H.264 SPS", () => {
  it.each([
    ["baseline 640x360 (bottom crop)", "640x360", ["-profile:v", "baseline", "-pix_fmt", "yuv420p"]],
    ["main 1920x1080", "1920x1080", ["-profile:v", "main", "-pix_fmt", "yuv420p"]],
    ["high 322x182 (right and bottom crop)", "322x182", ["-pix_fmt", "yuv420p"]],
    ["high 4:2:2 330x180", "330x180", ["-pix_fmt", "yuv422p"]],
    ["high 4:4:4 321x181 (crop unit 1)", "321x181", ["-pix_fmt", "yuv444p"]],
    [
      "interlaced 320x244 (field crop units)",
      "320x244",
      ["-pix_fmt", "yuv420p", "-flags", "+ildct+ilme", "-x264-params", "interlaced=1"],
    ],
  ])(
    "%s: size, profile and level as ffprobe reads them",
    async (name, size, args) => {
      const { sps, probe } = await encoded(name.replace(/\W+/g, "-"), size, args);
      const info = parseSps(sps);
      expect({ width: info.width, height: info.height }).toEqual({
        width: probe.width,
        height: probe.height,
      });
      expect(`${info.width}x${info.height}`).toBe(size);
      expect(info.levelIdc).toBe(probe.level);
      expect(info.profileIdc).toBe(PROFILE_IDC[probe.profile]);
      expect(avcCodec(info)).toBe(`avc1.${profileLevelId(info)}`);
      expect(profileLevelId(info)).toBe(
        [info.profileIdc, info.constraints, info.levelIdc]
          .map((b) => b.toString(16).padStart(2, "0"))
          .join(""),
      );
      expect(profileLevelId(info)).toBe(sps.subarray(1, 4).toString("hex"));
    },
    20_000,
  );

  it("refuses what is not a whole SPS", async () => {
    const { sps } = await encoded("cut", "320x180", ["-pix_fmt", "yuv420p"]);
    expect(() => parseSps(sps.subarray(0, 6))).toThrow(SpsError);
    expect(() => parseSps(Buffer.from([0x68, 0xee, 0x3c, 0x80]))).toThrow(/not an SPS/);
  });

  it("reads through emulation-prevention bytes", () => {
    // Baseline 16x16 by hand: seq id 0, log2_max_frame_num 0, poc type 2, 0 refs, no gaps, 1x1
    // macroblocks, frame_mbs_only, direct_8x8, no crop, no VUI, stop bit: 1 1 011 1 0 1 | 1 1 1 0 0 1.
    const fields = [0b11011101, 0b11100100];
    expect(parseSps(Buffer.from([0x67, 0x42, 0x00, 0x1e, ...fields]))).toMatchObject({
      width: 16,
      height: 16,
      profileIdc: 66,
      levelIdc: 30,
    });
    // Level 0 makes 00 00 in the bytes, so the encoder escapes what follows with 03: read as data, the
    // 03 would shift every field after it.
    expect(parseSps(Buffer.from([0x67, 0x42, 0x00, 0x00, 0x03, ...fields]))).toMatchObject({
      width: 16,
      height: 16,
      levelIdc: 0,
    });
  });
});
