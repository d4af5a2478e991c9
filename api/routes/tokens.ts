import { z } from "zod";
import { TOKEN_ROLES } from "../../src/auth/roles.js";
import type { Auth } from "../../src/auth/service.js";
import { TOKEN_ID_PATTERN } from "../../src/auth/tokens.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { epochMs } from "./schemas.js";

/** Machine tokens (admin). */
const token = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  createdAt: epochMs,
  createdBy: z.string(),
  expiresAt: epochMs.nullable(),
  revokedAt: epochMs.nullable(),
  revokedBy: z.string().nullable(),
  lastUsedAt: epochMs.nullable(),
});

export function tokenRoutes(auth: Auth): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/tokens",
      operationId: "listTokens",
      summary: "List machine tokens (never their secrets)",
      tag: "tokens",
      access: { permission: "tokens.manage" },
      responses: { 200: { description: "tokens", schema: z.object({ tokens: z.array(token) }) } },
      handler: async () => ({ tokens: await auth.listTokens() }),
    }),
    defineRoute({
      method: "post",
      path: "/api/tokens",
      operationId: "createToken",
      summary: "Create a machine token for one role; the secret is in this answer only",
      tag: "tokens",
      access: { permission: "tokens.manage" },
      body: z.strictObject({
        name: z.string().min(1).max(100),
        role: z.enum(TOKEN_ROLES),
        expiresInDays: z.int().min(1).max(3650).optional(),
      }),
      example: { body: { name: "prometheus scraper", role: "ops", expiresInDays: 365 } },
      responses: { 201: { description: "created", schema: z.object({ token, secret: z.string() }) } },
      handler: async ({ body, action, res }) => {
        res.status(201).json(await auth.createToken(body, action));
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/tokens/{id}",
      operationId: "revokeToken",
      summary: "Revoke a machine token (it stops working at once)",
      tag: "tokens",
      access: { permission: "tokens.manage" },
      params: z.strictObject({
        id: z.string().regex(TOKEN_ID_PATTERN, "expected a token id like t_0123456789ab"),
      }),
      example: { params: { id: "t_00000000e1a0" } },
      responses: { 200: { description: "revoked", schema: token } },
      handler: ({ params: p, action }) => auth.revokeToken(p.id, action),
    }),
  ];
}
