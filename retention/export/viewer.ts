import {
  CLIPS_DIR,
  MANIFEST_FILE,
  type Manifest,
  PUBLIC_KEY_FILE,
  SIGNATURE_FILE,
  VIEWER_FILE,
} from "../../src/exports/package-format.js";
import { escapeHtml } from "../../src/report/html.js";
import { basisRows, clockWords, identityWords, releaseRows, rowsHtml, spanWords } from "./plain.js";

/**
 * index.html: the recipient's offline viewer, opened from file:// with no network and no external
 * asset. It plays each clip, shows the manifest in plain words (rendered here, escaped; its script
 * never builds markup from manifest text), and checks every file's SHA-256 with WebCrypto once the
 * recipient picks the package folder.
 * The page embeds the manifest as it stands before the page itself is hashed: manifest.json's
 * content less its own entry for index.html (a page cannot carry its own hash). In the folder, the
 * page is checked against manifest.json's entry, and manifest.json against the embedded copy.
 */

/** JSON that cannot end its <script> element or open a comment: `<`, `>`, `&` and line separators escaped. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #111; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { text-align: left; vertical-align: top; padding: .2rem .8rem .2rem 0; }
th { font-weight: 600; white-space: nowrap; } code { font-size: .85em; word-break: break-all; }
video { width: 100%; max-width: 60rem; background: #000; }
.ok { color: #0a6b1f; } .bad { color: #b00020; font-weight: 600; }
#results li { margin: .15rem 0; }
`;

/** Runs in the recipient's browser; reads the embedded manifest, writes results with textContent only. */
const SCRIPT = `
const m = JSON.parse(document.getElementById("manifest").textContent);
const out = document.getElementById("results");
const say = (text, good) => { const li = document.createElement("li"); li.textContent = text; li.className = good ? "ok" : "bad"; out.append(li); return good; };
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (file) => hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
document.getElementById("folder").addEventListener("change", async (ev) => {
  out.textContent = "";
  const picked = new Map();
  for (const f of ev.target.files) picked.set(f.webkitRelativePath.split("/").slice(1).join("/"), f);
  let good = true;
  const listed = new Set(m.files.map((f) => f.path));
  for (const f of m.files) {
    const file = picked.get(f.path);
    if (!file) { good = say(f.path + ": missing", false) && good; continue; }
    const h = await sha256(file);
    good = (h === f.sha256 && file.size === f.bytes
      ? say(f.path + ": SHA-256 matches", true)
      : say(f.path + ": CHANGED (SHA-256 " + h + ", expected " + f.sha256 + ")", false)) && good;
  }
  const folderManifest = picked.get(${JSON.stringify(MANIFEST_FILE)});
  let fm;
  try { fm = JSON.parse(await folderManifest.text()); } catch { fm = undefined; }
  if (!fm) good = say(${JSON.stringify(MANIFEST_FILE)} + ": missing or not JSON", false) && good;
  else {
    const page = fm.files.find((f) => f.path === ${JSON.stringify(VIEWER_FILE)});
    const rest = { ...fm, files: fm.files.filter((f) => f !== page) };
    good = (same(rest, m) ? say(${JSON.stringify(MANIFEST_FILE)} + ": matches this page", true) : say(${JSON.stringify(MANIFEST_FILE)} + ": differs from this page", false)) && good;
    const self = picked.get(${JSON.stringify(VIEWER_FILE)});
    const h = self && page ? await sha256(self) : "";
    good = (page && h === page.sha256 ? say(${JSON.stringify(VIEWER_FILE)} + ": SHA-256 matches", true) : say(${JSON.stringify(VIEWER_FILE)} + ": CHANGED or unlisted", false)) && good;
  }
  for (const p of picked.keys())
    if (!listed.has(p) && p !== ${JSON.stringify(MANIFEST_FILE)} && p !== ${JSON.stringify(SIGNATURE_FILE)} && p !== ${JSON.stringify(VIEWER_FILE)})
      good = say(p + ": not listed in the manifest (added)", false) && good;
  const pem = picked.get(${JSON.stringify(PUBLIC_KEY_FILE)});
  const sig = picked.get(${JSON.stringify(SIGNATURE_FILE)});
  if (pem && sig && folderManifest) {
    try {
      const der = Uint8Array.from(atob((await pem.text()).replace(/-----[^-]+-----|\\s/g, "")), (c) => c.charCodeAt(0));
      const fp = hex(await crypto.subtle.digest("SHA-256", der));
      good = (fp === m.keyFingerprint ? say("signing key fingerprint " + fp + ": compare it with the one the department gave you", true) : say("signing key fingerprint " + fp + " is not the manifest's " + m.keyFingerprint, false)) && good;
      const key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
      const s = Uint8Array.from(atob((await sig.text()).trim()), (c) => c.charCodeAt(0));
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, s, await folderManifest.arrayBuffer());
      good = say(ok ? "signature: valid" : "signature: INVALID", ok) && good;
    } catch (e) {
      say("signature: this browser cannot check Ed25519 signatures; use pscs verify (" + e + ")", false);
    }
  } else good = say("signature or public key missing", false) && good;
  say(good ? "Every check passed." : "Some checks FAILED: do not rely on this copy.", good);
});
`;

export function viewerHtml(m: Manifest): string {
  const cameras = m.cameras
    .map(
      (c) => `<section>
<h3>Camera ${escapeHtml(c.camera)}</h3>
<video controls preload="metadata" src="${escapeHtml(c.clip)}"></video>
<table>
${rowsHtml([
  ["Clip", `<code>${escapeHtml(c.clip)}</code>`],
  ["Requested", spanWords(c.requested)],
  ["Actual (from the keyframe at or before the requested start)", spanWords(c.actual)],
  ["Camera", identityWords(c.identity)],
  ["Camera clock minus server clock", clockWords(c.clock)],
  ["Source segments", `${c.sources.length} (listed in ${MANIFEST_FILE} with their SHA-256)`],
])}
</table>
</section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; media-src 'self' file: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Evidence export #${m.exportId}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Evidence export #${m.exportId}: ${escapeHtml(m.site.name)}</h1>
<p>Footage released on the legal basis below, stream-copied from the recordings (never re-encoded). Times are in
the site's zone (${escapeHtml(m.site.timezone)}) and in UTC.</p>
<table>
${rowsHtml([...basisRows(m.basis), ...releaseRows(m)])}
<tr><th>Requested span</th><td>${spanWords(m.requested)}</td></tr>
<tr><th>Actual span</th><td>${spanWords(m.actual)}</td></tr>
<tr><th>Signing key fingerprint</th><td><code>${escapeHtml(m.keyFingerprint)}</code></td></tr>
</table>
<h2>Clips</h2>
${cameras}
<h2>Check this copy</h2>
<p>Pick the package folder (the one holding this page). Every file's SHA-256 is computed in this browser, nothing
is sent anywhere. <code>pscs verify &lt;folder&gt; --fingerprint &lt;fingerprint&gt;</code> checks the same and the
signature. Clips are under <code>${CLIPS_DIR}/</code>.</p>
<input type="file" id="folder" webkitdirectory multiple>
<ul id="results"></ul>
<script type="application/json" id="manifest">${scriptJson(m)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
