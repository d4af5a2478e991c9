import { type Permission, ROLE_PERMISSIONS } from "../../../src/auth/roles.js";
import type { Me } from "./session.js";

/** What the signed-in person's roles grant: screens they may not use are not shown (the API refuses them too). */
export function may(me: Me | undefined, permission: Permission): boolean {
  return !!me && me.roles.some((r) => ROLE_PERMISSIONS[r].includes(permission));
}
