import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { watchStalled } from "../stream/stalled.js";
import type { PackageDownload } from "./export.js";

/**
 * A package download sent to where it goes (an HTTP answer, a file at the console) with
 * back-pressure: the next chunk of the zip is read only once `out` took the last, so a stalled
 * reader holds pscsd to a chunk or two, not the package. Given `stalledMs` (an HTTP client), a
 * reader that takes nothing for that long is cut off (`stalled`), so it holds the socket and the
 * package's files no longer. The download is recorded however it ends, with the bytes handed to
 * `out`; the caller decides what its failure means (a client that left is routine, a file that
 * changed is not).
 */
export async function deliver(
  p: PackageDownload,
  out: Writable,
  stalledMs?: number,
): Promise<{ sent: number; complete: boolean; stalled?: true; error?: unknown }> {
  let sent = 0;
  // Counted as the chunks pass to `out` (a listener, not another stream stage to copy through).
  p.stream.on("data", (chunk: Buffer) => {
    sent += chunk.length;
  });
  let stalled = false;
  if (stalledMs !== undefined)
    watchStalled(out, stalledMs, () => {
      stalled = true;
      out.destroy();
    });
  let error: unknown;
  try {
    await pipeline(p.stream, out);
  } catch (e) {
    error = e;
  }
  const complete = error === undefined;
  await p.finished(sent, complete, stalled ? "stalled" : undefined);
  if (complete) return { sent, complete };
  return stalled ? { sent, complete, stalled, error } : { sent, complete, error };
}
