/**
 * The department's password rules: 9+ characters mixing upper, lower, digits and symbols, not
 * containing the user name. Pure, so the password screen lists them and checks them as one types
 * with the same code the server enforces.
 */

export const MIN_PASSWORD_LENGTH = 9;
const MAX_PASSWORD_LENGTH = 256;

export interface PasswordRule {
  /** The rule as a list shows it ("a digit"). */
  rule: string;
  /** Said of a password that breaks it ("must contain a digit"). */
  problem: string;
  breaks(username: string, password: string): boolean;
}

export const PASSWORD_RULES: readonly PasswordRule[] = [
  {
    rule: `at least ${MIN_PASSWORD_LENGTH} characters`,
    problem: `must be at least ${MIN_PASSWORD_LENGTH} characters`,
    breaks: (_, p) => p.length < MIN_PASSWORD_LENGTH,
  },
  {
    rule: `at most ${MAX_PASSWORD_LENGTH} characters`,
    problem: `must be at most ${MAX_PASSWORD_LENGTH} characters`,
    breaks: (_, p) => p.length > MAX_PASSWORD_LENGTH,
  },
  {
    rule: "an upper-case letter",
    problem: "must contain an upper-case letter",
    breaks: (_, p) => !/\p{Lu}/u.test(p),
  },
  {
    rule: "a lower-case letter",
    problem: "must contain a lower-case letter",
    breaks: (_, p) => !/\p{Ll}/u.test(p),
  },
  { rule: "a digit", problem: "must contain a digit", breaks: (_, p) => !/\p{Nd}/u.test(p) },
  { rule: "a symbol", problem: "must contain a symbol", breaks: (_, p) => !/[^\p{L}\p{Nd}\s]/u.test(p) },
  {
    rule: "not your user name",
    problem: "must not contain the user name",
    breaks: (u, p) => u.length > 0 && p.toLowerCase().includes(u.toLowerCase()),
  },
];

/** Every rule the password breaks, in words a user can act on; empty when it is acceptable. */
export function passwordProblems(username: string, password: string): string[] {
  return PASSWORD_RULES.filter((r) => r.breaks(username, password)).map((r) => r.problem);
}
