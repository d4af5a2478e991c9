/**
 * Secret scrubbing for everything that reaches a log line.
 * Invariant: no camera password, token, digest, cookie or URL credential is ever written by a logger
 * made in this module — enforced here by key name and by URL shape, at any depth, so a new field
 * cannot leak by being nested one level deeper than a path list foresaw.
 */
export const REDACTED = "[redacted]";

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|digest|nonce|signing.?key|credential/i;
// user:password@ inside any URI-looking text (rtsp://, http://, …).
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+):([^/@\s]*)@/gi;

export function scrubText(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`);
}

/**
 * At most `max` characters of text from someone else (a refused request's message, which may quote
 * garbage or a secret it was sent), scrubbed first and well-formed after the cut, so a record
 * keeps enough to recognise it and not the value itself.
 */
export function scrubbedExcerpt(text: string, max: number): string {
  const scrubbed = scrubText(text);
  if (scrubbed.length <= max) return scrubbed.toWellFormed();
  // A cut between the halves of a surrogate pair would leave one alone: toWellFormed replaces it.
  return `${scrubbed.slice(0, max - 1).toWellFormed()}…`;
}

export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubText(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubText(value.message),
      stack: value.stack && scrubText(value.stack),
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A password *file* path is configuration, not a secret; keep it visible for the ops engineer.
    out[k] = SECRET_KEY.test(k) && !/file$/i.test(k) ? REDACTED : scrubValue(v, depth + 1);
  }
  return out;
}
