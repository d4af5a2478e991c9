#!/usr/bin/env node
// `npm run bench -- <name> [args]`: runs scripts/bench/<name>.mjs. Each benchmark measures a bare
// baseline in the same run and prints ratios (this machine is shared and noisy), and writes
// bench/results/<name>.json.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "bench");
const available = readdirSync(dir)
  .filter((f) => f.endsWith(".mjs"))
  .map((f) => f.slice(0, -4));
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join("|")}> [options]\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [join(dir, `${name}.mjs`), ...rest], { stdio: "inherit" });
process.exit(r.status ?? 1);
