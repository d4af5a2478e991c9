// Browser code for the live latency benchmark, bundled by live.mjs with esbuild into one ES module
// per run (not part of pscsd's UI: it lives with the benchmark). Each page plays one path into a
// <video> and reads the simulator's time code strip from every rendered frame:
// requestVideoFrameCallback gives the frame and when it reaches the glass, the canvas its pixels,
// sim/video/timecode.ts the camera's wall clock at render. Glass to glass = display time − time code.
import Hls from "hls.js";
import { lumaAt } from "../../../dist/sim/video/pixels.js";
import { readTimecode, stripGeometry } from "../../../dist/sim/video/timecode.js";

/** Per-video measurement: every frame the compositor is given, and its time code when readable. */
function meter(video, t0) {
  const s = { t0, firstFrameMs: null, frames: 0, undecodable: 0, samples: [], error: null };
  const canvas = document.createElement("canvas");
  const g = canvas.getContext("2d", { willReadFrequently: true });
  const onFrame = (_now, md) => {
    // Wall clock (the simulator's clock: same machine) when this frame is on the glass, read now
    // rather than from the page's time origin, which a slewing wall clock leaves behind.
    const shownAt = Date.now() + (md.expectedDisplayTime - performance.now());
    if (s.firstFrameMs === null) s.firstFrameMs = md.expectedDisplayTime - t0;
    s.frames++;
    // Only the strip's rows are drawn and read back: a whole frame's readback per frame costs a
    // page of 16 players more main-thread time than the players themselves.
    const { width, height } = md;
    const strip = stripGeometry(width, height);
    const top = Math.max(0, strip.y0 - 2);
    const rows = Math.min(height - top, strip.blockH + 4);
    if (canvas.width !== width || canvas.height !== rows) {
      canvas.width = width;
      canvas.height = rows;
    }
    g.drawImage(video, 0, top, width, rows, 0, 0, width, rows);
    const px = g.getImageData(0, 0, width, rows).data;
    const tc = readTimecode({
      width,
      height,
      lumaAt: (x, y) => lumaAt(px, width, x, y - top),
    });
    if (tc === null) s.undecodable++;
    else s.samples.push([Math.round(shownAt), Math.round((shownAt - tc) * 10) / 10]);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** hls.js tuned for latency (DESIGN.md's figures): one segment behind the edge, catch up at 1.5x. */
function playHls(video, o, s) {
  const hls = new Hls({
    liveSyncDurationCount: 1,
    liveMaxLatencyDurationCount: 2,
    maxLiveSyncPlaybackRate: 1.5,
    enableWorker: true,
  });
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (d.fatal) s.error = `hls.js: ${d.type} ${d.details}`;
  });
  hls.loadSource(o.url);
  hls.attachMedia(video);
  return () => hls.destroy();
}

/** Janus's streaming plugin over its HTTP API: create, attach, watch, answer, start; long-polled. */
async function playJanus(video, o) {
  const tx = () => Math.random().toString(36).slice(2);
  const post = async (path, body) => {
    const r = await fetch(`${o.url}${path}`, {
      method: "POST",
      body: JSON.stringify({ ...body, transaction: tx() }),
    });
    const j = await r.json();
    if (j.janus === "error") throw new Error(`janus: ${j.error.reason}`);
    return j;
  };
  const session = (await post("", { janus: "create" })).data.id;
  const handle = (await post(`/${session}`, { janus: "attach", plugin: "janus.plugin.streaming" })).data.id;
  let open = true;
  const events = [];
  // Long polls keep the session alive and bring the plugin's events (the offer among them).
  (async () => {
    while (open) {
      try {
        const r = await fetch(`${o.url}/${session}?maxev=5&rid=${Date.now()}`);
        const j = await r.json();
        for (const e of Array.isArray(j) ? j : [j]) events.push(e);
      } catch {
        await sleep(200);
      }
    }
  })();
  await post(`/${session}/${handle}`, { janus: "message", body: { request: "watch", id: o.mountpoint } });
  let offer;
  while (!offer) {
    const e = events.shift();
    if (e?.jsep) offer = e.jsep;
    else if (e?.plugindata?.data?.error) throw new Error(`janus: ${e.plugindata.data.error}`);
    else if (!e) await sleep(5);
  }
  const pc = new RTCPeerConnection();
  pc.ontrack = (ev) => {
    video.srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
  };
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  await post(`/${session}/${handle}`, {
    janus: "message",
    body: { request: "start" },
    jsep: { type: "answer", sdp: pc.localDescription.sdp },
  });
  return () => {
    open = false;
    pc.close();
    fetch(`${o.url}/${session}`, {
      method: "POST",
      body: JSON.stringify({ janus: "destroy", transaction: tx() }),
    });
  };
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}

/**
 * Our WebRTC path by its contract alone (for a build without WebRtcPlayer): a recvonly offer with
 * every candidate gathered, POSTed on pscsd's origin, its answer applied.
 */
async function webrtcByContract(video, o) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (ev) => {
    video.srcObject = new MediaStream([ev.track]);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const headers = { "content-type": "application/json", "x-csrf-token": o.csrfToken };
  const r = await fetch(`/api/live/cameras/${o.camera}/webrtc`, {
    method: "POST",
    headers,
    body: JSON.stringify({ offer: pc.localDescription.sdp }),
  });
  if (!r.ok) throw new Error(`offer refused: ${r.status} ${await r.text()}`);
  const { session, answer } = await r.json();
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  return () => {
    pc.close();
    fetch(`/api/live/sessions/${session}`, { method: "DELETE", headers });
  };
}

/**
 * Our MSE path by its contract alone (for a build without MsePlayer): the init message, the init
 * segment and one fragment per frame appended as they come; kept at the live edge as DESIGN.md
 * says (one seek to the buffered end, then playbackRate = min(1.5, 1 + lag − 0.1)).
 */
function mseByContract(video, o) {
  const ws = new WebSocket(`ws://${location.host}/api/live/cameras/${o.camera}/mse`);
  ws.binaryType = "arraybuffer";
  const queue = [];
  let sb = null;
  let codec = null;
  let seeked = false;
  const pump = () => {
    if (!sb || sb.updating || queue.length === 0) return;
    sb.appendBuffer(queue.shift());
  };
  const keepLive = () => {
    const b = video.buffered;
    if (b.length === 0) return;
    const end = b.end(b.length - 1);
    // Once, and whenever playback is not in the last buffered range (a gap in the stream's times
    // left it stuck at the end of an earlier one): to the live edge.
    if (!seeked || video.currentTime < b.start(b.length - 1)) {
      video.currentTime = Math.max(b.start(b.length - 1), end - 0.05);
      seeked = true;
      return;
    }
    const lag = end - video.currentTime;
    video.playbackRate = Math.max(0.9, Math.min(1.5, 1 + lag - 0.1));
    if (!sb.updating && video.currentTime - b.start(0) > 20) sb.remove(0, video.currentTime - 10);
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== "string") {
      queue.push(ev.data);
      pump();
      return;
    }
    const m = JSON.parse(ev.data);
    if (m.type !== "init") return;
    const type = `video/mp4; codecs="${m.codec}"`;
    if (sb && m.codec !== codec) sb.changeType(type);
    codec = m.codec;
    if (sb) return;
    const source = new MediaSource();
    video.src = URL.createObjectURL(source);
    source.addEventListener(
      "sourceopen",
      () => {
        sb = source.addSourceBuffer(type);
        sb.addEventListener("updateend", () => {
          keepLive();
          pump();
        });
        pump();
      },
      { once: true },
    );
  };
  return () => ws.close();
}

/** Our paths: the player classes pscsd's UI uses, loaded from pscsd's own origin. */
async function playOurs(video, o) {
  const mod = await import(o.module);
  const Player = mod[o.className];
  const player = new Player(video, { camera: o.camera, csrfToken: o.csrfToken });
  await player.start?.();
  return () => (player.stop ?? player.close)?.call(player);
}

const PLAY = {
  hls: playHls,
  janus: playJanus,
  mse: (v, o, s) => (o.module ? playOurs(v, o, s) : mseByContract(v, o, s)),
  webrtc: (v, o, s) => (o.module ? playOurs(v, o, s) : webrtcByContract(v, o, s)),
};

/** Starts `count` videos of one path in this page; window.bench.stats has one meter per video. */
export async function run(path, count, o) {
  window.bench = { stats: [], stops: [] };
  for (let i = 0; i < count; i++) {
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    const s = meter(video, performance.now());
    window.bench.stats.push(s);
    try {
      window.bench.stops.push(await PLAY[path](video, o, s));
      video.play().catch(() => {});
    } catch (e) {
      s.error = String(e?.message ?? e);
    }
  }
}
