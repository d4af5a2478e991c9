import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { Outcome } from "../../src/audit/chain.js";
import type { AuditLog } from "../../src/audit/log.js";
import { auditIn } from "../../src/auth/acting.js";
import { type Permission, roleGrants } from "../../src/auth/roles.js";
import type { ActionContext } from "../../src/auth/service.js";
import type { Directory } from "../../src/catalog/directory/directory.js";
import type { StoredExport } from "../../src/catalog/directory/exports.js";
import { ServiceError } from "../../src/errors/service-error.js";
import type { ExportPackages } from "../../src/exports/export.js";
import { MANIFEST_FILE, SIGNATURE_FILE } from "../../src/exports/package-format.js";
import { type VerifyProblem, type VerifyReport, verifyPackage } from "../../src/exports/verify.js";
import { folderSources, planZip, type ZipSource, ZipWriteError } from "../../src/exports/zip.js";
import { packageDirName } from "./producer.js";
import { withKnownCrcs } from "./zip-crcs.js";

/**
 * The finished packages as they leave the building: the zip download, the server-side check, and
 * the key a recipient pins.
 * Invariants (enforced here, whoever calls: API or CLI):
 * - only a `done` export is downloaded, only by an `exports.download` holder (records, commander:
 *   a package is footage), and only while its folder still matches its manifest (the same files,
 *   sizes, and manifest.json hashing to the recorded SHA-256), so a download never hands out a
 *   package with a file added, removed or resized, or another manifest; a file's bytes changed in
 *   place are found by `verify` (and by the recipient's `pscs verify`), not by the download;
 * - every download is audited as it starts (`export.download.start`, before the first byte) and
 *   recorded (`export_downloads`: who, from where, bytes, complete) and audited (`export.download`,
 *   with the export's purpose) in one unit of work when it ends, a partial one too (`reason:
 *   stalled` when pscsd cut off a client that read nothing); every refused download and every
 *   verification (`export.verify`, its problems) is audited.
 */

export interface ExportPackageOptions {
  directory: Directory;
  audit: AuditLog;
  /** storage.exports: package paths in the directory are relative to it. */
  root: string;
  /** The signing key's fingerprint and public key (the producer's, or its `.pub` at the console). */
  key: () => { fingerprint: string; publicKeyPem: string };
  now?: () => number;
}

/** A manifest bigger than this is no manifest pscs wrote (the verifier's own limit). */
const MAX_MANIFEST = 16 * 1024 * 1024;
/** An audit entry lists at most this many of a failed check's problems (the count says how many). */
const MAX_LISTED = 50;

export class ExportPackageService implements ExportPackages {
  private readonly now: () => number;

  constructor(private readonly o: ExportPackageOptions) {
    this.now = o.now ?? Date.now;
  }

  key(): { fingerprint: string; publicKeyPem: string } {
    return this.o.key();
  }

