/**
 * The one error type services throw for a request that cannot be done as asked. Services say what
 * kind of refusal it is; api/ alone turns the kind into an HTTP status, the CLI into an exit code.
 */
export type ServiceErrorKind =
  | "invalid" // the input breaks a rule (names the field)
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "locked"
  | "throttled"; // too many attempts: `extra.retryAfterSeconds` says when to come back

export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceErrorKind,
    message: string,
    /** The input field at fault, as a JSON pointer-ish path ('password', 'roles/0'). */
    readonly field?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}
