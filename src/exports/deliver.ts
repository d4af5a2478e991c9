import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PackageDownload } from "./export.js";

/**
 * A package download sent to where it goes (an HTTP answer, a file at the console) with
 * back-pressure: the next chunk of the zip is read only once `out` took the last, so a stalled
 * reader holds pscsd to a chunk or two, not the package. The download is recorded however it ends,
 * with the bytes handed to `out`; the caller decides what its failure means (a client that left is
 * routine, a file that changed is not).
 */
export async function deliver(
  p: PackageDownload,
  out: Writable,
): Promise<{ sent: number; complete: boolean; error?: unknown }> {
  let sent = 0;
  // Counted as the chunks pass to `out` (a listener, not another stream stage to copy through).
  p.stream.on("data", (chunk: Buffer) => {
    sent += chunk.length;
  });
  let error: unknown;
  try {
    await pipeline(p.stream, out);
  } catch (e) {
    error = e;
  }
  const complete = error === undefined;
  await p.finished(sent, complete);
  return complete ? { sent, complete } : { sent, complete, error };
}
