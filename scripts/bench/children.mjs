// The child processes a benchmark starts: started with stdout piped, stopped (by PID) with SIGTERM
// then SIGKILL, and all of them stopped if the benchmark is interrupted.
import { spawn } from "node:child_process";

const started = [];

export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"], ...opts });
  started.push(child);
  return child;
}

export function stop(children, killAfterMs = 10_000) {
  return Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", resolve);
          c.kill("SIGTERM");
          setTimeout(() => c.kill("SIGKILL"), killAfterMs).unref();
        }),
    ),
  );
}

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => stop(started).then(() => process.exit(130)));
// A benchmark that fails ends here too: nothing it started may outlive it.
process.on("exit", () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
