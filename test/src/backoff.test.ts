import { describe, expect, it } from "vitest";
import { backoffDelay, sleep } from "../../src/retry/backoff.js";

describe("backoff", () => {
  const policy = { baseMs: 100, capMs: 5_000 };
  it("grows exponentially up to the cap, with jitter below the ceiling", () => {
    expect(backoffDelay(policy, 0, () => 0.999)).toBe(99);
    expect(backoffDelay(policy, 3, () => 0.999)).toBe(799);
    expect(backoffDelay(policy, 20, () => 0.999)).toBe(4995);
    expect(backoffDelay(policy, 20, () => 0.5)).toBe(2500);
    // never a busy loop
    expect(backoffDelay(policy, 5, () => 0)).toBe(50);
  });
  it("with equal jitter, never waits less than half the ceiling, so repeated failures slow down for sure", () => {
    const equal = { ...policy, jitter: "equal" as const };
    expect(backoffDelay(equal, 0, () => 0)).toBe(50);
    expect(backoffDelay(equal, 3, () => 0)).toBe(400);
    expect(backoffDelay(equal, 3, () => 0.999)).toBe(799);
    expect(backoffDelay(equal, 20, () => 0)).toBe(2500);
    expect(backoffDelay(equal, 20, () => 0.999)).toBe(4997);
  });
  it("sleep is cut short by abort", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleep(10_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
