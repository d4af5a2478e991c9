import type { Request } from "express";
import { findTextFault } from "../../src/text/well-formed.js";
import { type FieldError, fieldPath, type HttpProblem, type InputPlace, problem } from "./problem.js";

/**
 * Every string a request brings in (path, query, body, object keys included) is acceptable text
 * (src/text/well-formed.ts) or the request is a 400 naming where, so nothing ill-formed reaches a
 * service, the catalog or the audit chain. Headers need no check: Node reads them as Latin-1, which
 * cannot hold a surrogate, and its parser refuses NUL in them.
 */

function refuse(field: string, message: string): HttpProblem {
  const errors: FieldError[] = [{ field, message }];
  return problem(400, `${field}: ${message}`, { errors });
}

/** The first unacceptable string in a parsed input (req.params, req.query or req.body). */
export function inputTextProblem(where: InputPlace, value: unknown): HttpProblem | undefined {
  const bad = findTextFault(value);
  if (!bad) return undefined;
  return refuse(fieldPath(where, bad.path), bad.inKey ? `field name ${bad.fault}` : bad.fault);
}

/** Percent-decoding that fails only on bytes that are not UTF-8 (a stray '%' stays as it is). */
function decodeUtf8(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/%(?![0-9a-fA-F]{2})/g, "%25"));
  } catch {
    return undefined; // URIError: the escapes spell bytes that are not UTF-8 (an encoded surrogate, say)
  }
}

const NOT_UTF8 = "not valid percent-encoded UTF-8";

/**
 * The query parser turns bytes that are not UTF-8 into U+FFFD silently, so the raw query string is
 * read here: a lone surrogate sent as %ED%A0%80 is refused, not stored as replacement characters.
 */
export function rawQueryProblem(req: Request): HttpProblem | undefined {
  const url = req.originalUrl;
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  for (const pair of url.slice(q + 1).split("&")) {
    const eq = pair.indexOf("=");
    const plus = (t: string) => t.replace(/\+/g, " ");
    const key = decodeUtf8(plus(eq < 0 ? pair : pair.slice(0, eq)));
    if (key === undefined) return refuse("query", `a parameter name is ${NOT_UTF8}`);
    if (eq >= 0 && decodeUtf8(plus(pair.slice(eq + 1))) === undefined) {
      return refuse(fieldPath("query", [key]), NOT_UTF8);
    }
  }
  return undefined;
}

/**
 * The router refuses a path segment it cannot percent-decode before any route runs; this names the
 * path parameter it was meant for, from the declared routes' paths (OpenAPI style, /a/{name}).
 */
export function pathDecodeProblem(paths: readonly string[], req: Request): HttpProblem {
  const segments = req.path.split("/");
  for (const path of paths) {
    const template = path.split("/");
    if (template.length !== segments.length) continue;
    let name: string | undefined;
    const fits = template.every((t, i) => {
      const s = segments[i] as string;
      const param = /^\{(\w+)\}$/.exec(t)?.[1];
      if (param === undefined) return t === s;
      if (decodeUtf8(s) === undefined) name ??= param;
      return true;
    });
    if (fits && name) return refuse(fieldPath("path", [name]), NOT_UTF8);
  }
  return refuse("path", NOT_UTF8);
}
