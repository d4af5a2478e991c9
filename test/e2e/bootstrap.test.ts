import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const BOOTSTRAP = join(import.meta.dirname, "../../scripts/bootstrap.sh");
const LINK_BIN = join(import.meta.dirname, "../../scripts/link-bin.sh");
const PSCS_JS = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
const isRoot = process.getuid?.() === 0;
const nodeDir = join(process.execPath, "..");

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
        "unzip",
      ]),
    );
    expect(err?.stderr).toContain(`sudo apt-get install -y ${missing?.join(" ")}`);
    expect(err?.stderr).toMatch(/missing promtool; as root: .*apt-get download prometheus/);
    expect(err?.stderr).not.toMatch(/installing|apt-get -q/);
  });

  // The step bootstrap ends with, run alone (bootstrap itself would install packages and rebuild).
  it.runIf(isRoot)(
    "as root: links pscs and pscsd into /usr/local/bin, which then run from anywhere",
    async () => {
      // /usr/local/bin of a private mount namespace: the machine's own stays as it is.
      const bin = mkdtempSync(join(tmpdir(), "pscs-ulb-"));
      writeFileSync(join(bin, "pscsd"), "#!/bin/sh\necho someone else's\n", { mode: 0o755 });
      const script = `mount --bind ${bin} /usr/local/bin && bash ${LINK_BIN} && bash ${LINK_BIN} && cd / && PATH=/usr/local/bin:${nodeDir}:/usr/bin:/bin pscs --help`;
      const { stdout, stderr } = await run("unshare", ["--mount", "bash", "-c", script], { timeout: 30_000 });
      expect(stdout).toContain("Usage: pscs ");
      expect(readlinkSync(join(bin, "pscs"))).toBe(PSCS_JS);
      // A file it did not make is never replaced.
      expect(stderr).toContain(
        `${join("/usr/local/bin", "pscsd")} exists and is not a link to a pscs checkout: left alone`,
      );
    },
  );

  it("as a user: links pscs into ~/.local/bin and says how to put it on PATH", async () => {
    const home = mkdtempSync(join(tmpdir(), "pscs-home-"));
    if (isRoot) chownSync(home, 65534, 65534);
    const env = { PATH: `${nodeDir}:/usr/bin:/bin`, HOME: home };
    const asUser = isRoot ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const as = (argv: string[]) => [...asUser, ...argv];
    const linkArgv = as(["/bin/bash", LINK_BIN]);
    const { stderr } = await run(linkArgv[0] as string, linkArgv.slice(1), { env, timeout: 30_000 });
    const dir = join(home, ".local/bin");
    expect(stderr).toContain(`pscs and pscsd are in ${dir}, which is not on PATH: add it`);
    expect(readlinkSync(join(dir, "pscs"))).toBe(PSCS_JS);
    const runArgv = as(["/bin/sh", "-c", "cd / && pscs --help"]);
    const { stdout } = await run(runArgv[0] as string, runArgv.slice(1), {
      env: { ...env, PATH: `${dir}:${env.PATH}` },
      timeout: 30_000,
    });
    expect(stdout).toContain("Usage: pscs ");
  });
});
