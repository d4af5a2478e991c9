import type { Duplex } from "node:stream";
import type { Response } from "express";
import type { z } from "zod";
import { ServiceError, type ServiceErrorKind } from "../../src/errors/service-error.js";

/**
 * RFC 9457 problem details: the only shape an error leaves this API in.
 * Invariant: every 4xx names what was wrong (the field, when there is one); a 5xx says nothing about
 * internals (the request id ties it to the log line that does). A refusal the department's policy
 * demands also carries `policy` ({ rule, text }: `PolicyQuote`), the rule quoted.
 */

export interface FieldError {
  /** Where: 'body.roles[0]', 'query.limit', 'path.username'. */
  field: string;
  message: string;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = "HttpProblem";
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  423: "Locked",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

const STATUS_OF: Record<ServiceErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  locked: 423,
  throttled: 429,
};

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): HttpProblem {
  return new HttpProblem(status, TITLES[status] ?? "Error", detail, extra);
}

/** Where a request input came from, for naming it: `path.camera`, `query.to`, `body.ranges[0].from`. */
export type InputPlace = "path" | "query" | "body";

/**
 * A service's refusal as a problem. A service names its input field its own way ('ranges/0/to');
 * `placeOf` says which part of the request that input came from (the route knows), so the field
 * reads in the one notation validation problems use.
 */
export function fromServiceError(e: ServiceError, placeOf: (input: string) => InputPlace): HttpProblem {
  const extra: Record<string, unknown> = { ...e.extra };
  if (!e.field) return problem(STATUS_OF[e.kind], e.message, extra);
  const steps = e.field.split("/").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const field = fieldPath(placeOf(String(steps[0])), steps);
  const message = e.bareMessage;
  extra.errors = [{ field, message }];
  return problem(STATUS_OF[e.kind], `${field}: ${message}`, extra);
}

export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof ServiceError;
}

/**
 * The one notation a problem names a place in: `body.ranges[0].from`, `query.to`, `path.camera`;
 * a key that is not a plain name is quoted, `body["a.b"]`, so the place stays unambiguous.
 */
export function fieldPath(where: InputPlace, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => {
    if (typeof p === "number") return `${acc}[${p}]`;
    const name = String(p);
    return /^[A-Za-z_$][\w$]{0,63}$/.test(name)
      ? `${acc}.${name}`
      : `${acc}[${JSON.stringify(name.slice(0, 64))}]`;
  }, where);
}

export function validationProblem(where: InputPlace, error: z.ZodError): HttpProblem {
  const errors: FieldError[] = error.issues
    .slice(0, 20)
    .flatMap((i) =>
      i.code === "unrecognized_keys"
        ? i.keys.map((k) => ({ field: fieldPath(where, [...i.path, k]), message: "unknown field" }))
        : [{ field: fieldPath(where, i.path), message: i.message }],
    )
    .slice(0, 20);
  const first = errors[0] as FieldError;
  return problem(400, `${first.field}: ${first.message}`, { errors });
}

/** body-parser's own refusals (too large, malformed JSON, unsupported charset or encoding) as problems. */
export function bodyParserProblem(err: unknown): HttpProblem | undefined {
  const e = err as { type?: string; status?: number; limit?: number } | null;
  if (e?.type === "entity.too.large")
    return problem(413, `body: larger than ${e.limit ? `${Math.round(e.limit / 1024)} KiB` : "allowed"}`);
  if (e?.type === "entity.parse.failed") return problem(400, "body: not valid JSON");
  if (typeof e?.type === "string" && typeof e.status === "number" && e.status >= 400 && e.status < 500)
    return problem(e.status, `request refused: ${e.type}`);
  return undefined;
}

export function sendProblem(res: Response, p: HttpProblem, requestId?: string): void {
  if (typeof p.extra.retryAfterSeconds === "number")
    res.set("Retry-After", String(p.extra.retryAfterSeconds));
  res
    .status(p.status)
    .type("application/problem+json")
    .json({
      type: "about:blank",
      title: p.title,
      status: p.status,
      detail: p.detail,
      ...p.extra,
      ...(requestId ? { requestId } : {}),
    });
}

/**
 * A problem answered on a socket express never saw (Node's parser refused the request, or a
 * WebSocket upgrade was refused before it happened), then the socket closed.
 */
export function endWithProblem(socket: Duplex, p: HttpProblem): void {
  const body = JSON.stringify({
    type: "about:blank",
    title: p.title,
    status: p.status,
    detail: p.detail,
    ...p.extra,
  });
  const retry =
    typeof p.extra.retryAfterSeconds === "number" ? `Retry-After: ${p.extra.retryAfterSeconds}\r\n` : "";
  socket.end(
    `HTTP/1.1 ${p.status} ${p.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Connection: close\r\n\r\n${body}`,
  );
}
