import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RtspSession } from "../../recorder/live/rtsp-client.js";
import type { AccessUnit } from "../../src/live/feed.js";
import { LIVE_PEOPLE, type LiveDaemon, startLiveDaemon } from "../helpers/live.js";
import { type Client, client, login, openLocalCatalog, problemBody } from "../helpers/pscsd.js";
import { recvonlyOffer, type WeriftViewer, weriftViewer } from "../helpers/webrtc.js";

// WebRTC live view through a real pscsd: werift as the browser, the simulator as the camera, the
// audit log read back through the API.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let live: LiveDaemon;
let daemon: LiveDaemon["daemon"];
let disp1: Client;
let disp2: Client;
let rec1: Client;
let aud1: Client;
let adm1: Client;
let cam: string;

interface Entry {
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: string | null;
}
async function audit(action: string): Promise<(Entry & { d: Record<string, unknown> })[]> {
  const res = await aud1.request(
    "GET",
    `/api/audit?action=${encodeURIComponent(action)}&order=desc&limit=50`,
  );
  const { entries } = (await res.json()) as { entries: Entry[] };
  return entries.map((e) => ({ ...e, d: JSON.parse(e.details ?? "{}") as Record<string, unknown> }));
}
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms`);
    await sleep(50);
  }
}

beforeAll(async () => {
  live = await startLiveDaemon(mkdtempSync(join(tmpdir(), "pscs-webrtc-")), {
    users: { ...LIVE_PEOPLE, aud1: ["auditor"] },
    fps: 15,
  });
  daemon = live.daemon;
  cam = live.camera;
  [disp1, disp2, rec1, aud1, adm1] = (await Promise.all(
    ["disp1", "disp2", "rec1", "aud1", "adm1"].map((u) => login(daemon.url, u)),
  )) as [Client, Client, Client, Client, Client];
}, 30_000);
afterAll(async () => {
  await live?.stop();
});

describe("WebRTC live view", () => {
  it("a werift viewer receives the camera's access units, NAL for NAL; open and close audited with bytes", async () => {
    // What the camera sends, through a session of the test's own (the simulator's media is shared).
    const sent = new Map<number, AccessUnit>();
    const reference = await RtspSession.open(
      { camera: cam, url: live.rtsp, user: "recorder", password: live.password },
      (au) => sent.set(au.rtpTime, au),
    );
    const asked = Date.now();
    const v = await weriftViewer(disp1, cam);
    try {
      const answered = Date.now() - asked;
      await v.connected;
      const connected = Date.now() - asked;
      await until("a first access unit", () => v.units.length >= 1);
      console.log(
        `werift viewer, ms after the offer was sent: answered ${answered}, connected ${connected}, first picture ${Date.now() - asked}`,
      );
      // The group a viewer starts with is sent at times of its own (the next test): 30 live ones.
      await until(
        "30 access units at the camera's times",
        () => v.units.filter((au) => sent.has(au.rtpTime)).length >= 30,
      );
    } finally {
      await reference.stop();
    }
    const [first] = v.units;
    expect(first?.keyframe).toBe(true);
    expect(first?.nals.map((n) => (n[0] ?? 0) & 0x1f).slice(0, 2)).toEqual([7, 8]);
    const matched = v.units.filter((au) => sent.has(au.rtpTime));
    for (const au of matched) {
      const cameraSent = sent.get(au.rtpTime) as AccessUnit;
      // The camera sends SPS/PPS before only some IDRs; both sides add the latest in front of each.
      expect(au.nals.map((n) => n.toString("hex"))).toEqual(cameraSent.nals.map((n) => n.toString("hex")));
    }

    const opened = await audit("video.live.open");
    expect(opened[0]).toMatchObject({ actor: "user:disp1", target: `camera:${cam}`, outcome: "success" });
    expect(opened[0]?.d).toMatchObject({ session: v.session, transport: "webrtc" });
    const del = await disp1.request("DELETE", `/api/live/sessions/${v.session}`);
    expect(del.status).toBe(204);
    const closed = await until("the close entry", async () =>
      (await audit("video.live.close")).find((e) => e.d.session === v.session && e.outcome === "success"),
    );
    expect(closed).toMatchObject({ actor: "user:disp1", target: `camera:${cam}` });
    expect(closed.d).toMatchObject({ transport: "webrtc", reason: "closed by the viewer" });
    const bytes = v.units.reduce((n, au) => n + au.bytes, 0);
    expect(closed.d.bytes as number).toBeGreaterThanOrEqual(bytes);
    expect(closed.d.frames as number).toBeGreaterThanOrEqual(v.units.length);
    await v.close();
    // Ended a second time: it is gone.
    const again = await disp1.request("DELETE", `/api/live/sessions/${v.session}`);
    expect(again.status).toBe(404);
  }, 30_000);

  it("a viewer joining between key frames starts at once with the group since the last one, its times drawn up to the newest's", async () => {
    const sent: AccessUnit[] = [];
    const reference = await RtspSession.open(
      { camera: cam, url: live.rtsp, user: "recorder", password: live.password },
      (au) => sent.push(au),
    );
    let v: WeriftViewer | undefined;
    try {
      // A fifth of a second after a key frame (1 s groups): the viewer connects inside the group.
      await until("a key frame", () => sent.some((au) => au.keyframe));
      await sleep(200);
      v = await weriftViewer(disp1, cam);
      await v.connected;
      const viewer = v;
      await until("20 pictures", () => viewer.units.length >= 20);
    } finally {
      await reference.stop();
      await v?.close();
    }
    const slices = (au: AccessUnit) =>
      au.nals
        .filter((n) => [1, 5].includes((n[0] ?? 0) & 0x1f))
        .map((n) => n.toString("hex"))
        .join();
    const units = v.units.slice(0, 20);
    const at = units.map((au) => sent.findIndex((c) => slices(c) === slices(au)));
    expect(units[0]?.keyframe).toBe(true);
    // The camera's pictures in order, none left out: each decodes from the one before.
    expect(at.map((x, i) => x - (at[0] ?? 0) - i)).toEqual(at.map(() => 0));
    expect(at[0]).toBeGreaterThanOrEqual(0);
    // Before the fix the first picture waited for the next key frame: the group came at once,
    // 1 ms apart, its newest picture at the camera's own time, and the live ones after it.
    const burst = units.findIndex((u, i) => i > 0 && u.rtpTime - (units[i - 1]?.rtpTime ?? 0) !== 90);
    expect(burst).toBeGreaterThanOrEqual(2);
    expect(units[burst - 1]?.rtpTime).toBe(sent[at[burst - 1] ?? -1]?.rtpTime);
    expect(units[burst]?.rtpTime).toBe(sent[at[burst] ?? -1]?.rtpTime);
  }, 30_000);

  it("refuses: no sign-in, no video.live, an unknown camera, an unusable offer; each audited", async () => {
    const { pc, offer } = await recvonlyOffer();
    try {
      const path = `/api/live/cameras/${cam}/webrtc`;
      expect((await client(daemon.url).request("POST", path, { offer })).status).toBe(401);

      expect((await rec1.request("POST", path, { offer })).status).toBe(403);
      const denied = await audit("http.denied");
      expect(denied[0]).toMatchObject({ actor: "user:rec1", target: "route:liveWebRtc", outcome: "denied" });

      const unknown = await disp2.request("POST", "/api/live/cameras/nope/webrtc", { offer });
      expect(unknown.status).toBe(404);
      expect((await problemBody<{ detail: string }>(unknown)).detail).toMatch(/no camera 'nope'/);

      const bad = async (sdp: string, why: RegExp) => {
        const res = await disp2.request("POST", path, { offer: sdp });
        expect(res.status).toBe(400);
        const p = await problemBody<{ detail: string; errors: { field: string }[] }>(res);
        expect(p.errors[0]?.field).toBe("body.offer");
        expect(p.detail).toMatch(why);
      };
      await bad("hello", /not an SDP line/);
      await bad(offer.replace(/a=recvonly/, "a=sendonly"), /must receive/);
      await bad(offer.replace(/H264\/90000/gi, "VP8/90000"), /no H\.264/);
      await bad(offer.replace(/m=video/, "m=audio"), /must be video/);
      await bad(offer.replace(/a=fingerprint:[^\r\n]*\r\n/, ""), /a=fingerprint/);
      const tooBig = await disp2.request("POST", path, { offer: `${offer}${"a=x\r\n".repeat(8000)}` });
      expect(tooBig.status).toBe(400);
      expect((await problemBody<{ errors: { field: string }[] }>(tooBig)).errors[0]?.field).toBe(
        "body.offer",
      );

      const refusals = (await audit("video.live.open")).filter((e) => e.outcome === "denied");
      expect(refusals.map((e) => e.d.reason)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/no camera 'nope'/),
          expect.stringMatching(/must receive/),
          expect.stringMatching(/no H\.264/),
          expect.stringMatching(/a=fingerprint/),
        ]),
      );
      expect(refusals.every((e) => e.actor === "user:disp2")).toBe(true);
    } finally {
      await pc.close();
    }
  }, 30_000);

  it("only its viewer ends a session; signing out ends the sign-in's sessions", async () => {
    const v = await weriftViewer(disp1, cam);
    try {
      await v.connected;
      const other = await disp2.request("DELETE", `/api/live/sessions/${v.session}`);
      expect(other.status).toBe(403);
      expect((await problemBody<{ errors: { field: string }[] }>(other)).errors[0]?.field).toBe(
        "path.session",
      );
      const refused = (await audit("video.live.close")).find((e) => e.outcome === "denied");
      expect(refused).toMatchObject({ actor: "user:disp2", target: `live-session:${v.session}` });
      const unknown = await disp2.request(
        "DELETE",
        "/api/live/sessions/00000000-0000-4000-8000-000000000000",
      );
      expect(unknown.status).toBe(404);
      await until("frames", () => v.units.length >= 3);

      expect((await disp1.request("DELETE", "/api/session")).status).toBe(204);
      const closed = await until("the close entry", async () =>
        (await audit("video.live.close")).find((e) => e.d.session === v.session && e.outcome === "success"),
      );
      expect(closed.d.reason).toBe("signed out");
      // The peer connection is closed by pscsd: media stops.
      await sleep(500);
      const n = v.units.length;
      await sleep(700);
      expect(v.units.length).toBe(n);
    } finally {
      await v.close();
      disp1 = await login(daemon.url, "disp1");
    }
  }, 30_000);

  it("a viewer whose peer goes away is ended and audited with its reason", async () => {
    const v = await weriftViewer(disp2, cam);
    await v.connected;
    await until("frames", () => v.units.length >= 3);
    await v.close();
    const closed = await until(
      "the close entry",
      async () =>
        (await audit("video.live.close")).find((e) => e.d.session === v.session && e.outcome === "success"),
      15_000,
    );
    expect(closed.d.reason).toMatch(/peer silent/);
    expect(closed.d.bytes as number).toBeGreaterThan(0);
  }, 30_000);

  it("a viewer is ended at the next sign-in check (1 s) once an admin resets the password or takes video.live away, each audited with why", async () => {
    const [disp3, disp4] = await Promise.all([login(daemon.url, "disp3"), login(daemon.url, "disp4")]);
    const revoked = await weriftViewer(disp3, cam);
    const withdrawn = await weriftViewer(disp4, cam);
    try {
      await Promise.all([revoked.connected, withdrawn.connected]);
      await until("frames", () => revoked.units.length >= 3 && withdrawn.units.length >= 3);
      const changed = Date.now();
      const reset = await adm1.request("POST", "/api/users/disp3/password", { password: "Temporary-Pass2!" });
      expect(reset.status).toBe(204);
      expect((await adm1.request("PATCH", "/api/users/disp4", { roles: ["records"] })).status).toBe(200);
      const closeOf = (v: WeriftViewer) =>
        until("the close entry", async () =>
          (await audit("video.live.close")).find((e) => e.d.session === v.session && e.outcome === "success"),
        );
      expect((await closeOf(revoked)).d.reason).toBe("session ended");
      expect((await closeOf(withdrawn)).d.reason).toBe("permission withdrawn");
      expect(Date.now() - changed).toBeLessThan(3_000);
      // pscsd closed both peers: media stops.
      await sleep(300);
      const n = [revoked.units.length, withdrawn.units.length];
      await sleep(500);
      expect([revoked.units.length, withdrawn.units.length]).toEqual(n);
    } finally {
      await Promise.all([revoked.close(), withdrawn.close()]);
    }
  }, 30_000);

  it("8 viewers of one camera: one live camera session beside the recorder's, every viewer fed", async () => {
    const viewers: WeriftViewer[] = [];
    for (let i = 0; i < 8; i++) viewers.push(await weriftViewer(i % 2 ? disp1 : disp2, cam));
    try {
      await Promise.all(viewers.map((v) => v.connected));
      await until("frames at every viewer", () => viewers.every((v) => v.units.length >= 10));
      const r = await fetch(`${live.sim.controlUrl}/cameras/${cam}/rtsp-clients`);
      expect(((await r.json()) as { sessions: number }).sessions).toBe(2);
    } finally {
      await Promise.all(viewers.map((v) => disp1.request("DELETE", `/api/live/sessions/${v.session}`)));
      await Promise.all(viewers.map((v) => disp2.request("DELETE", `/api/live/sessions/${v.session}`)));
      await Promise.all(viewers.map((v) => v.close()));
    }
  }, 30_000);

  it("pscsd stopping ends every viewer, each audited with its reason and bytes", async () => {
    const v = await weriftViewer(disp2, cam);
    await v.connected;
    await until("frames", () => v.units.length >= 3);
    await live.stop();
    await v.close();
    const local = openLocalCatalog(live.configFile);
    try {
      const entries = await local.audit.list({ action: "video.live.close", actor: "user:disp2" });
      const closed = entries.map((e) => JSON.parse(e.details ?? "{}") as Record<string, unknown>);
      expect(closed.find((d) => d.session === v.session)).toMatchObject({ reason: "pscsd stopping" });
      expect(closed.find((d) => d.session === v.session)?.bytes as number).toBeGreaterThan(0);
    } finally {
      local.close();
    }
  }, 30_000);
});
