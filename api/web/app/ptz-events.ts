import type { PtzEvent } from "../../../src/ptz/events.js";
import { api } from "../api.js";

/**
 * PTZ control events as they happen (taken, released, expired, taken over, a move stopped), from
 * now on: pushed by pscsd over Server-Sent Events, or, where the stream cannot open (no
 * EventSource, refused), polled each second. Returns the stop function.
 */
export function watchPtzEvents(
  onEvent: (e: PtzEvent) => void,
  onMode: (mode: "stream" | "poll") => void,
): () => void {
  let stopPoll: (() => void) | undefined;
  if (typeof EventSource === "undefined") return poll(onEvent, onMode);
  const source = new EventSource("/api/ptz/events");
  source.onopen = () => onMode("stream");
  source.onmessage = (m: MessageEvent<string>) => onEvent(JSON.parse(m.data) as PtzEvent);
  source.onerror = () => {
    // CONNECTING: the browser reconnects by itself (with Last-Event-ID). CLOSED: it gave up.
    if (source.readyState === EventSource.CLOSED && !stopPoll) stopPoll = poll(onEvent, onMode);
  };
  return () => {
    source.close();
    stopPoll?.();
  };
}

const POLL_MS = 1_000;

function poll(onEvent: (e: PtzEvent) => void, onMode: (mode: "stream" | "poll") => void): () => void {
  onMode("poll");
  let after: number | undefined;
  let stopped = false;
  const once = async () => {
    const r = await api<{ events: PtzEvent[] }>(`/api/ptz/events?after=${after ?? 0}`, {
      background: true,
    }).catch(() => ({ events: [] as PtzEvent[] }));
    // The first answer only says where "now" is: what happened before this screen is not news.
    const news = after === undefined ? [] : r.events;
    for (const e of r.events) after = Math.max(after ?? 0, e.id);
    after ??= 0;
    for (const e of news) if (!stopped) onEvent(e);
  };
  void once();
  const t = setInterval(once, POLL_MS);
  return () => {
    stopped = true;
    clearInterval(t);
  };
}
