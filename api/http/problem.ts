import type { Response } from "express";
import type { z } from "zod";
import { ServiceError, type ServiceErrorKind } from "../../src/errors/service-error.js";

/**
 * RFC 9457 problem details: the only shape an error leaves this API in.
 * Invariant: every 4xx names what was wrong (the field, when there is one); a 5xx says nothing about
 * internals (the request id ties it to the log line that does).
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

/** Where the request carried a service's field: path, query or (by default) body, in one notation. */
export function locateField(field: string, req?: { params?: object; query?: object }): string {
  const dotted = field.replace(/\/(\d+)/g, "[$1]").replace(/\//g, ".");
  const key = /^[^.[]+/.exec(dotted)?.[0] ?? dotted;
  const has = (o: object | undefined) => o !== undefined && Object.hasOwn(o, key);
  const where = has(req?.params) ? "path" : has(req?.query) ? "query" : "body";
  return `${where}.${dotted}`;
}

export function fromServiceError(e: ServiceError, req?: { params?: object; query?: object }): HttpProblem {
  const extra: Record<string, unknown> = { ...e.extra };
  if (e.field) extra.errors = [{ field: locateField(e.field, req), message: e.message }];
  return problem(STATUS_OF[e.kind], e.message, extra);
}

export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof ServiceError;
}

export function fieldPath(where: "body" | "query" | "path", path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`),
    where,
  );
}

export function validationProblem(where: "body" | "query" | "path", error: z.ZodError): HttpProblem {
  const errors: FieldError[] = error.issues.slice(0, 20).map((i) => ({
    field: fieldPath(where, i.path),
    message:
      i.code === "unrecognized_keys"
        ? `unknown field(s) ${i.keys.map((k) => `'${k.slice(0, 64)}'`).join(", ")}`
        : i.message,
  }));
  const first = errors[0] as FieldError;
  return problem(400, `${first.field}: ${first.message}`, { errors });
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
