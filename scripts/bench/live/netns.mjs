// The benchmark's network namespace: made before anything starts, removed whatever happens. Janus
// 1.1.2's libnice never gathers ICE candidates on loopback and gathers on every other interface it
// sees, so every path runs in a namespace of the benchmark's own holding loopback and one veth pair
// (both ends inside): no process of the benchmark can see or touch the machine's interfaces.
import { execFileSync } from "node:child_process";

export const VETH = { a: "pscsb0", b: "pscsb1", addressA: "10.213.0.1", addressB: "10.213.0.2" };

const ip = (...args) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

export function createNetns(name) {
  ip("netns", "add", name);
  try {
    ip("-n", name, "link", "set", "lo", "up");
    ip("-n", name, "link", "add", VETH.a, "type", "veth", "peer", "name", VETH.b);
    ip("-n", name, "addr", "add", `${VETH.addressA}/30`, "dev", VETH.a);
    ip("-n", name, "addr", "add", `${VETH.addressB}/30`, "dev", VETH.b);
    ip("-n", name, "link", "set", VETH.a, "up");
    ip("-n", name, "link", "set", VETH.b, "up");
  } catch (e) {
    removeNetns(name);
    throw e;
  }
}

/**
 * Ends what is still running in the namespace (only the benchmark's processes can be in it) by PID,
 * then removes it; its veth pair goes with it. Safe to call twice.
 */
export function removeNetns(name) {
  let pids = [];
  try {
    pids = execFileSync("ip", ["netns", "pids", name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return; // Already removed.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  try {
    ip("netns", "del", name);
  } catch {
    // Removed meanwhile.
  }
}
