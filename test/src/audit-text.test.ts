import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/audit/chain.js";
import { type AuditEvent, AuditLog } from "../../src/audit/log.js";
import { openCatalog } from "../../src/catalog/catalog.js";
import { SqliteDirectory } from "../../src/catalog/directory/sqlite.js";
import { anyText } from "../helpers/text.js";

/**
 * Whatever text reaches append() (the boundaries refuse ill-formed text, but this is the last line),
 * the entry it writes verifies: what is hashed is what the row reads back as.
 */

const event = fc.record({
  actor: anyText,
  role: fc.option(anyText),
  action: anyText,
  target: fc.option(anyText),
  outcome: fc.constantFrom("success", "failure", "denied") as fc.Arbitrary<AuditEvent["outcome"]>,
  client: fc.option(anyText),
  details: fc.dictionary(anyText, fc.oneof(anyText, fc.array(anyText, { maxLength: 3 }), fc.integer())),
});

function freshLog(): { audit: AuditLog; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "pscs-audit-text-"));
  const db = openCatalog(join(dir, "catalog.db"));
  return {
    audit: new AuditLog(new SqliteDirectory(db), { anchorFile: join(dir, "catalog.db.audit-anchor") }),
    close: () => db.close(),
  };
}

describe("audit text", () => {
  it("an entry with a lone surrogate in its actor verifies (stored text = hashed text)", async () => {
    const { audit, close } = freshLog();
    await audit.append({
      actor: "user:\ud800",
      action: "auth.login",
      target: "user:\udc00x",
      outcome: "failure",
    });
    await audit.append({ actor: "system", action: "test", outcome: "success" });
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 2 });
    const [first] = await audit.list();
    expect(first?.actor).toBe("user:\ufffd");
    expect(first?.target).toBe("user:\ufffdx");
    close();
  });

  it("property: arbitrary text in every field of appended entries, then verify passes", async () => {
    const { audit, close } = freshLog();
    let appended = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 4 }), async (events) => {
        const entries = await audit.appendMany(events);
        appended += events.length;
        const stored = await audit.list({ after: (entries[0]?.seq ?? 1) - 1, limit: events.length });
        // What append returned (and hashed) is exactly what the rows read back as.
        expect(stored).toEqual(entries);
        events.forEach((e, i) => {
          const s = stored[i];
          expect(s?.actor).toBe(e.actor.toWellFormed());
          expect(s?.target).toBe(e.target === null ? null : e.target.toWellFormed());
          expect(s?.details).toBe(canonicalJson(e.details));
        });
      }),
      { numRuns: 300 },
    );
    expect(await audit.verify()).toMatchObject({ ok: true, entries: appended });
    close();
  });
});
