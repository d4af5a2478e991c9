import { docsPage } from "../http/openapi.js";
import { type AnyRoute, defineRoute } from "../http/route.js";

/** The API's own description; `document` is filled in once every route is known. */
export function docsRoutes(document: () => Record<string, unknown>): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/openapi.json",
      operationId: "openapi",
      summary: "This API as an OpenAPI 3.1 document",
      tag: "docs",
      access: { public: true },
      responses: { 200: { description: "OpenAPI document" } },
      handler: () => document(),
    }),
    defineRoute({
      method: "get",
      path: "/api/docs",
      operationId: "docs",
      summary: "This API as a readable page",
      tag: "docs",
      access: { public: true },
      responses: { 200: { description: "HTML", contentType: "text/html" } },
      handler: ({ res }) => {
        res.type("html").send(docsPage(document()));
      },
    }),
  ];
}
