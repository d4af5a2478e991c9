/**
 * What a user name may be. Accounts are stored by `src/catalog/directory/users.ts` and changed only
 * through `service.ts`, which owns their rules.
 * Invariant: a user name never changes and is never reused for another person, since audit entries
 * name users by it; users are disabled, not deleted.
 */

export const USERNAME_PATTERN = /^[a-z][a-z0-9._-]{1,31}$/;
