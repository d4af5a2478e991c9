import { z } from "zod";
import type { Auth } from "../../src/auth/service.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { displayName, publicUser, role, username } from "./schemas.js";

/** Named accounts and their roles (admin). */
export function userRoutes(auth: Auth): AnyRoute[] {
  const params = z.strictObject({ username });
  return [
    defineRoute({
      method: "get",
      path: "/api/users",
      operationId: "listUsers",
      summary: "List accounts",
      tag: "users",
      access: { permission: "users.manage" },
      responses: { 200: { description: "accounts", schema: z.object({ users: z.array(publicUser) }) } },
      handler: async () => ({ users: await auth.listUsers() }),
    }),
    defineRoute({
      method: "post",
      path: "/api/users",
      operationId: "addUser",
      summary: "Add a named account with a temporary password the person must change at first sign-in",
      tag: "users",
      access: { permission: "users.manage" },
      body: z.strictObject({
        username,
        displayName,
        roles: z.array(role).min(1).max(6),
        password: z.string().min(1).max(256),
      }),
      example: {
        body: {
          username: "mnew",
          displayName: "M. New",
          roles: ["dispatcher"],
          password: "Temporary-Pass1!",
        },
      },
      responses: { 201: { description: "created", schema: publicUser }, 409: { description: "name taken" } },
      handler: async ({ body, action, res }) => {
        const u = await auth.addUser({ ...body, mustChangePassword: true }, action);
        res.status(201).json(u);
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/users/{username}",
      operationId: "getUser",
      summary: "One account",
      tag: "users",
      access: { permission: "users.manage" },
      params,
      example: { params: { username: "jdoe" } },
      responses: { 200: { description: "account", schema: publicUser } },
      handler: ({ params: p }) => auth.publicUser(p.username),
    }),
    defineRoute({
      method: "patch",
      path: "/api/users/{username}",
      operationId: "updateUser",
      summary:
        "Change an account's display name, roles, or disable/enable it (never your own roles or state)",
      tag: "users",
      access: { permission: "users.manage" },
      params,
      body: z
        .strictObject({
          displayName: displayName.optional(),
          roles: z.array(role).min(1).max(6).optional(),
          disabled: z.boolean().optional(),
        })
        .refine((b) => Object.keys(b).length > 0, "expected at least one of displayName, roles, disabled"),
      example: { params: { username: "jdoe" }, body: { roles: ["records", "dispatcher"] } },
      responses: {
        200: { description: "updated", schema: publicUser },
        409: { description: "would leave no admin" },
      },
      handler: ({ params: p, body, action }) => auth.updateUser(p.username, body, action),
    }),
    defineRoute({
      method: "post",
      path: "/api/users/{username}/unlock",
      operationId: "unlockUser",
      summary: "Release an account locked after failed sign-ins (nobody unlocks their own)",
      tag: "users",
      access: { permission: "users.manage" },
      params,
      example: { params: { username: "jdoe" } },
      responses: { 200: { description: "unlocked", schema: publicUser } },
      handler: ({ params: p, action }) => auth.unlockUser(p.username, action),
    }),
    defineRoute({
      method: "post",
      path: "/api/users/{username}/password",
      operationId: "resetPassword",
      summary: "Set a temporary password (the person must change it at next sign-in; their sessions end)",
      tag: "users",
      access: { permission: "users.manage" },
      params,
      body: z.strictObject({ password: z.string().min(1).max(256) }),
      example: { params: { username: "jdoe" }, body: { password: "Temporary-Pass2!" } },
      responses: { 204: { description: "reset" } },
      handler: async ({ params: p, body, action, res }) => {
        await auth.resetPassword(p.username, body.password, action);
        res.status(204).end();
      },
    }),
  ];
}
