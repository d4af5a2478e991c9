import fc from "fast-check";

/** Text as an attacker sends it: full Unicode, single UTF-16 code units (so lone surrogates), NUL, overlong. */
export const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc
    .tuple(fc.string({ unit: "binary", maxLength: 10 }), fc.string({ maxLength: 10 }))
    .map(([a, b]) => `${a}\0${b}`),
  fc.constantFrom("\ud800", "\udfff", "a\udc00\ud800b", "\u0000", "\ufffd"),
  fc.string({ unit: "binary", minLength: 2_000, maxLength: 5_000 }),
);

/** Whether pscsd must refuse this text at its boundary (a lone surrogate or a NUL). */
export function mustRefuse(s: string): boolean {
  return !s.isWellFormed() || s.includes("\0");
}

/**
 * Percent-encodes text as its WTF-8 bytes: a lone surrogate becomes %ED%A0%80, the bytes a client
 * sends for it (encodeURIComponent refuses to).
 */
export function percentWtf8(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      i++;
    }
    const bytes =
      c < 0x80
        ? [c]
        : c < 0x800
          ? [0xc0 | (c >> 6), 0x80 | (c & 63)]
          : c < 0x10000
            ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
            : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    out += bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  }
  return out;
}
