import { createHash } from "node:crypto";
import { SYSTEM_ACTOR } from "../audit/actors.js";
import { canonicalJson } from "../audit/chain.js";
import type { AuditLog } from "../audit/log.js";
import type { Config } from "./load.js";

/**
 * Configuration changes, made visible at start: the config lives in a file edited outside the
 * daemon, so every start is audited (`daemon.start`) with a hash per configuration section, and a
 * section whose hash differs from the previous start's is audited as a `config.change` first.
 */
export async function auditDaemonStart(audit: AuditLog, config: Config, version: string): Promise<void> {
  const { file, ...rest } = config;
  const sections: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) {
    sections[k] = createHash("sha256").update(canonicalJson(v)).digest("hex").slice(0, 16);
  }
  const [prev] = await audit.list({ action: "daemon.start", order: "desc", limit: 1 });
  const before = prev
    ? ((JSON.parse(prev.details) as { config?: Record<string, string> }).config ?? {})
    : undefined;
  const base = { ...SYSTEM_ACTOR, outcome: "success" as const };
  if (before) {
    const changed = Object.keys({ ...before, ...sections }).filter((k) => before[k] !== sections[k]);
    if (changed.length) {
      await audit.append({
        ...base,
        action: "config.change",
        target: `config:${file}`,
        details: { sections: changed, previous: before, current: sections },
      });
    }
  }
  await audit.append({
    ...base,
    action: "daemon.start",
    target: `config:${file}`,
    details: { version, config: sections },
  });
}
