import { createHash, randomBytes } from "node:crypto";
import type { Directory } from "../catalog/directory/directory.js";
import type { PtzCommandRecord, PtzSessionRecord } from "../catalog/directory/ptz-sessions.js";
import type { AuditLog } from "./log.js";

/**
 * The department's random inspection: at least four items (holds, exports, PTZ sessions) drawn with a
 * random number generator from a period, each with what the inspector must check.
 * Invariant: the draw is a pure function of (population, seed), and the seed is always printed, so a
 * second inspector can repeat it and get the same items.
 */

export const SAMPLE_KINDS = ["hold", "export", "ptz-session"] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

export interface SampleItem {
  kind: SampleKind;
  /** The audit target, e.g. 'hold:H-2026-0012'. */
  target: string;
  firstAt: number;
  lastAt: number;
  events: number;
  actors: string[];
  actions: string[];
  checklist: string[];
  /** A PTZ session in full (who, camera, purpose, start, end and how, every command), when drawn. */
  ptzSession?: PtzSessionRecord & { commands: PtzCommandRecord[] };
}

export interface Sample {
  seed: string;
  from: number | null;
  to: number | null;
  population: Record<SampleKind, number>;
  items: SampleItem[];
}

const CHECKLIST: Record<SampleKind, string[]> = {
  hold: [
    "A formal written request on the department's form is on file and matches the form number recorded",
    "The request is entered in the Records Service Division Commander's hold log",
    "Legal basis recorded: criminal investigation or prosecution, agency written request, or court order",
    "Approved by the Records Service Division Commander; any release has the commander's written reason",
    "Held footage verifies against the catalog (pscs hold verify)",
  ],
  export: [
    "Legal basis recorded: criminal case number, another agency's formal written request, or for a civil dispute an order of a Judge of the Superior Court",
    "Exported cameras and time range are within what the request asked for",
    "Recipient and hand-over recorded; the export's signed manifest verifies offline (pscs verify)",
  ],
  "ptz-session": [
    "Operator is a named dispatcher and a purpose (incident/CAD number or event) was stated",
    "Camera positions stayed on public areas; any privacy-zone refusal is explained",
    "Nothing suggests a person was followed or targeted for a protected characteristic",
  ],
};

function kindOf(target: string): SampleKind | undefined {
  const prefix = target.slice(0, target.indexOf(":"));
  return (SAMPLE_KINDS as readonly string[]).includes(prefix) ? (prefix as SampleKind) : undefined;
}

/** xoshiro128** (Blackman & Vigna): small, well studied, identical on every machine. */
export function xoshiro128ss(state: readonly [number, number, number, number]): () => number {
  const s = [...state] as [number, number, number, number];
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  return () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  };
}

/** The generator for a seed text: its SHA-256 supplies the 128-bit state. */
export function seededRandom(seed: string): () => number {
  const h = createHash("sha256").update(seed).digest();
  return xoshiro128ss([h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)]);
}

/** Uniform integer in [0, n) without modulo bias. */
function below(next: () => number, n: number): number {
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const r = next();
    if (r < limit) return r % n;
  }
}

export interface SampleOptions {
  count: number;
  seed?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/** Draws the sample; with the directory, each PTZ session drawn comes with its record and commands. */
export async function drawSample(
  audit: AuditLog,
  opts: SampleOptions,
  directory?: Directory,
): Promise<Sample> {
  const seed = opts.seed ?? randomBytes(8).toString("hex");
  const byTarget = new Map<string, SampleItem>();
  for await (const e of audit.iterate({ from: opts.from, to: opts.to })) {
    if (!e.target) continue;
    const kind = kindOf(e.target);
    if (!kind) continue;
    let item = byTarget.get(e.target);
    if (!item) {
      item = {
        kind,
        target: e.target,
        firstAt: e.at,
        lastAt: e.at,
        events: 0,
        actors: [],
        actions: [],
        checklist: CHECKLIST[kind],
      };
      byTarget.set(e.target, item);
    }
    item.lastAt = e.at;
    item.events++;
    if (!item.actors.includes(e.actor)) item.actors.push(e.actor);
    if (!item.actions.includes(e.action)) item.actions.push(e.action);
  }
  // A fixed order before shuffling: the draw must not depend on the order rows came back in.
  const population = [...byTarget.values()].sort((a, b) =>
    a.target < b.target ? -1 : a.target > b.target ? 1 : 0,
  );
  const next = seededRandom(seed);
  const n = Math.min(opts.count, population.length);
  for (let i = 0; i < n; i++) {
    const j = i + below(next, population.length - i);
    [population[i], population[j]] = [population[j] as SampleItem, population[i] as SampleItem];
  }
  const counts = { hold: 0, export: 0, "ptz-session": 0 };
  for (const item of byTarget.values()) counts[item.kind]++;
  return {
    seed,
    from: opts.from ?? null,
    to: opts.to ?? null,
    population: counts,
    items: directory ? await withSessions(directory, population.slice(0, n)) : population.slice(0, n),
  };
}

async function withSessions(directory: Directory, items: SampleItem[]): Promise<SampleItem[]> {
  return directory.read(async (d) => {
    const out: SampleItem[] = [];
    for (const item of items) {
      const id = item.kind === "ptz-session" ? Number(item.target.slice("ptz-session:".length)) : Number.NaN;
      const session = Number.isSafeInteger(id) ? await d.ptzSessions.get(id) : undefined;
      out.push(
        session ? { ...item, ptzSession: { ...session, commands: await d.ptzSessions.commands(id) } } : item,
      );
    }
    return out;
  });
}
