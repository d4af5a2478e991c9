import { z } from "zod";
import type { AuditTrail } from "../../src/audit/log.js";
import { deliver } from "../../src/exports/deliver.js";
import type { BasisInput, ExportDesk, ExportPackages } from "../../src/exports/export.js";
import { PURPOSE_MAX } from "../../src/footage/purpose.js";
import type { Logger } from "../../src/log/logger.js";
import { problem } from "../http/problem.js";
import { type AnyRoute, defineRoute } from "../http/route.js";
import { rangesSchema, toRanges } from "./schemas.js";

/**
 * Export requests (records) on a legal basis, the commander's approval or refusal, cancellation,
 * and the export list. The desk checks every field of the basis itself (naming it and quoting the
 * policy rule it enforces), so the schema here only bounds what a request may carry. The finished
 * package: its zip download, the server's check of it, and the key a recipient pins.
 */

const exportId = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,12}$/, "expected an export id")
    .transform(Number),
});
const text = (max: number, what: string) => z.string().trim().min(1, `expected ${what}`).max(max);
const field = z.string().max(200).optional();

function requestBody(zone: string) {
  return z.strictObject({
    basis: z.strictObject({
      type: z.string().max(32),
      caseNumber: field,
      requestingOfficer: field,
      agency: field,
      requestNumber: field,
      requestDate: field,
      dispute: field,
      court: field,
      docketNumber: field,
      judge: field,
      orderDate: field,
      /** The written request or the court order, scanned (PDF, PNG, JPEG or TIFF). */
      scan: z
        .strictObject({
          /** The client's idea of the type; the server decides by the bytes. */
          contentType: z.string().max(100).optional(),
          data: z.base64("expected the scan, base64-encoded"),
        })
        .optional(),
    }),
    recipient: z.strictObject({ name: field, organisation: field, delivery: field }),
    purpose: z.string().max(PURPOSE_MAX),
    ranges: rangesSchema(zone),
    hold: z.int().min(1).optional(),
  });
}

