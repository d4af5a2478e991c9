import { z } from "zod";
import { escapeHtml } from "../../src/report/html.js";
import { type AnyRoute, paramsSchema, querySchema } from "./route.js";

/**
 * The OpenAPI 3.1 document, generated from the same route declarations and zod schemas that
 * validate requests (JSON Schema 2020-12 is OpenAPI 3.1's schema dialect, which zod emits natively).
 * `x-pscs-access` carries each route's rule so clients and tests can read who may call it.
 */

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const s = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as JsonSchema;
  delete s.$schema;
  return s;
}

function parameters(route: AnyRoute): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema, example] of [
    ["path", paramsSchema(route), route.example?.params],
    ["query", querySchema(route), route.example?.query],
  ] as const) {
    for (const [name, field] of Object.entries(schema.shape)) {
      const f = field as z.ZodType;
      const value = (example as Record<string, unknown> | undefined)?.[name];
      out.push({
        name,
        in: where,
        required: where === "path" || !f.safeParse(undefined).success,
        ...(f.description ? { description: f.description } : {}),
        schema: jsonSchema(f, "input"),
        ...(value !== undefined ? { example: value } : {}),
      });
    }
  }
  return out;
}

const PROBLEM = {
  description: "problem details (RFC 9457)",
  content: {
    "application/problem+json": {
      schema: {
        type: "object",
        required: ["type", "title", "status"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          errors: {
            type: "array",
            items: {
              type: "object",
              properties: {
                field: { type: "string", description: "where: path.camera, query.to, body.ranges[0].from" },
                message: { type: "string" },
              },
            },
          },
          requestId: { type: "string" },
        },
      },
    },
  },
};

export function openApiDocument(routes: readonly AnyRoute[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      const type = spec.contentType ?? "application/json";
      responses[status] = {
        description: spec.description,
        ...(spec.schema ? { content: { [type]: { schema: jsonSchema(spec.schema, "output") } } } : {}),
      };
    }
    responses["4XX"] = PROBLEM;
    const security = "public" in r.access ? [] : [{ session: [] }, { bearer: [] }];
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      "x-pscs-access":
        "public" in r.access ? "public" : "permission" in r.access ? r.access.permission : "authenticated",
      security,
      parameters: parameters(r),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: {
                "application/json": {
                  schema: jsonSchema(r.body, "input"),
                  ...(r.example?.body !== undefined ? { example: r.example.body } : {}),
                },
              },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "PSCS API",
      version,
      description:
        "Public Safety Camera System. People sign in (POST /api/session) and send the returned csrfToken as X-CSRF-Token on writes; machines use `Authorization: Bearer pscs_…` tokens.",
    },
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "pscs_session" },
        bearer: { type: "http", scheme: "bearer" },
      },
    },
    paths,
  };
}

const esc = escapeHtml;

/** The human-readable reference: one static page, no scripts, nothing fetched from elsewhere. */
export function docsPage(doc: JsonSchema): string {
  const info = doc.info as { title: string; version: string; description: string };
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, JsonSchema>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters as JsonSchema[])
        .map(
          (p) =>
            `<li><code>${esc(String(p.name))}</code> (${esc(String(p.in))}${p.required ? ", required" : ""}): <code>${esc(JSON.stringify(p.schema))}</code></li>`,
        )
        .join("");
      const body = op.requestBody
        ? `<details><summary>request body</summary><pre>${esc(JSON.stringify((op.requestBody as { content: Record<string, unknown> }).content["application/json"], null, 2))}</pre></details>`
        : "";
      const responses = Object.entries(op.responses as Record<string, { description: string }>)
        .map(([s, r]) => `<li><b>${esc(s)}</b> ${esc(r.description)}</li>`)
        .join("");
      rows.push(`<section id="${esc(String(op.operationId))}">
<h3><span class="m">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${esc(String(op.summary))} <span class="a">access: ${esc(String(op["x-pscs-access"]))}</span></p>
${params ? `<ul>${params}</ul>` : ""}${body}<ul>${responses}</ul></section>`);
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} ${esc(info.version)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}section{border-top:1px solid #ccc;padding:.5em 0}
.m{display:inline-block;min-width:4em;font-weight:bold}.a{color:#555;font-size:90%}pre{background:#f4f4f4;padding:.5em;overflow:auto}</style></head>
<body><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1)</p>${rows.join("\n")}</body></html>`;
}
