import { useState } from "preact/hooks";
import type { Role } from "../../../src/auth/roles.js";
import { api, type FieldError } from "../api.js";
import { Field, refusal, useFocus } from "./field.js";
import { when } from "./format.js";
import { NewPasswordField } from "./password-rules.js";
import { RolePicker } from "./role-picker.js";
import type { Me } from "./session.js";
import { usePoll } from "./use-poll.js";
import { type Account, lastSignIn, StateBadge, UserAccount } from "./user-account.js";

/**
 * The administrator's accounts screen: every named account (roles, state, whether the password
 * must be changed, its last sign-in, so stale access stands out), a new account with its first
 * password, and one account's display name, roles, state, lock and password. Every rule is the
 * server's (src/auth/accounts.ts); its refusals are shown beside the field they concern. User names
 * are never deleted nor renamed, so the screen offers neither (a display name may change).
 */
export function Users(p: { me: Me }) {
  const [tick, setTick] = useState(0);
  const [list, error] = usePoll((bg) => api<{ users: Account[] }>("/api/users", bg), 10_000, [tick]);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [adding, setAdding] = useState(false);
  const refresh = () => setTick((t) => t + 1);
  const selected = list?.users.find((u) => u.username === open);
  return (
    <div class="users">
      <section class="panel" aria-labelledby="users-title">
        <h2 id="users-title">Accounts</h2>
        {error && (
          <p class="notice" role="alert">
            {error}
          </p>
        )}
        <div class="row">
          <button type="button" class="primary" onClick={() => setAdding(!adding)} aria-expanded={adding}>
            New account
          </button>
        </div>
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col">Password</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">Made</th>
            </tr>
          </thead>
          <tbody>
            {list?.users.map((u) => (
              <tr key={u.username} data-user={u.username} aria-selected={open === u.username}>
                <th scope="row">
                  <button type="button" class="link" onClick={() => setOpen(u.username)}>
                    {u.username}
                  </button>{" "}
                  <span class="hint">{u.displayName}</span>
                  {u.username === p.me.username && <span class="tag">you</span>}
                </th>
                <td>{u.roles.join(", ")}</td>
                <td>
                  <StateBadge u={u} />
                </td>
                <td>
                  {u.mustChangePassword ? "must be changed at next sign-in" : "in use"}
                  <div class="hint">changed {when(u.passwordChangedAt)}</div>
                </td>
                <td data-col="last-sign-in">{lastSignIn(u)}</td>
                <td>
                  {when(u.createdAt)} <span class="hint">by {u.createdBy}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="hint">
          Last sign-in is the last with the password (machine tokens are not sign-ins); the audit log has each
          one.
        </p>
      </section>
      {adding && (
        <NewAccount
          onMade={(username) => {
            setAdding(false);
            setOpen(username);
            refresh();
          }}
        />
      )}
      {selected && <UserAccount key={selected.username} user={selected} me={p.me} onChanged={refresh} />}
    </div>
  );
}

/** A new named account: its name, roles and a temporary password its holder changes at first sign-in. */
function NewAccount(p: { onMade: (username: string) => void }) {
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [roles, setRoles] = useState<Role[]>([]);
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const first = useFocus<HTMLInputElement>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const body = { username: username.trim(), displayName: displayName.trim(), roles, password };
      await api("/api/users", { body });
      setErrors([]);
      p.onMade(body.username);
    } catch (err) {
      setErrors(refusal(err, "username"));
    }
  };
  return (
    <form class="panel" onSubmit={submit} noValidate aria-labelledby="new-user-title">
      <h2 id="new-user-title">New account</h2>
      <div class="two">
        <div>
          <Field id="new-username" name="username" label="User name (never changes)" errors={errors}>
            <input
              id="new-username"
              ref={first}
              autocomplete="off"
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </Field>
          <Field id="new-displayName" name="displayName" label="Full name" errors={errors}>
            <input
              id="new-displayName"
              autocomplete="off"
              value={displayName}
              onInput={(e) => setDisplayName(e.currentTarget.value)}
            />
          </Field>
          <NewPasswordField
            id="new-password"
            name="password"
            label="Temporary password (changed at first sign-in)"
            username={username.trim()}
            value={password}
            onInput={setPassword}
            errors={errors}
          />
        </div>
        <RolePicker id="new-roles" legend="Roles" value={roles} onChange={setRoles} errors={errors} />
      </div>
      <button type="submit" class="primary">
        Make the account
      </button>
    </form>
  );
}
