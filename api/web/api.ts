/**
 * The browser's side of pscsd's API: JSON over same-origin fetch with the session cookie. A refusal
 * arrives as problem+json (api/http/problem.ts) and is thrown as an ApiProblem, whose field errors
 * a screen shows beside the fields they name.
 */

export interface FieldError {
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldError[],
    /** Seconds to wait before trying again (429, 503), when the server said. */
    readonly retryAfter: number | undefined,
  ) {
    super(detail);
    this.name = "ApiProblem";
  }
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    credentials: "same-origin",
    headers: { ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T;
  const body = (await res.json().catch(() => ({}))) as { detail?: string; errors?: FieldError[] };
  const retry = Number(res.headers.get("retry-after"));
  throw new ApiProblem(
    res.status,
    body.detail ?? `${res.status} ${res.statusText}`,
    body.errors ?? [],
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}
