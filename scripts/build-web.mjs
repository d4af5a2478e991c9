// The browser code: each entry under api/web/ bundled by esbuild into dist/web/ (same relative path,
// .js), minified, ES modules for the Debian chromium pscsd is tested with. Types are checked by
// `tsc -p tsconfig.web.json` (lint); esbuild only strips them.
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";

const ROOT = new URL("..", import.meta.url).pathname;
const WEB = join(ROOT, "api/web");

/** Entries are the files named `*.entry.ts` (or `.tsx`); everything else is a module they import. */
function entries(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? entries(join(dir, d.name)) : /\.entry\.tsx?$/.test(d.name) ? [join(dir, d.name)] : [],
  );
}

const points = Object.fromEntries(
  entries(WEB).map((f) => [relative(WEB, f).replace(/\.entry\.tsx?$/, ""), f]),
);
await build({
  entryPoints: points,
  outdir: join(ROOT, "dist/web"),
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: "chrome120",
  jsx: "automatic",
  jsxImportSource: "preact",
  logLevel: "warning",
});