  async download(id: number, by: ActionContext) {
    const row = await this.finished(id, by, "export.download", "exports.download", "download");
    const dir = this.folderOf(row);
    let sources: ZipSource[];
    try {
      sources = await matchingManifest(dir, row);
    } catch (e) {
      const problem = e instanceof ZipWriteError || e instanceof PackageMismatch ? e.message : undefined;
      if (problem === undefined && (e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      const reason = problem ?? `its package folder ${dir} is gone`;
      await this.audited(by, "export.download", row, "failure", { reason });
      throw new ServiceError(
        "conflict",
        `export ${id} cannot be downloaded: ${reason}; 'pscs export verify ${id}' names every problem`,
      );
    }
    // `export-<id>`, as the folder is named: the zip's one top folder and its file name.
    const name = packageDirName(row.id);
    const plan = planZip(await withKnownCrcs(dir, sources), {
      top: name,
      time: new Date(row.producedAt ?? 0),
    });
    // Footage leaves from the first byte: that it began is on the record before it does.
    await this.audited(by, "export.download.start", row, "success", { of: plan.bytes, client: by.client });
    let recorded = false;
    return {
      name: `${name}.zip`,
      bytes: plan.bytes,
      stream: plan.stream(),
      finished: async (sent: number, complete: boolean, why?: "stalled") => {
        // Once per download, however the caller's stream ended.
        if (recorded) return;
        recorded = true;
        const whole = complete && sent === plan.bytes;
        await this.o.directory.tx(async (d) => {
          await d.exports.addDownload(id, {
            by: by.actor,
            at: this.now(),
            from: by.client,
            bytes: sent,
            complete: whole,
          });
          await auditIn(
            this.o.audit,
            d,
            by,
            "export.download",
            `export:${id}`,
            whole ? "success" : "failure",
            {
              ...summary(row),
              bytes: sent,
              of: plan.bytes,
              complete: whole,
              client: by.client,
              ...(why ? { reason: why } : {}),
            },
          );
        });
      },
    };
  }

  async verify(id: number, by: ActionContext): Promise<VerifyReport> {
    const row = await this.finished(id, by, "export.verify", "exports.read", "verify");
    const { fingerprint } = this.o.key();
    const dir = this.folderOf(row);
    const found = await verifyPackage(dir, { fingerprint });
    // A package that verifies on its own may still be another export's: it must be this record's.
    const problems = [...found.problems, ...(await this.recordProblems(dir, row, found))];
    const report = { ...found, ok: problems.length === 0, problems };
    await this.audited(by, "export.verify", row, report.ok ? "success" : "failure", {
      ok: report.ok,
      fingerprint,
      files: report.files,
      bytes: report.bytes,
      problemCount: report.problems.length,
      problems: report.problems.slice(0, MAX_LISTED),
    });
    return report;
  }

  /** Where the package disagrees with the export's record: its id, its hold, the manifest produced. */
  private async recordProblems(
    dir: string,
    row: StoredExport,
    found: VerifyReport,
  ): Promise<VerifyProblem[]> {
    const out: VerifyProblem[] = [];
    const m = found.manifest;
    if (m && m.exportId !== row.id)
      out.push({ subject: `${MANIFEST_FILE} exportId`, problem: `is ${m.exportId}, not export ${row.id}` });
    if (m && m.hold !== row.hold)
      out.push({
        subject: `${MANIFEST_FILE} hold`,
        problem: `is ${m.hold}, not this export's hold ${row.hold}`,
      });
    const bytes = await readFile(join(dir, MANIFEST_FILE)).catch(() => undefined);
    if (bytes && createHash("sha256").update(bytes).digest("hex") !== row.manifestSha256)
      out.push({
        subject: MANIFEST_FILE,
        problem: "is not the one produced (its SHA-256 differs from the record)",
      });
    return out;
  }

  /** The export, when `by` may act on it and it is done; otherwise the refusal, audited as denied. */
  private async finished(
    id: number,
    by: ActionContext,
    action: string,
    permission: Permission,
    verb: string,
  ): Promise<StoredExport> {
    const row = await this.o.directory.read((d) => d.exports.get(id));
    const refusal = !roleGrants(by.role, permission)
      ? new ServiceError(
          "forbidden",
          `${by.actor} may not ${verb} export ${id}: this needs permission '${permission}'`,
        )
      : !row
        ? new ServiceError("not_found", `no export ${id}`)
        : row.status !== "done" || !row.packagePath
          ? new ServiceError(
              "conflict",
              `export ${id} is ${row.status}: only a done export has a package to ${verb}`,
              undefined,
              { exportStatus: row.status },
            )
          : undefined;
    if (!refusal && row) return row;
    await this.o.directory.tx((d) =>
      auditIn(this.o.audit, d, by, action, `export:${id}`, "denied", {
        ...(row ? summary(row) : {}),
        reason: refusal?.message,
      }),
    );
    throw refusal;
  }

  private audited(
    by: ActionContext,
    action: string,
    row: StoredExport,
    outcome: Outcome,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.o.directory.tx((d) =>
      auditIn(this.o.audit, d, by, action, `export:${row.id}`, outcome, { ...summary(row), ...details }),
    );
  }

  /** The package folder, which must lie inside the exports root whatever the directory says. */
  private folderOf(row: StoredExport): string {
    const root = resolve(this.o.root);
    const dir = resolve(root, row.packagePath ?? "");
    const rel = relative(root, dir);
    if (!rel || rel.startsWith("..") || resolve(root, rel) !== dir)
      throw new ServiceError(
        "conflict",
        `export ${row.id}'s package path ${row.packagePath} is outside the exports root`,
      );
    return dir;
  }
}

/** What every audit entry of a package says of its export. */
function summary(row: StoredExport) {
  return { basis: row.basis.type, hold: row.hold, recipient: row.recipient, purpose: row.purpose };
}

class PackageMismatch extends Error {}

/**
 * The folder's files as zip sources, when they are what the manifest lists (by path and size; the
 * hashes are `verify`'s) and manifest.json is the one recorded when the export was produced. No
 * file is read but the manifest: this costs nothing next to sending the bytes.
 */
async function matchingManifest(dir: string, row: StoredExport): Promise<ZipSource[]> {
  const sources = await folderSources(dir);
  const manifest = await readFile(join(dir, MANIFEST_FILE));
  if (manifest.length > MAX_MANIFEST) throw new PackageMismatch(`${MANIFEST_FILE} is too large`);
  if (createHash("sha256").update(manifest).digest("hex") !== row.manifestSha256)
    throw new PackageMismatch(
      `${MANIFEST_FILE} is not the one produced (its SHA-256 differs from the record)`,
    );
  let listed: Map<string, number>;
  try {
    const files = (JSON.parse(manifest.toString("utf8")) as { files: { path: string; bytes: number }[] })
      .files;
    listed = new Map(files.map((f) => [f.path, f.bytes]));
  } catch {
    throw new PackageMismatch(`${MANIFEST_FILE} does not list the package's files`);
  }
  const problems: string[] = [];
  for (const s of sources) {
    if (s.path === MANIFEST_FILE || s.path === SIGNATURE_FILE) continue;
    const bytes = listed.get(s.path);
    if (bytes === undefined) problems.push(`${s.path} is not in the manifest`);
    else if (bytes !== s.size) problems.push(`${s.path} is ${s.size} bytes, the manifest says ${bytes}`);
    listed.delete(s.path);
  }
  for (const path of listed.keys()) problems.push(`${path} is missing`);
  if (!sources.some((s) => s.path === SIGNATURE_FILE)) problems.push(`${SIGNATURE_FILE} is missing`);
  if (problems.length) throw new PackageMismatch(problems.join("; "));
  return sources;
}
