import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { z } from "zod";
import { problem } from "../http/problem.js";
import { type AnyRoute, defineRoute } from "../http/route.js";

/**
 * The browser UI: one page (`/`) and the bundles `npm run build` put in dist/web. Public, as any
 * login page's assets are; everything they show comes from the API, which checks each call.
 * Invariant: only files listed in the folder when pscsd started are served, by exact name (no path
 * is ever joined from the request); the page runs under a CSP allowing no inline script or style.
 */

/** No inline script, style or eval; media from blob: (Media Source); WebSockets to this origin only. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

// The head preloads GET /api/session: who is signed in is answered while app.js downloads, and the
// app's own first request takes that answer (same URL, mode and credentials: crossorigin=anonymous
// is fetch()'s same-origin default), so a screen's data is not a round trip behind the script.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PSCS</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/web/app.css">
<link rel="preload" href="/api/session" as="fetch" crossorigin="anonymous">
<script type="module" src="/web/app.js"></script>
</head>
<body>
<div id="app"><noscript>The PSCS screens need JavaScript.</noscript></div>
</body>
</html>
`;

/** `root` is dist/web; when it holds no build the page says how to make one. */
export function webRoutes(root: string): AnyRoute[] {
  const files = new Map<string, Buffer>();
  let listing: string[] = [];
  try {
    listing = readdirSync(root).filter((f) => TYPES[extname(f)] !== undefined);
  } catch {
    // No build yet: the page below answers 503 and says so.
  }
  const asset = (name: string): Buffer | undefined => {
    if (!listing.includes(name)) return undefined;
    let b = files.get(name);
    if (!b) {
      b = readFileSync(join(root, name));
      files.set(name, b);
    }
    return b;
  };
  return [
    defineRoute({
      method: "get",
      path: "/",
      operationId: "ui",
      summary: "The browser UI (sign-in and every screen a person's roles allow)",
      tag: "ui",
      access: { public: true },
      responses: { 200: { description: "HTML", contentType: "text/html" } },
      handler: ({ res }) => {
        if (!listing.includes("app.js"))
          throw problem(503, `the web UI is not built: run npm run build (no app.js in ${root})`);
        res.set("Content-Security-Policy", UI_CSP).set("Cache-Control", "no-store").type("html").send(PAGE);
      },
    }),
    defineRoute({
      method: "get",
      path: "/web/{file}",
      operationId: "uiAsset",
      summary: "A file of the browser UI's build",
      tag: "ui",
      access: { public: true },
      params: z.strictObject({ file: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "a file name") }),
      example: { params: { file: "app.js" } },
      responses: {
        200: { description: "JavaScript, CSS or a source map" },
        404: { description: "no such file" },
      },
      handler: ({ params, res }) => {
        const body = asset(params.file);
        if (!body) throw problem(404, `params.file: no file '${params.file}' in the web UI`);
        res
          .set("Content-Security-Policy", UI_CSP)
          .set("Cache-Control", "no-cache")
          .type(TYPES[extname(params.file)] as string)
          .send(body);
      },
    }),
  ];
}
