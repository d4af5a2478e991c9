import type { Command } from "commander";
import type { Manifest } from "../exports/package-format.js";
import { verifyPackage } from "../exports/verify.js";
import { asCliError, CliError, print } from "./common.js";

/**
 * `pscs verify <folder|zip>`: an export package checked offline, by anyone holding it (a court, an
 * agency, the defence). It opens no config or catalog and needs no pscsd: the rules are
 * `src/exports/verify.ts`'s; this prints its report.
 */

const OPTIONS = { fingerprint: "--fingerprint", package: "<package>" };

function basisText(m: Manifest): string {
  const b = m.basis;
  if (b.type === "criminal") return `criminal, case ${b.caseNumber} (${b.requestingOfficer})`;
  if (b.type === "agency_request")
    return `agency request ${b.requestNumber} of ${b.requestDate} (${b.agency})`;
  return `court order, docket ${b.docketNumber}, ${b.court}, ${b.judge}, ${b.orderDate}`;
}

export function verifyCommand(program: Command): void {
  program
    .command("verify")
    .description(
      "check an export package (folder or .zip) offline: signature, every file's size and SHA-256, nothing added or missing; exit 1 naming each file or field that fails",
    )
    .argument("<package>", "the package folder, or its .zip")
    .option(
      "--fingerprint <hex>",
      "the department's export key fingerprint (SHA-256, as `pscs export key` prints it; colons or spaces allowed)",
    )
    .option("--json", "machine-readable output")
    .action(async (path: string, o: { fingerprint?: string; json?: boolean }) => {
      const r = await verifyPackage(path, { fingerprint: o.fingerprint }).catch((e) =>
        asCliError(e, OPTIONS),
      );
      if (!r.ok) {
        if (o.json) print(true, r, () => "");
        throw new CliError(
          [
            `${path}: does NOT verify (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"})`,
            ...r.problems.map((p) => `  ${p.subject}: ${p.problem}`),
          ].join("\n"),
        );
      }
      const m = r.manifest as Manifest;
      print(!!o.json, r, () =>
        [
          `${path}: verifies (${r.form})`,
          `  export ${m.exportId}, hold ${m.hold}`,
          `  basis: ${basisText(m)}`,
          `  cameras: ${m.cameras.map((c) => c.camera).join(", ") || "none"}`,
          `  files: ${r.files} listed, ${r.bytes} bytes, every SHA-256 matches`,
          `  signed by key ${r.keyFingerprint}${o.fingerprint ? " (the fingerprint given)" : " (not pinned: pass --fingerprint to check it is the department's)"}`,
        ].join("\n"),
      );
    });
}
