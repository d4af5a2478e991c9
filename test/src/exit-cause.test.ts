import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exitCause, StderrErrors } from "../../recorder/exit-cause.js";
import { inputOptions, outputOptions, progressOptions } from "../../recorder/ffmpeg-args.js";
import { FfmpegProcess, ffmpegArgs } from "../../recorder/ffmpeg-process.js";
import { freePort } from "../helpers/ports.js";

/**
 * The cause of a failed run is ffmpeg's error, not its first or last stderr line, and never the
 * camera's password: real ffmpeg, run with the recorder's own arguments against real sockets.
 */
const SECRET = "Sekr1t-Cam-Pw";
const dir = mkdtempSync(join(tmpdir(), "pscs-exit-cause-"));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A TCP server on loopback answering each RTSP request with `reply(method, cseq)` (or nothing). */
async function rtspServer(reply: (method: string, cseq: string) => string | undefined): Promise<number> {
  const port = await freePort();
  const srv = createServer((sock) => {
    sock.on("error", () => {}); // ffmpeg hangs up as it likes
    sock.on("data", (d) => {
      const text = d.toString();
      const out = reply(text.split(" ")[0] ?? "", /CSeq: *(\d+)/i.exec(text)?.[1] ?? "1");
      if (out === undefined) sock.destroy();
      else sock.write(out);
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(port, "127.0.0.1", r));
  return port;
}

/** One ffmpeg run as the recorder makes it; resolves with the cause the recorder would record. */
function causeOf(url: string): Promise<{ cause: string; first: string | undefined }> {
  return new Promise((resolve) => {
    const errors = new StderrErrors();
    let first: string | undefined;
    new FfmpegProcess(
      "ffmpeg",
      ffmpegArgs(
        url,
        [...inputOptions(), ...progressOptions(1, join(dir, "progress"))],
        outputOptions({ rtspUrl: url, segmentSeconds: 4, outputPattern: "" }),
        join(dir, "out-%06d.ts"),
      ),
      {
        stdoutLine: () => {},
        stderrLine: (line: string) => {
          if (!/^(ffmpeg version| )/.test(line)) first ??= line;
          errors.push(line);
        },
        ended: (err) => resolve({ cause: exitCause(errors, err), first }),
      },
    );
  });
}

const rtspUrl = (port: number, path = "/stream") => `rtsp://admin:${SECRET}@127.0.0.1:${port}${path}`;
const ok = (cseq: string) =>
  `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n`;

describe("ffmpeg exit cause", () => {
  it("names a refused connection, not ffmpeg's first stderr line, and carries no password", async () => {
    const { cause, first } = await causeOf(rtspUrl(await freePort()));
    // What the cause used to be: ffmpeg's first line after its banner.
    expect(first).toMatch(/progress period set to/);
    expect(cause).toMatch(/^ffmpeg exited: .*Connection refused$/);
    expect(cause).not.toContain(SECRET);
    expect(cause).toContain("rtsp://admin:[redacted]@127.0.0.1:");
  });

  it("names the camera's refusal of our credentials (401)", async () => {
    const port = await rtspServer(
      (_m, cseq) =>
        `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Digest realm="cam", nonce="n1"\r\n\r\n`,
    );
    const { cause } = await causeOf(rtspUrl(port));
    expect(cause).toMatch(/401 Unauthorized/);
    expect(cause).not.toContain(SECRET);
  });

  it("names a stream path the camera does not serve (404)", async () => {
    const port = await rtspServer((m, cseq) =>
      m === "OPTIONS" ? ok(cseq) : `RTSP/1.0 404 Not Found\r\nCSeq: ${cseq}\r\n\r\n`,
    );
    const { cause } = await causeOf(rtspUrl(port, "/moved"));
    expect(cause).toMatch(/Server returned 404 Not Found$/);
    expect(cause).not.toContain(SECRET);
  });

  it("names a server that answers with something that is not RTSP", async () => {
    const port = await rtspServer(() => undefined);
    const { cause } = await causeOf(rtspUrl(port));
    expect(cause).toMatch(/Invalid data found when processing input$/);
    expect(cause).not.toContain(SECRET);
  });

  it("prefers a specific component error to a vague summary (a host that does not resolve)", async () => {
    const { cause } = await causeOf(`rtsp://admin:${SECRET}@no-such-camera.invalid/stream`);
    expect(cause).toMatch(/Failed to resolve hostname no-such-camera\.invalid/);
    expect(cause).not.toContain(SECRET);
  });

  it("names the full disk from a run that recorded, then failed to write (stderr of a real tmpfs run)", () => {
    // Captured from the recorder's ffmpeg writing into a full 200 KiB tmpfs (mounting needs root).
    const stderr = readFileSync(join(import.meta.dirname, "../fixtures/ffmpeg/no-space.stderr"), "utf8");
    const errors = new StderrErrors();
    for (const line of stderr.split("\n")) errors.push(line);
    const cause = exitCause(errors, new Error("ffmpeg exited with code 1: Conversion failed!"));
    expect(cause).toMatch(/^ffmpeg exited: Error writing trailer of .*: No space left on device$/);
    // The captured run's input URL carried the password "Sekr1t".
    expect(stderr).toContain("admin:Sekr1t@");
    expect(cause).not.toContain("Sekr1t");
  });

  it("names the full disk when ffmpeg's last word on it is vague (stderr of a real tmpfs run)", () => {
    // The segment close failed on the full volume; ffmpeg's summary then says "Invalid argument".
    const stderr = readFileSync(
      join(import.meta.dirname, "../fixtures/ffmpeg/no-space-at-segment-end.stderr"),
      "utf8",
    );
    expect(stderr).toMatch(/Error writing trailer of .*: Invalid argument/);
    const errors = new StderrErrors();
    for (const line of stderr.split("\n")) errors.push(line);
    expect(exitCause(errors, undefined)).toBe(
      "ffmpeg exited: av_interleaved_write_frame(): No space left on device",
    );
  });

  it("falls back to how the process ended when stderr named no error", () => {
    expect(exitCause(new StderrErrors(), new Error("ffmpeg was killed with signal SIGKILL"))).toBe(
      "ffmpeg exited: ffmpeg was killed with signal SIGKILL",
    );
    expect(
      exitCause(
        new StderrErrors(),
        new Error("ffmpeg exited with code 1: ffmpeg stats and -progress period"),
      ),
    ).toBe("ffmpeg exited: ffmpeg exited with code 1");
    expect(exitCause(new StderrErrors(), undefined)).toBe("ffmpeg ended: the camera ended the stream");
  });
});
