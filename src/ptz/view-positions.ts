import type { PtzPosition } from "../cameras/ptz.js";

/**
 * Where each camera points, as live views need it to place privacy masks: however many tiles of
 * however many dispatchers ask, a camera gets one GetStatus at a time, and an answer younger than
 * `freshMs` is handed out again (a wall of sixteen cameras on five desks, each tile asking twice a
 * second, would otherwise be ten round trips a second to every camera, crowding out its PTZ).
 * Invariant: only masks read these; a PTZ rule (a zone check, the zone guard) asks the camera itself.
 */
export class ViewPositions {
  private readonly cameras = new Map<
    string,
    { pending?: Promise<PtzPosition | undefined>; answer?: PtzPosition; answeredAt: number }
  >();

  constructor(
    /** The camera's position now; undefined when it has no PTZ. A failure reads as unknown. */
    private readonly read: (camera: string) => Promise<PtzPosition> | undefined,
    private readonly freshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The camera's position (undefined: unknown), shared with every caller asking meanwhile. */
  of(camera: string): Promise<PtzPosition | undefined> {
    let c = this.cameras.get(camera);
    if (!c) {
      c = { answeredAt: Number.NEGATIVE_INFINITY };
      this.cameras.set(camera, c);
    }
    if (c.pending) return c.pending;
    if (this.now() - c.answeredAt < this.freshMs) return Promise.resolve(c.answer);
    const entry = c;
    const pending = (this.read(camera) ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .then((p) => {
        Object.assign(entry, { answer: p, answeredAt: this.now(), pending: undefined });
        return p;
      });
    entry.pending = pending;
    return pending;
  }
}
