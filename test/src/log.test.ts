import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: createLogger({ name: "t", destination, level: "debug" }) };
}

describe("logger", () => {
  it("writes structured JSON", () => {
    const { lines, log } = capture();
    log.info({ camera: "cam-1" }, "hello");
    const entry = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({ name: "t", camera: "cam-1", msg: "hello", level: 30 });
    expect(typeof entry.time).toBe("string");
  });

  it("redacts passwords, tokens and credentials at any depth and in messages", () => {
    const { lines, log } = capture();
    const secret = "Sup3r$ecret!";
    log.info(
      {
        config: { cameras: [{ onvif: { user: "admin", password: secret, passwordFile: "/etc/pw" } }] },
        headers: { authorization: `Bearer ${secret}`, cookie: `sid=${secret}` },
        apiToken: secret,
        streamUri: `rtsp://admin:${secret}@10.0.0.5:554/stream`,
      },
      `connecting to rtsp://admin:${secret}@10.0.0.5/stream`,
    );
    log.error({ err: new Error(`login to http://u:${secret}@cam failed`) }, "boom");
    const out = lines.join("");
    expect(out).not.toContain(secret);
    expect(out).toContain("rtsp://admin:[redacted]@10.0.0.5:554/stream");
    expect(out).toContain('"passwordFile":"/etc/pw"');
    expect(out).toContain('"user":"admin"');
    expect(lines).toHaveLength(2);
  });
});
