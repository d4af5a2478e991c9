import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { CameraRecorder } from "../../recorder/camera-recorder.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { Gaps } from "../../src/catalog/footage/gaps.js";
import { Segments } from "../../src/catalog/footage/segments.js";
import { createLogger } from "../../src/log/logger.js";

/**
 * A paused camera recorder on a real catalog: it waits to be woken (the pause ending), not on a beat
 * of its own, since each beat is a wake-up of pscsd per camera (BENCHMARKS.md).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a paused camera recorder", () => {
  it("does not look again until woken, and goes on at once when woken after the pause ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pscs-pause-"));
    const db = openCatalog(join(dir, "catalog.db"));
    let pause: string | undefined = "recording stopped: below the floor";
    let looks = 0;
    let urlAsked = 0;
    const camera = new CameraRecorder({
      camera: "cam1",
      root: join(dir, "rec"),
      runDir: dir,
      recording: {
        segmentSeconds: 60,
        stallSeconds: 15,
        ffmpeg: "ffmpeg",
        ffprobe: "ffprobe",
        retry: { baseSeconds: 0.5, capSeconds: 30 },
      },
      store: new Segments(db),
      gaps: new Gaps(db),
      log: createLogger({ name: "t", destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
      paused: () => {
        looks++;
        return pause;
      },
      streamUrl: () => {
        urlAsked++;
        return undefined;
      },
      cameraError: () => "not there",
      refreshStreamUrl: async () => {},
    });
    camera.start();
    try {
      await sleep(2_500);
      expect(camera.status().state).toBe("paused");
      expect(looks, "pause checks in 2.5 s").toBe(1);
      expect(urlAsked).toBe(0);

      pause = undefined;
      const wokenAt = Date.now();
      camera.wake();
      for (let i = 0; i < 40 && urlAsked === 0; i++) await sleep(25);
      expect(urlAsked).toBe(1);
      expect(Date.now() - wokenAt).toBeLessThan(500);
      expect(camera.status().state).toBe("offline");
    } finally {
      await camera.stop();
      db.close();
    }
  });
});
