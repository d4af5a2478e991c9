import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A base port B such that B..B+span-1 are free for TCP and UDP on 127.0.0.1 right now: the simulator
 * derives every camera's ports from one base. Randomised so parallel suites rarely collide.
 */
export async function freePortRange(span: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if (await rangeFree(base, span)) return base;
  }
  throw new Error(`no free range of ${span} ports found`);
}

async function rangeFree(base: number, span: number): Promise<boolean> {
  for (let p = base; p < base + span; p++) {
    if (!(await canBind(p))) return false;
  }
  return true;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const tcp = createServer();
    tcp.once("error", () => resolve(false));
    tcp.listen(port, "127.0.0.1", () => {
      tcp.close(() => {
        const udp = createSocket("udp4");
        udp.once("error", () => resolve(false));
        udp.bind(port, "127.0.0.1", () => udp.close(() => resolve(true)));
      });
    });
  });
}
