import { describe, expect, it } from "vitest";
import { progressOptions, reportPeriodSeconds } from "../../recorder/ffmpeg-args.js";
import { InputVideo } from "../../recorder/ffmpeg-stderr.js";
import { startFromName } from "../../recorder/reconcile.js";
import { rtspUrlWithCredentials } from "../../recorder/recorder.js";
import { parseSegmentLine } from "../../recorder/segment-list.js";
import type { SegmentRow } from "../../src/catalog/footage/segments.js";
import { compactUtc, segmentPath } from "../../src/footage/layout.js";
import { concatList } from "../../src/footage/remux.js";

describe("recorder pieces", () => {
  it("reads ffmpeg's live segment list lines and rejects anything else", () => {
    expect(parseSegmentLine("r1-000003.ts,30.000000,40.000000\n")).toEqual({
      file: "r1-000003.ts",
      startS: 30,
      endS: 40,
    });
    expect(parseSegmentLine("r1-000003.ts,40.0,30.0")).toBeUndefined();
    expect(parseSegmentLine("garbage")).toBeUndefined();
    expect(parseSegmentLine("a,b,c")).toBeUndefined();
  });

  it("reads the input's codec, size and frame rate from ffmpeg's stream lines (fps, else tbr)", () => {
    const read = (video: string) => {
      const v = new InputVideo();
      return [
        "Input #0, rtsp, from 'rtsp://127.0.0.1:8554/cam1':",
        `  Stream #0:0: Video: ${video}`,
        "Output #0, segment, to 'x-%06d.ts':",
        "Stream mapping:",
      ].map((l) => v.read(l))[3];
    };
    expect(
      read("h264 (Constrained Baseline), yuv420p(progressive), 640x360, 15 fps, 15 tbr, 90k tbn"),
    ).toEqual({ codec: "h264", width: 640, height: 360, fps: 15 });
    expect(read("h264 (Main), yuvj420p(pc), 1920x1080 [SAR 1:1 DAR 16:9], 29.97 tbr, 90k tbn")).toEqual({
      codec: "h264",
      width: 1920,
      height: 1080,
      fps: 29.97,
    });
    expect(read("h264, none")).toEqual({ codec: "h264" });
  });

  it("asks ffmpeg for progress often enough that flowing media never nears the stall limit", () => {
    // The watchdog declares a stall when no media is newer than stallSeconds plus one report period
    // (watchdog.ts looks when that runs out): the newest report read is at most one period old.
    for (let stall = 2; stall <= 600; stall++) {
      const report = reportPeriodSeconds(stall);
      expect(report, `stallSeconds ${stall}`).toBeGreaterThanOrEqual(1);
      expect(report).toBeLessThanOrEqual(5);
      expect(2 * report, `stallSeconds ${stall}`).toBeLessThanOrEqual(stall);
    }
    // Production (15 s): a report every 3 s.
    expect(reportPeriodSeconds(15)).toBe(3);
    const args = progressOptions(reportPeriodSeconds(15), "/rec/cam1/.incoming/ffmpeg.progress");
    expect(args[args.indexOf("-stats_period") + 1]).toBe("3");
    // Reports go to the FIFO only: on stderr each would wake pscsd.
    expect(args[args.indexOf("-progress") + 1]).toBe("/rec/cam1/.incoming/ffmpeg.progress");
    expect(args).toContain("-nostats");
  });

  it("lays segments out by UTC hour and names them by their start, which reads back exactly", () => {
    const t = Date.UTC(2026, 10, 25, 3, 45, 12, 250);
    expect(compactUtc(t)).toBe("20261125T034512.250Z");
    expect(segmentPath("cam1", t)).toBe("cam1/2026/11/25/03/20261125T034512.250Z.ts");
    expect(startFromName("20261125T034512.250Z.ts")).toBe(t);
    expect(startFromName("notes.txt")).toBeUndefined();
  });

  it("adds the camera's credentials to a stream URI that has none, escaped, and keeps ones it has", () => {
    expect(rtspUrlWithCredentials("rtsp://10.0.0.5:554/stream", "rec", "p@ss:/w")).toBe(
      "rtsp://rec:p%40ss%3A%2Fw@10.0.0.5:554/stream",
    );
    expect(rtspUrlWithCredentials("rtsp://a:b@10.0.0.5/s", "rec", "x")).toBe("rtsp://a:b@10.0.0.5/s");
  });

  it("writes the concat list with quoted paths and in/out points in each file's own clock", () => {
    const seg = (path: string) => ({ path }) as SegmentRow;
    const list = concatList(
      "/rec",
      { segments: [seg("c/a.ts"), seg("c/it's.ts")], inpointS: 3.5, outpointS: 2 },
      1.4,
      1.4,
    );
    expect(list).toBe("file '/rec/c/a.ts'\ninpoint 4.900\nfile '/rec/c/it'\\''s.ts'\noutpoint 3.400\n");
  });
});
