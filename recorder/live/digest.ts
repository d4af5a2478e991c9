import { createHash, randomBytes } from "node:crypto";

/**
 * RTSP authentication (RFC 2617 / RFC 7616 Digest with MD5, as cameras offer it; Basic only when it
 * is all a server offers). The password goes into hashes (Digest) or one header (Basic), never into
 * a message, a log field or an error made here.
 */

export interface DigestChallenge {
  scheme: "Digest";
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: string;
  algorithm?: string;
}
export interface BasicChallenge {
  scheme: "Basic";
  realm: string;
}
export type Challenge = DigestChallenge | BasicChallenge;

/** `key=value` or `key="quoted, value"` pairs of one challenge. */
function params(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/gi;
  for (const m of text.matchAll(re)) {
    const key = (m[1] ?? "").toLowerCase();
    out.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? ""));
  }
  return out;
}

/**
 * The challenge to answer among a response's WWW-Authenticate headers: Digest (MD5) preferred, Basic
 * only if no usable Digest is offered; undefined if neither is.
 */
export function pickChallenge(headers: readonly string[]): Challenge | undefined {
  let basic: BasicChallenge | undefined;
  for (const h of headers) {
    const scheme = /^\s*(\S+)\s*(.*)$/s.exec(h);
    if (!scheme) continue;
    const name = (scheme[1] ?? "").toLowerCase();
    const p = params(scheme[2] ?? "");
    if (name === "digest") {
      const algorithm = p.get("algorithm");
      const nonce = p.get("nonce");
      if (nonce === undefined || (algorithm !== undefined && algorithm.toUpperCase() !== "MD5")) continue;
      return {
        scheme: "Digest",
        realm: p.get("realm") ?? "",
        nonce,
        opaque: p.get("opaque"),
        qop: p.get("qop"),
        algorithm,
      };
    }
    if (name === "basic") basic = { scheme: "Basic", realm: p.get("realm") ?? "" };
  }
  return basic;
}

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const quote = (s: string) => `"${s.replace(/(["\\])/g, "\\$1")}"`;

/** Answers one challenge, counting requests per nonce (`nc`) for qop=auth. */
export class Authenticator {
  private nc = 0;

  constructor(
    private readonly challenge: Challenge,
    private readonly user: string,
    private readonly password: string,
    private readonly cnonce: () => string = () => randomBytes(8).toString("hex"),
  ) {}

  /** The Authorization header for one request. */
  header(method: string, uri: string): string {
    const c = this.challenge;
    if (c.scheme === "Basic") {
      return `Basic ${Buffer.from(`${this.user}:${this.password}`).toString("base64")}`;
    }
    const ha1 = md5(`${this.user}:${c.realm}:${this.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const qop = c.qop
      ?.split(",")
      .map((q) => q.trim())
      .includes("auth")
      ? "auth"
      : undefined;
    const parts = [
      `username=${quote(this.user)}`,
      `realm=${quote(c.realm)}`,
      `nonce=${quote(c.nonce)}`,
      `uri=${quote(uri)}`,
    ];
    if (qop) {
      this.nc += 1;
      const nc = this.nc.toString(16).padStart(8, "0");
      const cnonce = this.cnonce();
      parts.push(
        `response=${quote(md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:${qop}:${ha2}`))}`,
        `qop=${qop}`,
        `nc=${nc}`,
        `cnonce=${quote(cnonce)}`,
      );
    } else {
      parts.push(`response=${quote(md5(`${ha1}:${c.nonce}:${ha2}`))}`);
    }
    if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
    if (c.algorithm !== undefined) parts.push(`algorithm=${c.algorithm}`);
    return `Digest ${parts.join(", ")}`;
  }
}
