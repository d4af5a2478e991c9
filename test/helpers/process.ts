import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export { descendants, isAlive } from "../../src/proc/tree.js";

/** A child process whose output lines are kept, so a test can wait for one and show them all on failure. */
export interface Proc {
  child: ChildProcess;
  lines: string[];
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProc(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Proc {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of waiters) w(line);
  };
  if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const test = (m: RegExp | ((l: string) => boolean), l: string) => (m instanceof RegExp ? m.test(l) : m(l));
  return {
    child,
    lines,
    exited,
    waitForLine(match, timeoutMs) {
      const seen = lines.find((l) => test(match, l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for ${match}; output:\n${lines.join("\n")}`),
          );
        }, timeoutMs);
        const w = (l: string) => {
          if (!test(match, l)) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve(l);
        };
        waiters.add(w);
        void exited.then(({ code, signal }) => {
          if (!waiters.has(w)) return;
          clearTimeout(timer);
          waiters.delete(w);
          reject(
            new Error(`process exited (${code ?? signal}) before ${match}; output:\n${lines.join("\n")}`),
          );
        });
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/** The built `pscs` CLI, run as an operator runs it: arguments, optional stdin, exit code and output. */
export function runPscs(
  args: string[],
  stdin = "",
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(import.meta.dirname, "../../dist/src/bin/pscs.js");
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { timeout: 30_000, env },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}
