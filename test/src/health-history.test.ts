import { describe, expect, it } from "vitest";
import type { CameraHealth } from "../../src/health/health.js";
import { HealthHistory } from "../../src/health/history.js";
import type { VolumeStatus } from "../../src/storage/monitor.js";

const camera = (id: string, bytes: number, state = "connected") =>
  ({
    id,
    name: id,
    state,
    since: 0,
    attempts: 0,
    required: false,
    recording: { bytes },
  }) as unknown as CameraHealth;
const volume = (name: string, freeBytes: number, error?: string) =>
  ({ volume: name, freeBytes, ...(error ? { error } : {}) }) as VolumeStatus;

describe("HealthHistory", () => {
  it("keeps the last `capacity` samples in time order, and what each says", () => {
    const h = new HealthHistory(3);
    for (let i = 1; i <= 5; i++)
      h.record(i * 60_000, [camera("a", i * 1000)], [volume("recordings", 100 - i)]);
    h.record(5 * 60_000, [camera("a", 0)], []); // not after the last: ignored
    const all = h.since(0);
    expect(all.map((s) => s.at)).toEqual([180_000, 240_000, 300_000]);
    expect(all.at(-1)).toEqual({
      at: 300_000,
      free: { recordings: 95 },
      cameras: { a: { connected: true, recordedBytes: 5000, viewers: 0 } },
    });
    expect(h.since(240_000).map((s) => s.at)).toEqual([240_000, 300_000]);
  });

  it("leaves out a volume that could not be read rather than charting it as empty", () => {
    const h = new HealthHistory();
    h.record(
      1,
      [camera("a", 0, "offline")],
      [volume("recordings", 0, "EIO: i/o error"), volume("evidence", 7)],
    );
    expect(h.since(0)[0]).toMatchObject({ free: { evidence: 7 }, cameras: { a: { connected: false } } });
  });
});
