import type { ComponentType } from "preact";
import type { Permission } from "../../../src/auth/roles.js";
import { Audit } from "./audit.js";
import { Cameras } from "./cameras.js";
import { Dispatch } from "./dispatch.js";
import { Exports } from "./exports.js";
import { Holds } from "./holds.js";
import { Ops } from "./ops.js";
import { Playback } from "./playback.js";
import { PtzSessions } from "./ptz-sessions.js";
import type { Me } from "./session.js";
import { Users } from "./users.js";
import { Zones } from "./zones.js";

/**
 * Every screen, the permission it needs and where it lives (`#/<id>`). The menu shows a person only
 * the screens their roles grant; the API refuses the rest all the same.
 */
export interface Screen {
  id: string;
  title: string;
  permission: Permission;
  component: ComponentType<{ me: Me }>;
}

export const SCREENS: readonly Screen[] = [
  { id: "wall", title: "Live", permission: "video.live", component: Dispatch },
  { id: "ops", title: "Operations", permission: "health.read", component: Ops },
  { id: "cameras", title: "Cameras", permission: "cameras.read", component: Cameras },
  { id: "ptz-sessions", title: "PTZ sessions", permission: "ptz-sessions.read", component: PtzSessions },
  { id: "playback", title: "Playback", permission: "video.playback", component: Playback },
  { id: "holds", title: "Holds", permission: "holds.log", component: Holds },
  { id: "exports", title: "Exports", permission: "exports.read", component: Exports },
  { id: "audit", title: "Audit", permission: "audit.read", component: Audit },
  { id: "users", title: "Users", permission: "users.manage", component: Users },
  // Reading zones is every live viewer's (their masks); the screen is for those who change them.
  { id: "zones", title: "Privacy zones", permission: "zones.manage", component: Zones },
];
