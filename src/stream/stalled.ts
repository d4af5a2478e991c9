import type { Writable } from "node:stream";

/**
 * A client that stops reading: pscsd stops sending to it rather than hold a socket, a file and
 * whatever feeds them open for as long as it stays connected (playback, package and segment
 * downloads all stop through this one watch).
 * Invariant: while the client takes what is written, no timer runs; while it does not, exactly one
 * does, and `stalled` is called once it has run `stalledMs`.
 */
export function watchStalled(out: Writable, stalledMs: number, stalled: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const clear = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const arm = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      if (!out.destroyed && !out.writableFinished) stalled();
    }, stalledMs);
  };
  // Whoever writes (our own copy, stream.pipeline, express's sendFile) says by write()'s answer that
  // the client's buffers are full: watched here rather than in each of them.
  const write = out.write;
  out.write = function (this: Writable, ...args: Parameters<Writable["write"]>) {
    const taken = write.apply(this, args);
    if (!taken) arm();
    return taken;
  } as Writable["write"];
  // The last bytes may fit the buffers and still never be read: from end() until finished.
  const end = out.end;
  out.end = function (this: Writable, ...args: Parameters<Writable["end"]>) {
    const r = end.apply(this, args);
    if (!out.writableFinished) arm();
    return r;
  } as Writable["end"];
  out.on("drain", clear);
  out.once("finish", clear);
  out.once("close", clear);
}
