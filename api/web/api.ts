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

/** The session's CSRF token (from sign-in or GET /api/session): every write carries it. */
let csrfToken: string | undefined;
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Each answered request: the session was seen now (the idle timer restarts). */
let onAnswer: (() => void) | undefined;
export function onApiAnswer(f: () => void): void {
  onAnswer = f;
}

/**
 * `background`: a request the screen makes on its own (a refresh, a poll), not one a person asked
 * for. It does not count as presence: pscsd does not extend the session's idle time for it, nor
 * does the screen's idle clock restart, so an unattended screen still signs out.
 */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; background?: boolean } = {},
): Promise<T> {
  const res = await apiResponse(path, init);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** As api(), the answer's body left unread (a stream); a refusal thrown as an ApiProblem all the same. */
export async function apiResponse(
  path: string,
  init: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    background?: boolean;
    signal?: AbortSignal;
  } = {},
): Promise<Response> {
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  const headers: Record<string, string> = { ...init.headers };
  if (init.background) headers["x-pscs-background"] = "1";
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers,
    body: init.body === undefined ? null : JSON.stringify(init.body),
    signal: init.signal ?? null,
  });
  if (res.status !== 401 && !init.background) onAnswer?.();
  if (res.ok) return res;
  const body = (await res.json().catch(() => ({}))) as { detail?: string; errors?: FieldError[] };
  const retry = Number(res.headers.get("retry-after"));
  throw new ApiProblem(
    res.status,
    body.detail ?? `${res.status} ${res.statusText}`,
    body.errors ?? [],
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}
