import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { Role } from "../../../src/auth/roles.js";
import { api, type FieldError } from "../api.js";
import { Field, fieldErrors, Refusals, refusal } from "./field.js";
import { when } from "./format.js";
import { NewPasswordField } from "./password-rules.js";
import { RolePicker } from "./role-picker.js";
import type { Me } from "./session.js";

/** An account as GET /api/users gives it (api/routes/schemas.ts publicUser). */
export interface Account {
  username: string;
  displayName: string;
  roles: Role[];
  disabled: boolean;
  mustChangePassword: boolean;
  lockedUntil: number | null;
  createdAt: number;
  createdBy: string;
  passwordChangedAt: number;
  /** The last sign-in with the password (null: never); machine tokens are not sign-ins. */
  lastSignInAt: number | null;
}

export type AccountState = "active" | "locked" | "disabled";

export function stateOf(u: Account, now = Date.now()): AccountState {
  if (u.disabled) return "disabled";
  return u.lockedUntil !== null && u.lockedUntil > now ? "locked" : "active";
}

export function StateBadge(p: { u: Account }) {
  const state = stateOf(p.u);
  return (
    <span class={`badge ${state}`} data-state={state}>
      {state === "locked" && p.u.lockedUntil !== null ? `locked until ${when(p.u.lockedUntil)}` : state}
    </span>
  );
}

/** When an account last signed in, in the site's zone. */
export const lastSignIn = (u: Account): string => (u.lastSignInAt === null ? "never" : when(u.lastSignInAt));

/**
 * One account: its display name, its roles, disabling or re-enabling it, releasing a lock, a
 * temporary password.
 * Every control stays offered on one's own account too: the server refuses (another admin must act)
 * and the screen shows that refusal where it was asked, as it shows the last admin's.
 */
export function UserAccount(p: { user: Account; me: Me; onChanged: () => void }) {
  const u = p.user;
  const path = `/api/users/${encodeURIComponent(u.username)}`;
  const [displayName, setDisplayName] = useState(u.displayName);
  const [roles, setRoles] = useState<Role[]>(u.roles);
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [done, setDone] = useState<string | undefined>(undefined);
  const act = async (field: string, run: () => Promise<unknown>, said: string): Promise<boolean> => {
    setDone(undefined);
    try {
      await run();
    } catch (e) {
      setErrors(refusal(e, field));
      return false;
    }
    setErrors([]);
    setDone(said);
    p.onChanged();
    return true;
  };
  const state = stateOf(u);
  return (
    <section class="panel account" aria-labelledby="account-title" data-account={u.username}>
      <h2 id="account-title">
        {u.displayName} ({u.username}) <StateBadge u={u} />
      </h2>
      {u.username === p.me.username && (
        <p class="hint">
          Your own account: another administrator changes its roles, state, lock and password.
        </p>
      )}
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
      <div class="account-body">
        <div>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const body = { displayName: displayName.trim() };
              void act("displayName", () => api(path, { method: "PATCH", body }), "Display name saved.");
            }}
          >
            <Field id="account-displayName" name="displayName" label="Display name" errors={errors}>
              <input
                id="account-displayName"
                autocomplete="off"
                value={displayName}
                onInput={(e) => setDisplayName(e.currentTarget.value)}
              />
            </Field>
            <button type="submit">Save the name</button>
          </form>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void act("roles", () => api(path, { method: "PATCH", body: { roles } }), "Roles saved.");
            }}
          >
            <RolePicker id="account-roles" legend="Roles" value={roles} onChange={setRoles} errors={errors} />
            <button type="submit" class="primary">
              Save roles
            </button>
          </form>
        </div>
        <div>
          <Action name="disabled" errors={errors}>
            <button
              type="button"
              onClick={() =>
                act(
                  "disabled",
                  () => api(path, { method: "PATCH", body: { disabled: !u.disabled } }),
                  u.disabled ? "Account re-enabled." : "Account disabled; its sessions ended.",
                )
              }
            >
              {u.disabled ? "Re-enable the account" : "Disable the account"}
            </button>
          </Action>
          <Action name="unlock" errors={errors}>
            <button
              type="button"
              disabled={state !== "locked"}
              onClick={() =>
                act("unlock", () => api(`${path}/unlock`, { method: "POST" }), "Account unlocked.")
              }
            >
              Unlock
            </button>
            {state !== "locked" && <span class="hint"> not locked</span>}
          </Action>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void act(
                "password",
                () => api(`${path}/password`, { body: { password } }),
                `Temporary password set: ${u.username} changes it at the next sign-in; their sessions ended.`,
              ).then((ok) => ok && setPassword(""));
            }}
          >
            <NewPasswordField
              id="account-password"
              name="password"
              label="New temporary password"
              username={u.username}
              value={password}
              onInput={setPassword}
              errors={errors}
            />
            <button type="submit">Reset the password</button>
          </form>
        </div>
      </div>
      <dl class="facts">
        <dt>Made</dt>
        <dd>
          {when(u.createdAt)} by {u.createdBy}
        </dd>
        <dt>Password changed</dt>
        <dd>
          {when(u.passwordChangedAt)}
          {u.mustChangePassword ? " (temporary: to be changed at the next sign-in)" : ""}
        </dd>
        <dt>Last sign-in</dt>
        <dd>{lastSignIn(u)}</dd>
      </dl>
    </section>
  );
}

/** A control and, beside it, the server's refusal of what it asked. */
function Action(p: { name: string; errors: FieldError[]; children: ComponentChildren }) {
  const mine = fieldErrors(p.errors, p.name);
  return (
    <div class={mine.length ? "field invalid" : "field"} data-action={p.name}>
      {p.children}
      <Refusals errors={p.errors} name={p.name} />
    </div>
  );
}
