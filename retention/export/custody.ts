import {
  CUSTODY_FILE,
  MANIFEST_FILE,
  type Manifest,
  PUBLIC_KEY_FILE,
  SIGNATURE_FILE,
  VIEWER_FILE,
} from "../../src/exports/package-format.js";
import { escapeHtml } from "../../src/report/html.js";
import { basisRows, identityWords, releaseRows, rowsHtml, spanWords } from "./plain.js";

/**
 * The recipient's two documents besides the viewer: custody.html, the printable chain-of-custody
 * sheet (who, what, when, basis, hashes, key fingerprint, lines to sign), and README.txt, what the
 * package holds and how to verify it. Both are written before the viewer and the manifest: they list
 * the files made before them (`m.files` so far), and are themselves listed in the manifest.
 */

const PRINT_STYLE = `
body { font: 11pt/1.35 Georgia, serif; margin: 1.5cm; color: #000; }
h1 { font-size: 16pt; margin: 0 0 .3cm; } h2 { font-size: 12pt; margin: .6cm 0 .2cm; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #444; padding: 3pt 5pt; text-align: left; vertical-align: top; }
th { width: 30%; } code { font: 8.5pt monospace; word-break: break-all; }
.sign td { height: 1.4cm; }
@media print { body { margin: 0; } @page { size: A4; margin: 1.5cm; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
`;

export function custodyHtml(m: Manifest): string {
  const files = m.files
    .map(
      (f) =>
        `<tr><td><code>${escapeHtml(f.path)}</code></td><td>${f.bytes}</td><td><code>${escapeHtml(f.sha256)}</code></td></tr>`,
    )
    .join("\n");
  const cameras = m.cameras
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.camera)}</td><td>${identityWords(c.identity)}</td><td>${spanWords(c.actual)}</td><td>${c.sources.length}</td></tr>`,
    )
    .join("\n");
  const signLine = (role: string) =>
    `<tr><th>${escapeHtml(role)}</th><td>Name:</td><td>Signature:</td><td>Date and time:</td></tr>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Chain of custody: export #${m.exportId}</title>
<style>${PRINT_STYLE}</style>
</head>
<body>
<h1>Chain of custody: evidence export #${m.exportId}</h1>
<p>${escapeHtml(m.site.name)}. Times in ${escapeHtml(m.site.timezone)} and UTC.</p>
<h2>Release</h2>
<table>
${rowsHtml([...basisRows(m.basis), ...releaseRows(m)])}
<tr><th>Requested span</th><td>${spanWords(m.requested)}</td></tr>
<tr><th>Actual span</th><td>${spanWords(m.actual)}</td></tr>
</table>
<h2>Cameras</h2>
<table>
<tr><th>Camera</th><th>Device (ONVIF)</th><th>Actual span</th><th>Source segments</th></tr>
${cameras}
</table>
<h2>Files (SHA-256)</h2>
<table>
<tr><th>File</th><th>Bytes</th><th>SHA-256</th></tr>
${files}
</table>
<p>${VIEWER_FILE}, ${CUSTODY_FILE} and every file above are listed with their SHA-256 in ${MANIFEST_FILE}, which is
signed (${SIGNATURE_FILE}, Ed25519) by the department's export key:</p>
<p>Signing key fingerprint (SHA-256 of the public key): <code>${escapeHtml(m.keyFingerprint)}</code></p>
<h2>Transfers</h2>
<table class="sign">
${signLine("Released by (records)")}
${signLine("Approved by (commander)")}
${signLine("Received by")}
${signLine("Witness")}
</table>
</body>
</html>
`;
}

export function readmeText(m: Manifest): string {
  return `Evidence export #${m.exportId} of ${m.site.name} (hold #${m.hold})
${"=".repeat(60)}

This folder is a signed evidence package. It holds:

  ${MANIFEST_FILE}     what was released, on what legal basis, to whom, by whom; every file's SHA-256
  ${SIGNATURE_FILE}      Ed25519 signature of ${MANIFEST_FILE}'s exact bytes (base64)
  ${PUBLIC_KEY_FILE}  the department's export public key
  ${VIEWER_FILE}       open in a browser (no network needed): plays the clips, shows the manifest, checks hashes
  ${CUSTODY_FILE}     printable chain-of-custody sheet
  clips/           one MP4 per camera, copied from the recordings without re-encoding
  documents/       the written request or court order, when the legal basis has one

Clips start on the keyframe at or before the requested start: the actual span is stated beside the
requested one, for every camera.

How to verify
-------------
1. Ask the department for its export key fingerprint, by a channel other than this package. It
   should read:
     ${m.keyFingerprint}
2. With PSCS:
     pscs verify <this folder or its zip> --fingerprint <the fingerprint>
   exits 0 only if the signature holds, every listed file is present with its SHA-256, nothing was
   added, and the key is the department's.
3. Without PSCS: compare each file's SHA-256 with ${MANIFEST_FILE}'s "files" list, e.g.
     sha256sum clips/*.mp4
   and check the signature with any Ed25519 tool over ${MANIFEST_FILE}'s bytes.
4. Or open ${VIEWER_FILE} and pick this folder under "Check this copy".
`;
}
