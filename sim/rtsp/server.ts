import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "../../src/log/logger.js";
import { SIM_SOURCE } from "../package.js";

/**
 * Runs `rtsp_server.py` (GStreamer's gst-rtsp-server through python3-gi): the simulator's real RTSP
 * servers, one port per camera, in one process, each demanding RTSP Digest with the cameras' user
 * and password (the password passed in the environment, not on the command line).
 * Invariant: stop() returns only after the python process has exited.
 */

export interface RtspMount {
  id: string;
  rtspPort: number;
  rtpPort: number;
  path: string;
}

export interface RtspClients {
  connections: number;
  sessions: number;
}

export class RtspServerError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "RtspServerError";
  }
}

// Debian's interpreter: python3-gi is installed for it, not for a pyenv or venv python3 on PATH.
const PYTHON = "/usr/bin/python3";
const SCRIPT = join(SIM_SOURCE, "rtsp", "rtsp_server.py");

export class RtspServer {
  private child: ChildProcess | undefined;
  private readonly pending: Array<(msg: Record<string, unknown>) => void> = [];

  constructor(
    private readonly address: string,
    private readonly mounts: RtspMount[],
    private readonly credentials: { user: string; password: string },
    private readonly log: Logger,
    /** A session without an RTSP request for this long is expired (cameras say 60 s in SETUP). */
    private readonly sessionTimeoutSeconds = 60,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    const config = JSON.stringify({
      address: this.address,
      user: this.credentials.user,
      sessionTimeout: this.sessionTimeoutSeconds,
      cameras: this.mounts,
    });
    const child = spawn(PYTHON, [SCRIPT, config], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PSCS_SIM_RTSP_PASSWORD: this.credentials.password },
    });
    this.child = child;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new RtspServerError(`RTSP server not ready after ${timeoutMs} ms; stderr: ${stderr.trim()}`));
      }, timeoutMs);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new RtspServerError(`cannot run ${PYTHON} ${SCRIPT}: ${e.message}`, e));
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new RtspServerError(`RTSP server exited (${code}) during start; stderr: ${stderr.trim()}`));
      });
      lines.on("line", (line) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          this.log.warn({ line }, "unexpected output from RTSP server");
          return;
        }
        if (msg.event === "ready") {
          clearTimeout(timer);
          resolve();
        } else if (msg.event === "error" && this.pending.length === 0) {
          clearTimeout(timer);
          reject(new RtspServerError(String(msg.message)));
        } else {
          this.pending.shift()?.(msg);
        }
      });
    });
    child.on("exit", (code, signal) => {
      if (this.child === child) this.log.error({ code, signal, stderr: stderr.trim() }, "RTSP server exited");
    });
  }

  /** Stops (on) or resumes (off) accepting RTSP connections on one camera's port. */
  async refuse(port: number, on: boolean): Promise<void> {
    await this.command({ cmd: "refuse", port, on });
  }

  /** Serves one camera's stream at another path, dropping its clients, as a reconfigured camera does. */
  async move(port: number, path: string): Promise<void> {
    await this.command({ cmd: "path", port, path });
  }

  /** What one camera's RTSP server sees now: connections open, sessions set up and not torn down. */
  async clients(port: number): Promise<RtspClients> {
    const msg = await this.command({ cmd: "stats", port });
    return { connections: Number(msg.clients), sessions: Number(msg.sessions) };
  }

  private command(
    cmd: { cmd: string; port: number } & Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const child = this.child;
    if (!child?.stdin) return Promise.reject(new RtspServerError("RTSP server is not running"));
    return new Promise((resolve, reject) => {
      this.pending.push((msg) =>
        msg.event === "ok"
          ? resolve(msg)
          : reject(new RtspServerError(`${cmd.cmd} ${cmd.port}: ${String(msg.message)}`)),
      );
      child.stdin?.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(kill);
  }
}
