import { describe, expect, it } from "vitest";
import type { PtzPosition } from "../../src/cameras/ptz.js";
import { ViewPositions } from "../../src/ptz/view-positions.js";

/** A camera read by hand: each GetStatus waits until the test answers it. */
function camera() {
  const asked: { camera: string; answer: (p: PtzPosition | Error) => void }[] = [];
  const read = (camera: string) =>
    new Promise<PtzPosition>((resolve, reject) => {
      asked.push({ camera, answer: (p) => (p instanceof Error ? reject(p) : resolve(p)) });
    });
  return { asked, read };
}

const at = (pan: number): PtzPosition => ({ pan, tilt: 0, zoom: 0 });

describe("view positions", () => {
  it("asks each camera once however many ask meanwhile, and hands the answer out while fresh", async () => {
    const cam = camera();
    let now = 1_000;
    const views = new ViewPositions(cam.read, 250, () => now);
    const waiting = Array.from({ length: 20 }, () => views.of("cam1"));
    const other = views.of("cam2");
    expect(cam.asked.map((a) => a.camera)).toEqual(["cam1", "cam2"]);
    cam.asked[0]?.answer(at(0.1));
    cam.asked[1]?.answer(at(0.9));
    expect(await Promise.all(waiting)).toEqual(Array(20).fill(at(0.1)));
    expect(await other).toEqual(at(0.9));

    now += 249;
    expect(await views.of("cam1")).toEqual(at(0.1));
    expect(cam.asked).toHaveLength(2);
    now += 1;
    const next = views.of("cam1");
    expect(cam.asked).toHaveLength(3);
    cam.asked[2]?.answer(at(0.2));
    expect(await next).toEqual(at(0.2));
  });

  it("reads a failed or missing answer as unknown, and asks again once that is stale", async () => {
    const cam = camera();
    let now = 0;
    const views = new ViewPositions(cam.read, 100, () => now);
    const failed = views.of("cam1");
    cam.asked[0]?.answer(new Error("ONVIF timeout"));
    expect(await failed).toBeUndefined();
    now += 100;
    const again = views.of("cam1");
    expect(cam.asked).toHaveLength(2);
    cam.asked[1]?.answer(at(-0.5));
    expect(await again).toEqual(at(-0.5));

    const noPtz = new ViewPositions(
      () => undefined,
      100,
      () => now,
    );
    expect(await noPtz.of("fixed")).toBeUndefined();
  });

  it("never has two reads of one camera in flight, even when the camera is slower than the freshness", async () => {
    const cam = camera();
    let now = 0;
    const views = new ViewPositions(cam.read, 50, () => now);
    const first = views.of("cam1");
    now += 10_000;
    const meanwhile = views.of("cam1");
    expect(cam.asked).toHaveLength(1);
    cam.asked[0]?.answer(at(0.3));
    expect(await first).toEqual(at(0.3));
    expect(await meanwhile).toEqual(at(0.3));
  });
});
