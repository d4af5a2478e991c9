import { apiResponse } from "../api.js";

/**
 * A playback (`/api/cameras/{camera}/playback`: fragmented MP4, streamed) into a `<video>` through
 * Media Source Extensions. Chromium cannot seek a progressive stream served without byte ranges, so
 * frame steps and scrubbing back need what has arrived held in a SourceBuffer; the stream is read
 * only as fast as it is appended (pscsd stops a playback nobody reads). Without MSE: the plain src.
 */
export function playInto(video: HTMLVideoElement, url: string, onError: (e: unknown) => void): () => void {
  if (typeof MediaSource === "undefined") {
    video.src = url;
    void video.play().catch(() => undefined);
    return () => video.removeAttribute("src");
  }
  const abort = new AbortController();
  const source = new MediaSource();
  const objectUrl = URL.createObjectURL(source);
  video.src = objectUrl;
  feed(video, source, url, abort.signal).catch((e: unknown) => {
    if (!abort.signal.aborted) onError(e);
  });
  return () => {
    abort.abort();
    URL.revokeObjectURL(objectUrl);
  };
}

/** Holds at most this much before what plays when the SourceBuffer is full (seconds). */
const KEEP_BEHIND_S = 60;

async function feed(video: HTMLVideoElement, source: MediaSource, url: string, signal: AbortSignal) {
  await new Promise((open) => source.addEventListener("sourceopen", open, { once: true }));
  const res = await apiResponse(url, { signal });
  if (!res.body) throw new Error("the playback answered without a body");
  const reader = res.body.getReader();
  let buffer: SourceBuffer | undefined;
  let head = new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done || signal.aborted) break;
    let chunk = value;
    if (!buffer) {
      // The codec (profile and level) is the init segment's: known once its avcC box has arrived.
      head = concat(head, value);
      const codec = avcCodec(head);
      if (!codec) {
        if (head.length > 1 << 20) throw new Error("the playback did not begin with an H.264 init segment");
        continue;
      }
      buffer = source.addSourceBuffer(`video/mp4; codecs="${codec}"`);
      chunk = head;
      void video.play().catch(() => undefined);
    }
    await append(video, buffer, chunk, signal);
  }
  if (buffer && !signal.aborted && source.readyState === "open") source.endOfStream();
}

async function append(video: HTMLVideoElement, b: SourceBuffer, data: Uint8Array, signal: AbortSignal) {
  while (!signal.aborted) {
    try {
      b.appendBuffer(data as Uint8Array<ArrayBuffer>);
      return await updated(b);
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "QuotaExceededError")) throw e;
      // Full: let go of what played long ago, else wait for the viewer to move on.
      const behind = video.currentTime - KEEP_BEHIND_S;
      if (b.buffered.length && behind > b.buffered.start(0)) {
        b.remove(0, behind);
        await updated(b);
      } else await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

function updated(b: SourceBuffer): Promise<void> {
  return new Promise((resolve, reject) => {
    b.addEventListener("updateend", () => resolve(), { once: true });
    b.addEventListener("error", () => reject(new Error("the browser could not decode the playback")), {
      once: true,
    });
  });
}

/** `avc1.PPCCLL` from the first avcC box in `bytes` (profile, constraints, level), once it is all there. */
export function avcCodec(bytes: Uint8Array): string | undefined {
  for (let i = 0; i + 8 <= bytes.length; i++) {
    if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
      const hex = (b: number | undefined) => (b ?? 0).toString(16).padStart(2, "0");
      return `avc1.${hex(bytes[i + 5])}${hex(bytes[i + 6])}${hex(bytes[i + 7])}`;
    }
  }
  return undefined;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
