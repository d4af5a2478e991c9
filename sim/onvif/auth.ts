import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { child, SoapFault, text, type XmlNode } from "./soap.js";

/**
 * The two ways an ONVIF client proves who it is (ONVIF core spec §5.9): WS-Security UsernameToken with
 * a password digest inside the SOAP header, or HTTP Digest on the request.
 * Invariants: a digest is compared in constant time; a UsernameToken's Created must lie within the
 * allowed skew of the camera's own clock and its nonce is accepted once (replay protection).
 */

export interface Credentials {
  user: string;
  password: string;
}

function notAuthorized(reason: string): SoapFault {
  return new SoapFault("env:Sender", ["ter:NotAuthorized"], `Sender not Authorized: ${reason}`, 400);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class UsernameTokenVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly creds: Credentials,
    private readonly allowedSkewMs: number,
  ) {}

  /** Throws ter:NotAuthorized unless the header holds a valid, fresh UsernameToken. */
  verify(header: XmlNode | undefined, cameraNow: number): void {
    const token = child(child(header, "Security"), "UsernameToken");
    if (!token) throw notAuthorized("no WS-Security UsernameToken");
    const user = text(token, "Username") ?? "";
    const digest = text(token, "Password") ?? "";
    const nonce = text(token, "Nonce") ?? "";
    const created = text(token, "Created") ?? "";
    const createdMs = Date.parse(created);
    if (!Number.isFinite(createdMs)) throw notAuthorized("Created is not a date-time");
    if (Math.abs(createdMs - cameraNow) > this.allowedSkewMs) {
      throw notAuthorized(`Created ${created} is outside the allowed clock skew`);
    }
    const expected = createHash("sha1")
      .update(
        Buffer.concat([Buffer.from(nonce, "base64"), Buffer.from(created), Buffer.from(this.creds.password)]),
      )
      .digest("base64");
    // Check both before deciding, so that timing does not tell which of user or password was wrong.
    const userOk = sameText(user, this.creds.user);
    const digestOk = sameText(digest, expected);
    if (!userOk || !digestOk) throw notAuthorized("wrong user name or password");
    this.rememberNonce(nonce, cameraNow);
  }

  private rememberNonce(nonce: string, now: number): void {
    for (const [n, expiry] of this.seen) if (expiry < now) this.seen.delete(n);
    if (this.seen.has(nonce)) throw notAuthorized("nonce already used (replay)");
    this.seen.set(nonce, now + 2 * this.allowedSkewMs);
  }
}

/** HTTP Digest (RFC 7616, MD5, qop=auth), as many cameras offer instead of WS-Security. */
export class HttpDigestVerifier {
  readonly realm = "PSCS Sim";
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly creds: Credentials,
    private readonly nonceLifetimeMs = 300_000,
  ) {}

  challenge(now: number = Date.now()): string {
    for (const [n, expiry] of this.nonces) if (expiry < now) this.nonces.delete(n);
    const nonce = randomBytes(16).toString("hex");
    this.nonces.set(nonce, now + this.nonceLifetimeMs);
    return `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", algorithm=MD5, opaque="pscs"`;
  }

  /** True when the Authorization header answers one of our live challenges with the right password. */
  verify(authorization: string | undefined, method: string, url: string, now: number = Date.now()): boolean {
    if (!authorization?.startsWith("Digest ")) return false;
    const p: Record<string, string> = {};
    for (const m of authorization.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
      p[(m[1] ?? "").toLowerCase()] = m[2] ?? m[3] ?? "";
    }
    const expiry = p.nonce === undefined ? undefined : this.nonces.get(p.nonce);
    // The digest covers the uri it names; that must be this request's, or a captured one could be replayed.
    if (expiry === undefined || expiry < now || p.realm !== this.realm || p.uri !== url) return false;
    const md5 = (s: string) => createHash("md5").update(s).digest("hex");
    const ha1 = md5(`${this.creds.user}:${this.realm}:${this.creds.password}`);
    const ha2 = md5(`${method}:${p.uri ?? ""}`);
    const expected =
      p.qop === "auth"
        ? md5(`${ha1}:${p.nonce}:${p.nc ?? ""}:${p.cnonce ?? ""}:auth:${ha2}`)
        : md5(`${ha1}:${p.nonce}:${ha2}`);
    const userOk = sameText(p.username ?? "", this.creds.user);
    const responseOk = sameText(p.response ?? "", expected);
    return userOk && responseOk;
  }
}
