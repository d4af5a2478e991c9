import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the simulator's files are and which version it is, known from this file's own place: tsc
 * writes `sim/*.ts` to `dist/sim/*.js`, so this module is `<root>/sim/package.ts` or
 * `<root>/dist/sim/package.js`. The simulator is a program of its own and asks the daemon nothing.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = basename(dirname(here)) === "dist" ? dirname(dirname(here)) : dirname(here);

/** The simulator's source folder (its Python RTSP server is run from there, not from dist/). */
export const SIM_SOURCE = join(root, "sim");

export const SIM_VERSION: string = (
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }
).version;
