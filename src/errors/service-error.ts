/**
 * The one error type services throw for a request that cannot be done as asked. Services say what
 * kind of refusal it is; api/ alone turns the kind into an HTTP status, the CLI into an exit code,
 * and each names the field in its own terms (the request's place, the option typed).
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

  /**
   * The message without the service's own name for the field in front ('to: must be after from'),
   * for a caller that names the field in its own terms (`query.to`, `--to`).
   */
  get bareMessage(): string {
    return this.field && this.message.startsWith(`${this.field}: `)
      ? this.message.slice(this.field.length + 2)
      : this.message;
  }
}
