/**
 * Roles and what each may do. Routes declare a permission, never a role, so a role's reach is read
 * in one place: here.
 * Invariant: only dispatcher, supervisor, records and commander hold a video permission (`video.*`,
 * `ptz.*`, `exports.download`: a package is footage); ops, auditor and admin see no footage unless a
 * person is also given one of those roles.
 */

export const ROLES = ["dispatcher", "supervisor", "records", "commander", "ops", "auditor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  "video.live",
  "ptz.control",
  "ptz.supervise",
  /** PTZ sessions and their commands: who moved which camera, why (no video). */
  "ptz-sessions.read",
  /** Privacy zones' geometry (where a camera may not look), for masks and review; no video. */
  "zones.read",
  /** Adding, changing and removing privacy zones through the API. */
  "zones.manage",
  "video.playback",
  "holds.request",
  "holds.approve",
  "holds.log",
  "purge.read",
  "purge.run",
  "exports.create",
  "exports.approve",
  "exports.cancel",
  "exports.read",
  "exports.download",
  "cameras.read",
  "health.read",
  "metrics.read",
  "audit.read",
  "audit.sample",
  "users.manage",
  "tokens.manage",
  "config.read",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  dispatcher: ["video.live", "ptz.control", "cameras.read", "zones.read"],
  supervisor: [
    "video.live",
    "ptz.control",
    "ptz.supervise",
    "ptz-sessions.read",
    "cameras.read",
    "zones.read",
  ],
  records: [
    "video.playback",
    "holds.request",
    "holds.log",
    "exports.create",
    "exports.cancel",
    "exports.read",
    "exports.download",
    "cameras.read",
  ],
  commander: [
    "video.playback",
    "holds.approve",
    "holds.log",
    "exports.approve",
    "exports.cancel",
    "exports.read",
    "exports.download",
    "purge.read",
    "purge.run",
    "cameras.read",
  ],
  ops: ["health.read", "metrics.read", "purge.read", "cameras.read"],
  auditor: [
    "audit.read",
    "audit.sample",
    "holds.log",
    "exports.read",
    "purge.read",
    "ptz-sessions.read",
    "zones.read",
  ],
  // cameras.read: which cameras there are and their state (no video), to place their privacy zones.
  admin: ["users.manage", "tokens.manage", "config.read", "cameras.read", "zones.read", "zones.manage"],
};

/** Machine tokens act for monitoring and audit tools, never for a person watching video. */
export const TOKEN_ROLES = ["ops", "auditor"] as const satisfies readonly Role[];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  dispatcher: "live view and PTZ control",
  supervisor: "dispatch supervisor: live view, PTZ control, takes over PTZ control, reviews PTZ sessions",
  records: "playback, hold requests, exports",
  commander: "Records Service Division Commander: approves and releases holds and exports, owns the hold log",
  ops: "health, camera and storage status; no video",
  auditor: "audit log and reports; no video",
  admin: "users, tokens, configuration and privacy zones; no video",
};

/** The first of the roles that grants the permission: recorded in the audit entry as the role used. */
export function roleGranting(roles: readonly Role[], permission: Permission): Role | undefined {
  return roles.find((r) => ROLE_PERMISSIONS[r].includes(permission));
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether the role someone acts through (an ActionContext's) grants the permission. */
export function roleGrants(role: string | null, permission: Permission): boolean {
  return !!role && isRole(role) && ROLE_PERMISSIONS[role].includes(permission);
}
