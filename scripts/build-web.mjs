// The browser code: each entry under api/web/ bundled by esbuild into dist/web/ (same relative path,
// .js), minified, ES modules for the Debian chromium pscsd is tested with. What an entry imports
// dynamically is a chunk beside it, `chunk-<hash>.js`, fetched when needed: only the charts'
// uPlot is (screens split apart measured slower on a first load: each chunk is another round trip
// before the screen's requests, under load longer than its code takes to parse). Types are checked
// by `tsc -p tsconfig.web.json` (lint); esbuild only strips them.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
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

const OUT = join(ROOT, "dist/web");
// pscsd serves every file in the folder: the chunks of an earlier build go first.
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT, { withFileTypes: true }).filter((d) => d.name.startsWith("chunk-")))
  rmSync(join(OUT, f.name));
// One build per entry: each is then its own file plus the chunks it imports dynamically, never a
// chunk shared with another entry (the live players' bundles are loaded alone by their tests).
for (const f of entries(WEB))
  await build({
    entryPoints: { [relative(WEB, f).replace(/\.entry\.tsx?$/, "")]: f },
    outdir: OUT,
    splitting: true,
    chunkNames: "chunk-[hash]",
    bundle: true,
    format: "esm",
    minify: true,
    sourcemap: true,
    target: "chrome120",
    jsx: "automatic",
    jsxImportSource: "preact",
    logLevel: "warning",
  });
