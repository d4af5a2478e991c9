import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError, print } from "./common.js";

/** `pscs health`: asks a running pscsd, as ops tooling would (a token for the detailed document). */

async function get(
  url: URL,
  token: string | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(5_000),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (e) {
    throw new CliError(
      `pscsd at ${url.origin} is not answering: ${e instanceof Error ? ((e.cause as Error)?.message ?? e.message) : e}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body };
}

export function healthCommand(program: Command): void {
  program
    .command("health")
    .description("ask a running pscsd how it is (detail with an ops token)")
    .option("--url <url>", "pscsd base URL", "http://127.0.0.1:8080")
    .option("--token-file <file>", "file holding an ops API token (or set PSCS_TOKEN)")
    .option("--json", "machine-readable output")
    .action(async (o: { url: string; tokenFile?: string; json?: boolean }) => {
      let base: URL;
      try {
        base = new URL(o.url);
      } catch {
        throw new CliError(`--url: expected a URL such as http://127.0.0.1:8080, got '${o.url}'`, 2);
      }
      let token = process.env.PSCS_TOKEN;
      if (o.tokenFile) {
        try {
          token = (await readFile(o.tokenFile, "utf8")).trim();
        } catch (e) {
          throw new CliError(
            `--token-file: cannot read ${o.tokenFile}: ${(e as NodeJS.ErrnoException).code}`,
            2,
          );
        }
      }
      const live = await get(new URL("/healthz", base), undefined);
      if (live.status !== 200)
        throw new CliError(`pscsd at ${base.origin} answered /healthz with ${live.status}`);
      const ready = await get(new URL("/readyz", base), undefined);
      const detail = token ? await get(new URL("/api/health", base), token) : undefined;
      if (detail && detail.status !== 200) {
        throw new CliError(
          `pscsd refused the health document (${detail.status}): ${String(detail.body.detail ?? "")}`,
        );
      }
      const out = { live: live.body, ready: ready.body, detail: detail?.body ?? null };
      print(!!o.json, out, () => {
        const lines = [
          `pscsd ${String(live.body.version)} at ${base.origin}: alive, up ${String(live.body.uptimeSeconds)} s, ${ready.status === 200 ? "ready" : "NOT READY"}`,
        ];
        const checks = (ready.body.checks ?? {}) as Record<string, { ok: boolean; detail?: string }>;
        for (const [k, c] of Object.entries(checks))
          lines.push(`  ${k.padEnd(8)} ${c.ok ? "ok" : `FAIL ${c.detail ?? ""}`}`);
        if (detail) {
          const d = detail.body as {
            status: string;
            cameras: { id: string; state: string; lastError?: string; clockOff?: string }[];
            storage: { volume: string; freeBytes: number; daysLeft: number | null; low: boolean }[];
            audit: { entries: number; chain: { result: { ok: boolean; reason?: string } } | null };
            exports?: { on: boolean; detail?: string };
          };
          lines.push(`status: ${d.status}`);
          for (const c of d.cameras)
            lines.push(
              `  camera ${c.id.padEnd(12)} ${c.state}${c.lastError ? ` (${c.lastError})` : ""}${c.clockOff ? `; ${c.clockOff}` : ""}`,
            );
          for (const v of d.storage)
            lines.push(
              `  storage ${v.volume.padEnd(11)} ${(v.freeBytes / 2 ** 30).toFixed(1)} GiB free${v.daysLeft === null ? "" : `, ${v.daysLeft.toFixed(1)} days left`}${v.low ? " LOW" : ""}`,
            );
          lines.push(
            `  audit   ${d.audit.entries} entries, chain ${d.audit.chain ? (d.audit.chain.result.ok ? "ok" : `BROKEN: ${d.audit.chain.result.reason}`) : "not yet checked"}`,
          );
          if (d.exports && !d.exports.on) lines.push(`  exports OFF: ${d.exports.detail ?? ""}`);
        } else lines.push("(detail needs an ops token: --token-file or PSCS_TOKEN)");
        return lines.join("\n");
      });
      if (ready.status !== 200) process.exitCode = 1;
    });
}
