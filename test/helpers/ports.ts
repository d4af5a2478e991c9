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
 * A base port B for the simulator such that every port it derives for `cameras` cameras (ONVIF B+i,
 * control B+99, RTSP B+100+i, RTP B+200+i) is free for TCP and UDP on 127.0.0.1 right now.
 * Randomised so that suites running in parallel rarely collide.
 */
export async function freeSimBase(cameras: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = [base + 99];
    for (let i = 0; i < cameras; i++) ports.push(base + i, base + 100 + i, base + 200 + i);
    if (await allFree(ports)) return base;
  }
  throw new Error(`no free simulator port range for ${cameras} cameras`);
}

async function allFree(ports: number[]): Promise<boolean> {
  for (const p of ports) {
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
