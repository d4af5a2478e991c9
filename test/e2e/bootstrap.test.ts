import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const BOOTSTRAP = join(import.meta.dirname, "../../scripts/bootstrap.sh");

describe("scripts/bootstrap.sh", () => {
  it("as a user who cannot install: names every missing package, says how to install them, exits 1", async () => {
    // A PATH with node and the few tools the script needs before it decides, but no ffmpeg,
    // GStreamer or chromium: as on a fresh machine.
    const bin = mkdtempSync(join(tmpdir(), "pscs-bootstrap-"));
    chmodSync(bin, 0o755);
    for (const tool of ["id", "sort", "dirname"]) symlinkSync(join("/usr/bin", tool), join(bin, tool));
    symlinkSync(process.execPath, join(bin, "node"));
    // Root would install them; run as nobody (a real unprivileged user) when we are root.
    const asUser = process.getuid?.() === 0 ? ["--reuid=65534", "--regid=65534", "--clear-groups"] : null;
    const [cmd, args] = asUser
      ? ["/usr/bin/setpriv", [...asUser, "/bin/bash", BOOTSTRAP]]
      : ["/bin/bash", [BOOTSTRAP]];
    const err = await run(cmd, args, { env: { PATH: bin, HOME: bin }, timeout: 30_000 }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    const missing = /missing Debian packages: (.*)/.exec(err?.stderr ?? "")?.[1]?.split(" ");
    expect(missing).toEqual(
      expect.arrayContaining([
        "ffmpeg",
        "chromium",
        "gstreamer1.0-tools",
        "gstreamer1.0-plugins-base",
        "gstreamer1.0-plugins-good",
        "gstreamer1.0-plugins-ugly",
        "gstreamer1.0-plugins-bad",
        "gstreamer1.0-x",
        "gstreamer1.0-rtsp",
      ]),
    );
    expect(err?.stderr).toContain(`sudo apt-get install -y ${missing?.join(" ")}`);
    expect(err?.stderr).toMatch(/missing promtool; as root: .*apt-get download prometheus/);
    expect(err?.stderr).not.toMatch(/installing|apt-get -q/);
  });
});
