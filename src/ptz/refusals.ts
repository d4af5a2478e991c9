/**
 * Refused PTZ commands, coalesced for the audit log: every refusal is counted in an entry, but a
 * stuck joystick or a client retrying a lock it lost cannot flood the log.
 * Invariant: per person per camera, at most one entry per `windowMs`. The first refusal is written at
 * once; those that follow within the window are counted and written as one entry when it closes
 * (each kind of command with its count, the reasons given); flush() writes what is pending (pscsd
 * stopping). Bounded: a window lives only while refusals keep coming.
 */

export interface RefusalEntry {
  actor: string;
  role: string | null;
  client: string;
  camera: string;
  /** Refused commands of each kind. */
  commands: Record<string, number>;
  refusals: number;
  /** The distinct reasons given, first ones first (at most MAX_REASONS). */
  reasons: string[];
  /** The zone named, when a refusal was a privacy zone's. */
  zones: string[];
  firstAt: number;
  lastAt: number;
}

interface Window {
  pending: RefusalEntry | undefined;
  timer: NodeJS.Timeout;
}

const MAX_REASONS = 5;

export class RefusalLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
    /** Writes one entry; its failure is the writer's to log (it must not reject). */
    private readonly write: (entry: RefusalEntry) => Promise<void>,
  ) {}

  /** Counts one refusal; resolves once its entry is written, or at once when it waits in a window. */
  async refused(
    who: { actor: string; role: string | null; client: string },
    camera: string,
    kind: string,
    reason: string,
    zone?: string,
  ): Promise<void> {
    const key = `${who.actor}\n${camera}`;
    const at = this.now();
    const w = this.windows.get(key);
    if (!w) {
      this.windows.set(key, { pending: undefined, timer: this.close(key) });
      await this.write(this.add(undefined, who, camera, kind, reason, zone, at));
      return;
    }
    w.pending = this.add(w.pending, who, camera, kind, reason, zone, at);
  }

  /** Writes every pending count now (pscsd stopping). */
  async flush(): Promise<void> {
    for (const [key, w] of this.windows) {
      clearTimeout(w.timer);
      this.windows.delete(key);
      if (w.pending) await this.write(w.pending);
    }
  }

  private close(key: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      const w = this.windows.get(key);
      if (!w) return;
      if (!w.pending) {
        this.windows.delete(key);
        return;
      }
      // Still refusing: this window's count is written and the next window starts now.
      void this.write(w.pending);
      w.pending = undefined;
      w.timer = this.close(key);
    }, this.windowMs);
    t.unref();
    return t;
  }

  private add(
    e: RefusalEntry | undefined,
    who: { actor: string; role: string | null; client: string },
    camera: string,
    kind: string,
    reason: string,
    zone: string | undefined,
    at: number,
  ): RefusalEntry {
    const out: RefusalEntry = e ?? {
      actor: who.actor,
      role: who.role,
      client: who.client,
      camera,
      commands: {},
      refusals: 0,
      reasons: [],
      zones: [],
      firstAt: at,
      lastAt: at,
    };
    out.commands[kind] = (out.commands[kind] ?? 0) + 1;
    out.refusals += 1;
    out.lastAt = at;
    if (!out.reasons.includes(reason) && out.reasons.length < MAX_REASONS) out.reasons.push(reason);
    if (zone && !out.zones.includes(zone)) out.zones.push(zone);
    return out;
  }
}
