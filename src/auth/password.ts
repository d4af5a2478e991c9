import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { passwordProblems } from "./password-rules.js";

/**
 * Password policy (its rules in password-rules.ts, which the browser shows as one types) and
 * storage (scrypt, parameters stored with each hash so the cost can rise without invalidating old
 * hashes).
 */

export class PasswordPolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`password ${problems.join("; ")}`);
    this.name = "PasswordPolicyError";
  }
}

export function assertPasswordPolicy(username: string, password: string): void {
  const problems = passwordProblems(username, password);
  if (problems.length) throw new PasswordPolicyError(problems);
}

const R = 8;
const P = 1;
const KEY_LEN = 32;

function derive(password: string, salt: Buffer, logN: number, r = R, p = P): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_LEN, { N, r, p, maxmem: 256 * N * r }, (e, key) =>
      e ? reject(e) : resolve(key),
    ),
  );
}

/** `scrypt$<logN>$<r>$<p>$<salt b64>$<key b64>`; runs on libuv's pool, not the event loop. */
export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, logN);
  return ["scrypt", logN, R, P, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, key] = stored.split("$");
  const [n, rr, pp] = [Number(logN), Number(r), Number(p)];
  // Bounds keep a corrupted row from asking scrypt for gigabytes.
  if (
    scheme !== "scrypt" ||
    !salt ||
    !key ||
    !(n >= 10 && n <= 22) ||
    !(rr >= 1 && rr <= 32) ||
    !(pp >= 1 && pp <= 16)
  ) {
    return false;
  }
  const want = Buffer.from(key, "base64");
  const got = await derive(password, Buffer.from(salt, "base64"), n, rr, pp);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash of a password nobody knows: unknown user names cost as much time as known ones. */
export async function decoyHash(logN: number): Promise<string> {
  return hashPassword(randomBytes(24).toString("base64"), logN);
}
