import { ExportPackageService } from "../../retention/export/downloads.js";
import { type Retention, retentionFromConfig } from "../../retention/retention.js";
import { auditAnchorFile } from "../audit/anchor.js";
import { AuditLog } from "../audit/log.js";
import { AuthService } from "../auth/service.js";
import { type Db, openCatalog } from "../catalog/catalog.js";
import type { Directory } from "../catalog/directory/directory.js";
import { SqliteDirectory } from "../catalog/directory/sqlite.js";
import type { Config } from "../config/load.js";
import type { ExportPackages } from "../exports/export.js";
import { wakeExportJobs } from "../exports/job-wake.js";
import { EXPORT_KEY_FIELD } from "../exports/signing-key.js";
import { fingerprintOf, publicKeyFile, publicKeyPem, readPublicKeyFile } from "../keys/ed25519-file.js";
import type { Logger } from "../log/logger.js";

/**
 * What the pscs commands work with at the server's console: the catalog named by the config, opened
 * as pscsd opens it (they may run side by side), its audit log, accounts, and retention on demand.
 * Nothing here starts HTTP, cameras or recording.
 */

export interface ConsoleServices {
  config: Config;
  db: Db;
  directory: Directory;
  audit: AuditLog;
  auth: AuthService;
  /**
   * Holds, evidence tree and purger as the config describes them, without disk pressure (pscsd's).
   * Made when a command asks: making it creates the evidence folder, which other commands leave alone.
   */
  retention(log: Logger): Retention;
  /**
   * The finished packages at the console: downloads and checks as the API makes them (audited,
   * client `cli`), against the key's public half (`<exports.signingKey>.pub`; the private key is
   * pscsd's alone). The public key is read when first asked for (a KeyFileError when absent).
   */
  exportPackages(): ExportPackages;
  close(): void;
}

/**
 * The directory (the embedded one: SQLite, in the catalog's file), the audit log and the account
 * service over an open catalog, made as pscsd and pscs both make them.
 */
export function catalogServices(
  config: Config,
  db: Db,
): { directory: Directory; audit: AuditLog; auth: AuthService } {
  const directory = new SqliteDirectory(db);
  const audit = new AuditLog(directory, { anchorFile: auditAnchorFile(config.storage.catalog) });
  return { directory, audit, auth: new AuthService(directory, audit, config.auth) };
}

export function openConsole(config: Config): ConsoleServices {
  const db = openCatalog(config.storage.catalog);
  try {
    const { directory, audit, auth } = catalogServices(config, db);
    return {
      config,
      db,
      directory,
      audit,
      auth,
      // An export approved or cancelled here is pscsd's to produce or stop: it is woken at once.
      retention: (log) =>
        retentionFromConfig(config, db, directory, audit, log, undefined, () =>
          wakeExportJobs(config.storage.exports),
        ),
      exportPackages: () =>
        new ExportPackageService({
          directory,
          audit,
          root: config.storage.exports,
          key: () => exportPublicKey(config),
        }),
      close: () => db.close(),
    };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The export key's public half as pscsd wrote it beside the key: all `pscs export key` needs. */
export function exportPublicKey(config: Config): { fingerprint: string; publicKeyPem: string } {
  const key = readPublicKeyFile(publicKeyFile(config.exports.signingKey), EXPORT_KEY_FIELD);
  return { fingerprint: fingerprintOf(key), publicKeyPem: publicKeyPem(key) };
}
