import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { findTextFault, textFault } from "../text/well-formed.js";
import { type CameraConfigFile, type ConfigFile, configSchema } from "./schema.js";

export interface ConfigIssue {
  /** Dotted path into the file, e.g. `cameras[1].onvif.port`. */
  path: string;
  message: string;
}

/** A config file that cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `config ${file} is invalid:\n${issues.map((i) => `  - ${i.path || "(file)"}: ${i.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** A camera as pscsd runs it; the PTZ geometry is optional for callers that build one by hand (defaults). */
export interface CameraConfig
  extends Omit<CameraConfigFile, "onvif" | "privacyZones" | "fieldOfView" | "ptzSpeed">,
    Partial<Pick<CameraConfigFile, "privacyZones" | "fieldOfView" | "ptzSpeed">> {
  onvif: { host: string; port: number; user: string; password: string; profile?: string | undefined };
}

export interface Config extends Omit<ConfigFile, "cameras" | "audit" | "storage" | "exports"> {
  file: string;
  cameras: CameraConfig[];
  storage: Required<ConfigFile["storage"]>;
  audit: ConfigFile["audit"] & { checkpointKey: string };
  exports: { signingKey: string };
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
  }
  if (issue.code === "invalid_type") {
    const got = valueAt(raw, issue.path);
    return got === undefined
      ? `required, expected ${issue.expected}`
      : `expected ${issue.expected}, got ${typeOf(got)}`;
  }
  return issue.message;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a mapping" : `${typeof v}`;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A file's bytes as text, or why they are not UTF-8 (with the line, so it can be found and fixed). */
function utf8Text(bytes: Buffer): { text: string } | { fault: string } {
  try {
    return { text: UTF8.decode(bytes) };
  } catch {
    // Not UTF-8 (TypeError from the fatal decoder): find the first line that is not.
    let line = 1;
    for (let start = 0; start < bytes.length; line++) {
      const end = bytes.indexOf(0x0a, start);
      const stop = end < 0 ? bytes.length : end;
      try {
        UTF8.decode(bytes.subarray(start, stop));
      } catch {
        break; // this line
      }
      start = stop + 1;
    }
    return { fault: `not valid UTF-8 (line ${line})` };
  }
}

/**
 * Beside the config file (the operator's directory, /etc/pscs), not beside the catalog: copies of the
 * catalog's directory (backups, restores, an inspector's copy) must not carry the key that vouches for it.
 */
const DEFAULT_CHECKPOINT_KEY = "audit-checkpoint.key";
/** Beside the config file too, for the same reason: a copy of an export must not carry its key. */
const DEFAULT_EXPORT_KEY = "export-signing.key";

/** Parses and validates config text; relative paths resolve against the config file's folder. */
export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    if (e instanceof YAMLParseError)
      throw new ConfigError(file, [{ path: "", message: `not valid YAML: ${e.message}` }]);
    throw e;
  }
  // Invariant: every string of a config that parses is well-formed Unicode without NUL.
  const bad = findTextFault(raw);
  if (bad) {
    const at = formatPath(bad.inKey ? bad.path.slice(0, -1) : bad.path);
    throw new ConfigError(file, [{ path: at, message: bad.inKey ? `a field name ${bad.fault}` : bad.fault }]);
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((i) => ({ path: formatPath(i.path), message: describeIssue(i, raw) })),
    );
  }
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const cfg = result.data;
  const issues: ConfigIssue[] = [];
  const cameras = cfg.cameras.map((cam, i): CameraConfig => {
    let password = cam.onvif.password ?? "";
    if (cam.onvif.passwordFile !== undefined) {
      const pf = abs(cam.onvif.passwordFile);
      try {
        const read = utf8Text(readFileSync(pf));
        password = "text" in read ? read.text.replace(/\r?\n$/, "") : "";
        const fault = "text" in read ? textFault(password) : read.fault;
        if (fault) {
          issues.push({ path: `cameras[${i}].onvif.passwordFile`, message: `${pf}: ${fault}` });
        } else if (password === "") {
          issues.push({
            path: `cameras[${i}].onvif.passwordFile`,
            message: `expected a non-empty password in ${pf}`,
          });
        }
      } catch (e) {
        issues.push({
          path: `cameras[${i}].onvif.passwordFile`,
          message: `expected a readable file, ${pf}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        });
      }
    }
    const { passwordFile: _unused, ...onvif } = cam.onvif;
    return { ...cam, onvif: { ...onvif, password } };
  });
  if (issues.length > 0) throw new ConfigError(file, issues);
  return {
    ...cfg,
    file: resolve(file),
    http: cfg.http.tls
      ? { ...cfg.http, tls: { cert: abs(cfg.http.tls.cert), key: abs(cfg.http.tls.key) } }
      : cfg.http,
    storage: {
      recordings: abs(cfg.storage.recordings),
      evidence: abs(cfg.storage.evidence),
      catalog: abs(cfg.storage.catalog),
      // A sibling of evidence: packages are made from held footage, and go on the same volume.
      exports: abs(cfg.storage.exports ?? join(dirname(abs(cfg.storage.evidence)), "exports")),
    },
    audit: { ...cfg.audit, checkpointKey: abs(cfg.audit.checkpointKey ?? DEFAULT_CHECKPOINT_KEY) },
    exports: { signingKey: abs(cfg.exports.signingKey ?? DEFAULT_EXPORT_KEY) },
    cameras,
  };
}

export function loadConfig(file: string): Config {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ConfigError(file, [
      { path: "", message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` },
    ]);
  }
  const read = utf8Text(bytes);
  if ("fault" in read) throw new ConfigError(file, [{ path: "", message: read.fault }]);
  return parseConfig(read.text, file);
}
