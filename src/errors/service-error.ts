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

/** A rule of the department's camera policy, quoted by the refusal that enforces it. */
export interface PolicyQuote {
  /** Where it stands in the policy, e.g. "Storage & Archive Procedures 4". */
  rule: string;
  /** The sentence exactly as the policy has it. */
  text: string;
}

/**
 * An input refused because the policy says so: the problem+json carries the rule as `policy`, the
 * CLI prints it under the reason, so whoever is refused reads the rule, not just the field.
 */
export function policyRefusal(message: string, field: string, policy: PolicyQuote): ServiceError {
  return new ServiceError("invalid", message, field, { policy });
}

/** The policy rule a refusal quotes, if it quotes one. */
export function quotedPolicy(e: ServiceError): PolicyQuote | undefined {
  const p = e.extra?.policy as PolicyQuote | undefined;
  return p && typeof p.rule === "string" && typeof p.text === "string" ? p : undefined;
}
