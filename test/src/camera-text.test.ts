import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnvifServer } from "../../sim/onvif/server.js";
import { PtzModel } from "../../sim/ptz.js";
import { CameraTextError, OnvifCamera, OnvifError } from "../../src/cameras/onvif-client.js";
import { createLogger } from "../../src/log/logger.js";

/**
 * A camera whose firmware answers with bad text: raw NUL bytes, bytes that are not UTF-8 (which the
 * client decodes to U+FFFD), overlong text. (Character references to a surrogate or NUL are refused
 * by the client's XML parser already.) The real simulator, its answers rewritten on the way as such a
 * firmware would write them, and the real `onvif` client underneath OnvifCamera.
 */

/** Stands for a byte 0xFF (not UTF-8) in a rewritten answer. */
const BAD_BYTE = "\ue000";

const USER = "admin";
const PASSWORD = "Sim-Passw0rd!";
const log = createLogger({ name: "test", level: "silent" });

const camera = new OnvifServer({
  name: "Sloppy Cam",
  host: "127.0.0.1",
  port: 0,
  user: USER,
  password: PASSWORD,
  rtspPort: 8554,
  width: 320,
  height: 180,
  fps: 10,
  ptz: new PtzModel({}),
  log,
});

/** What the firmware gets wrong, as [pattern in the simulator's answer, replacement]. */
let rewrites: [RegExp, string][] = [];
const proxy = http.createServer((req, res) => {
  const up = http.request(
    { host: "127.0.0.1", port: camera.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", () => {
        let body = Buffer.concat(chunks).toString();
        for (const [from, to] of rewrites) body = body.replace(from, to);
        const { "transfer-encoding": _chunked, ...rest } = answer.headers;
        const bytes = Buffer.concat(
          body
            .split(BAD_BYTE)
            .flatMap((part, i) => (i ? [Buffer.from([0xff]), Buffer.from(part)] : [Buffer.from(part)])),
        );
        const headers = { ...rest, "content-length": String(bytes.length) };
        res.writeHead(answer.statusCode ?? 502, headers).end(bytes);
      });
    },
  );
  req.pipe(up);
});

const connectTo = () =>
  new OnvifCamera({
    host: "127.0.0.1",
    port: (proxy.address() as AddressInfo).port,
    user: USER,
    password: PASSWORD,
    timeoutMs: 5_000,
  });

beforeAll(async () => {
  await camera.start();
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await camera.stop();
});

describe("camera answers", () => {
  it("shows identity text with ill-formed parts and NUL replaced, bounded", async () => {
    rewrites = [
      [/<tds:SerialNumber>[^<]*/, `<tds:SerialNumber>SN${BAD_BYTE}1\u00002`],
      [/<tds:Manufacturer>[^<]*/, `<tds:Manufacturer>${"M".repeat(1000)}`],
    ];
    const cam = connectTo();
    await cam.connect();
    const d = await cam.deviceInfo();
    expect(d.serialNumber).toBe("SN\ufffd1\ufffd2");
    expect(d.manufacturer).toBe("M".repeat(256));
    expect(d.model).toBe("SIM-PTZ-1");
  });

  it("refuses a stream URI or profile token it would act on, with a typed error naming the field", async () => {
    const refusal = async (rewrite: [RegExp, string], operation: "connect" | "streamUri") => {
      rewrites = [rewrite];
      const cam = connectTo();
      const e = await (operation === "connect"
        ? cam.connect()
        : cam.connect().then(() => cam.streamUri())
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(OnvifError);
      return (e as OnvifError).cause as CameraTextError;
    };
    const uri = await refusal(
      [/<tt:Uri>rtsp:\/\/([^<]*)<\/tt:Uri>/, `<tt:Uri>rtsp://$1${BAD_BYTE}</tt:Uri>`],
      "streamUri",
    );
    expect(uri).toBeInstanceOf(CameraTextError);
    expect(uri).toMatchObject({
      field: "MediaUri.Uri",
      fault: expect.stringMatching(/not valid UTF-8/),
    });
    const nul = await refusal(
      [/<tt:Uri>rtsp:\/\/([^<]*)<\/tt:Uri>/, "<tt:Uri>rtsp://$1\u0000x</tt:Uri>"],
      "streamUri",
    );
    expect(nul).toMatchObject({ field: "MediaUri.Uri", fault: expect.stringMatching(/NUL/) });
    const token = await refusal(
      [/<trt:Profiles token="([^"]*)"/, `<trt:Profiles token="$1${BAD_BYTE}"`],
      "connect",
    );
    expect(token).toMatchObject({ field: "Profile.token", fault: expect.stringMatching(/not valid UTF-8/) });
    const long = await refusal(
      [/<trt:Profiles token="[^"]*"/, `<trt:Profiles token="${"t".repeat(65)}"`],
      "connect",
    );
    expect(long).toMatchObject({ field: "Profile.token", fault: "longer than 64 characters" });
  });
});
