import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder above this module holding package.json (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      readFileSync(join(dir, "package.json"));
      return dir;
    } catch (e) {
      const parent = dirname(dir);
      if (parent === dir)
        throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`, { cause: e });
      dir = parent;
    }
  }
}

export const VERSION: string = (
  JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }
).version;