/** `packages` is undefined when pscsd has no export key: those routes answer 503. */
export function exportRoutes(
  exports: ExportDesk,
  packages: ExportPackages | undefined,
  audit: Pick<AuditTrail, "list">,
  log: Logger,
  zone: string,
  /** A download whose client has read nothing this long is cut off (playback.stalledSeconds). */
  stalledMs: number,
): AnyRoute[] {
  const shelf = (): ExportPackages => {
    if (packages) return packages;
    throw problem(
      503,
      "exports are off: pscsd could not make its export signing key (exports.signingKey; see its log)",
    );
  };
  return [
    defineRoute({
      method: "post",
      path: "/api/exports",
      operationId: "requestExport",
      summary:
        "Request an export of held footage on a legal basis, for a recipient; unheld footage is held first from the same written request",
      tag: "exports",
      access: { permission: "exports.create" },
      body: requestBody(zone),
      bodyLimit: "21mb",
      // The permission test's catalog has hold 3 active over this range (test/helpers/pscsd.ts).
      example: {
        body: {
          basis: { type: "criminal", caseNumber: "26-000123", requestingOfficer: "Det. A. Example" },
          recipient: {
            name: "ADA B. Example",
            organisation: "New London State's Attorney",
            delivery: "download",
          },
          purpose: "Prosecution of case 26-000123",
          ranges: [{ camera: "cam1", from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:10:00Z" }],
          hold: 3,
        },
      },
      responses: {
        201: { description: "the export request, awaiting a commander" },
        400: {
          description:
            "the legal basis or another field refused: `errors` names it, `policy` quotes the rule",
        },
      },
      handler: async ({ body, action, res }) => {
        const { scan, ...fields } = body.basis;
        // Handed over as entered: the desk checks the basis field by field (retention/export/basis.ts).
        const basis = {
          ...fields,
          ...(scan ? { scan: Buffer.from(scan.data, "base64") } : {}),
        } as BasisInput;
        const e = await exports.request(
          {
            basis,
            recipient: body.recipient as { name: string; organisation: string; delivery: string },
            purpose: body.purpose,
            ranges: toRanges(body.ranges),
            ...(body.hold !== undefined ? { hold: body.hold } : {}),
          },
          action,
        );
        res.status(201).location(`/api/exports/${e.id}`).json(e);
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/exports",
      operationId: "listExports",
      summary: "Every export, newest first: basis, recipient, status, who decided and who downloaded it",
      tag: "exports",
      access: { permission: "exports.read" },
      responses: { 200: { description: "exports" } },
      handler: async ({ action }) => ({ exports: await exports.list(action) }),
    }),
    // Declared before /api/exports/{id}, which would take `key` for an id.
    defineRoute({
      method: "get",
      path: "/api/exports/key",
      operationId: "exportKey",
      summary:
        "The department's export signing key: its fingerprint (SHA-256 of the SPKI DER), which a recipient pins with `pscs verify --fingerprint`, and its public key PEM",
      tag: "exports",
      access: { permission: "exports.read" },
      responses: {
        200: { description: "fingerprint and publicKeyPem" },
        503: { description: "exports are off (no signing key)" },
      },
      handler: () => shelf().key(),
    }),
    defineRoute({
      method: "get",
      path: "/api/exports/{id}",
      operationId: "getExport",
      summary: "One export, with its audit trail",
      tag: "exports",
      access: { permission: "exports.read" },
      params: exportId,
      example: { params: { id: "1" } },
      responses: { 200: { description: "export" } },
      handler: async ({ params, action }) => ({
        ...(await exports.get(params.id, action)),
        trail: await audit.list({ target: `export:${params.id}`, order: "asc", limit: 1000 }),
      }),
    }),
    ...(["approve", "refuse", "cancel"] as const).map((verb) =>
      defineRoute({
        method: "post",
        path: `/api/exports/{id}/${verb}`,
        operationId: `${verb}Export`,
        summary: {
          approve:
            "Approve an export (a commander other than the one who entered it, its hold active): it is queued for production",
          refuse: "Refuse an export request, with the reason",
          cancel:
            "Cancel an export while requested, queued or running (the requester or a commander), with the reason",
        }[verb],
        tag: "exports",
        access: { permission: verb === "cancel" ? "exports.cancel" : "exports.approve" },
        params: exportId,
        body: z.strictObject(
          verb === "approve"
            ? { note: z.string().trim().max(2000).default("") }
            : {
                reason: text(
                  2000,
                  `the written reason for the ${verb === "refuse" ? "refusal" : "cancellation"}`,
                ),
              },
        ),
        // The permission test's catalog has exports 1, 2 and 3 requested by records1 on hold 3.
        example: {
          params: { id: { approve: "1", refuse: "2", cancel: "3" }[verb] },
          body: verb === "approve" ? { note: "ok" } : { reason: "entered in error" },
        },
        responses: {
          200: { description: "export" },
          403: { description: "not a commander, or the person who entered it (two-person rule)" },
          409: { description: "not in a state that allows this, or its hold is not active yet" },
        },
        handler: ({ params, body, action }) => {
          const b = body as { note?: string; reason?: string };
          if (verb === "approve") return exports.approve(params.id, b.note ?? "", action);
          if (verb === "refuse") return exports.refuse(params.id, b.reason ?? "", action);
          return exports.cancel(params.id, b.reason ?? "", action);
        },
      }),
    ),
    defineRoute({
      method: "get",
      path: "/api/exports/{id}/download",
      operationId: "downloadExport",
      summary:
        "The finished package as a stored zip (records, commander); recorded in the export's downloads and audited with the bytes sent, complete or not",
      tag: "exports",
      access: { permission: "exports.download" },
      params: exportId,
      // The permission test's catalog has export 4 done (test/helpers/pscsd.ts).
      example: { params: { id: "4" } },
      responses: {
        200: { description: "application/zip, Content-Length known", contentType: "application/zip" },
        409: { description: "not done, or its package folder no longer matches its manifest" },
        503: { description: "exports are off (no signing key)" },
      },
      handler: async ({ params, action, res }) => {
        const p = await shelf().download(params.id, action);
        res.status(200).set({
          "Content-Type": "application/zip",
          "Content-Length": String(p.bytes),
          "Content-Disposition": `attachment; filename="${p.name}"`,
          "Cache-Control": "no-store",
        });
        const r = await deliver(p, res, stalledMs);
        if (!r.error) return;
        if (r.stalled) {
          log.info(
            { export: params.id, actor: action.actor, sent: r.sent, of: p.bytes, stalledMs },
            "export download stopped: the client read nothing for too long",
          );
          return;
        }
        // A client that goes away mid-download is an incomplete download (recorded), not a failure.
        if ((r.error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE") {
          log.info(
            { export: params.id, actor: action.actor, sent: r.sent, of: p.bytes },
            "export download ended by the client",
          );
          return;
        }
        throw r.error;
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/exports/{id}/verify",
      operationId: "verifyExport",
      summary:
        "Check the stored package as a recipient would (signature, this key, every file's size and SHA-256, nothing added); audited with the outcome",
      tag: "exports",
      access: { permission: "exports.read" },
      params: exportId,
      example: { params: { id: "4" } },
      responses: {
        200: { description: "the report: ok, and every problem naming its file or field" },
        409: { description: "not done: no package yet" },
        503: { description: "exports are off (no signing key)" },
      },
      handler: ({ params, action }) => shelf().verify(params.id, action),
    }),
  ];
}
