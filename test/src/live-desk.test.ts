import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveDesk, type Withdrawal } from "../../src/live/desk.js";
import type { LiveFeed, LiveSubscription } from "../../src/live/feed.js";
import { createLogger } from "../../src/log/logger.js";
import { addUsers, authService, CONSOLE, GOOD_PASSWORD } from "../helpers/auth.js";

// The desk's re-check of each watching sign-in, against the real AuthService on a real catalog with
// a clock the test moves: idle expiry (never extended by the check itself), a role without
// video.live and a disabled account end the session with their reason; the timer exists only while someone watches. The transports'
// side of it (4001/4003, the peer closed) runs on a real pscsd in test/live/{mse,webrtc}.test.ts.
const CHECK_MS = 1_000;
const MINUTE = 60_000;

/** A camera that sends nothing: what is under test is who may go on watching, not pictures. */
const silentFeed: LiveFeed = {
  subscribe(): LiveSubscription {
    let closed!: (v: undefined) => void;
    const ended = new Promise<undefined>((r) => {
      closed = r;
    });
    return {
      next: () => ended,
      close: () => closed(undefined),
      delivered: 0,
      dropped: 0,
      async *[Symbol.asyncIterator]() {},
    };
  },
};

let now: { t: number };
let stack: ReturnType<typeof authService>;
let desk: LiveDesk;

beforeEach(async () => {
  // Only the desk's interval is faked: the directory's units of work keep the real event loop.
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
  now = { t: Date.UTC(2026, 11, 1, 8) };
  stack = authService(now);
  await addUsers(stack.auth, { disp1: ["dispatcher"], disp2: ["dispatcher"], adm1: ["admin"] });
  desk = new LiveDesk({
    feed: silentFeed,
    cameras: new Set(["cam1"]),
    audit: stack.audit,
    log: createLogger({ name: "test", level: "silent" }),
    maxPerUser: 4,
    signIns: stack.auth,
    sessionCheckMs: CHECK_MS,
    now: () => now.t,
  });
});
afterEach(async () => {
  await desk.stop();
  stack.db.close();
  vi.useRealTimers();
});

async function watching(username = "disp1") {
  const { principal } = await stack.auth.login(username, GOOD_PASSWORD, "10.0.0.5");
  const by = { actor: principal.actor, role: "dispatcher", client: "10.0.0.5" };
  const watch = await desk.open("cam1", "mse", by, principal.session.idHash);
  const withdrawn: Withdrawal[] = [];
  watch.onWithdrawn((w) => withdrawn.push(w));
  return { watch, withdrawn };
}

async function closeReasons(): Promise<unknown[]> {
  const entries = await stack.audit.list({ action: "video.live.close" });
  return entries.map((e) => (JSON.parse(e.details || "{}") as { reason?: string }).reason);
}

describe("the live desk's sign-in re-check", () => {
  it("ends a watch whose sign-in went idle, the check itself never counting as presence; the timer only while someone watches", async () => {
    expect(vi.getTimerCount()).toBe(0);
    const { withdrawn } = await watching();
    expect(vi.getTimerCount()).toBe(1);
    // 29 minutes of checks: still standing, and none of them moves the idle clock on.
    for (let m = 1; m <= 29; m++) {
      now.t += MINUTE;
      await vi.advanceTimersByTimeAsync(CHECK_MS);
    }
    expect(withdrawn).toEqual([]);
    expect(desk.openSessions()).toHaveLength(1);
    // 30 minutes after the sign-in (idle timeout 30 min): ended at the next check.
    now.t += MINUTE;
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    await vi.waitFor(async () => expect(await closeReasons()).toEqual(["session ended"]));
    expect(withdrawn).toEqual(["signed-out"]);
    expect(desk.openSessions()).toEqual([]);
    const expired = await stack.audit.list({ action: "auth.session.expired" });
    expect(expired.map((e) => JSON.parse(e.details || "{}"))).toEqual([{ reason: "idle" }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ends a watch whose person lost video.live, then one whose account is disabled, each with why", async () => {
    const demoted = await watching("disp1");
    const disabled = await watching("disp2");
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    expect([demoted.withdrawn, disabled.withdrawn]).toEqual([[], []]);
    await stack.auth.updateUser("disp1", { roles: ["records"] }, CONSOLE);
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    await vi.waitFor(async () => expect(await closeReasons()).toEqual(["permission withdrawn"]));
    expect([demoted.withdrawn, disabled.withdrawn]).toEqual([["forbidden"], []]);
    await stack.auth.updateUser("disp2", { disabled: true }, CONSOLE);
    await vi.advanceTimersByTimeAsync(CHECK_MS);
    await vi.waitFor(async () => expect(await closeReasons()).toContain("session ended"));
    expect(disabled.withdrawn).toEqual(["signed-out"]);
    expect(desk.openSessions()).toEqual([]);
  });
});
