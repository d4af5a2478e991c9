/**
 * What happened to PTZ control, for the UI: control taken, released, expired, taken over, a move
 * stopped by the dead-man timeout or at a privacy zone. Kept in memory (the audit log is the record), bounded, each with
 * an increasing id so a client asks for what came after the last one it saw.
 */

export type PtzEventKind = "control" | "released" | "expired" | "taken-over" | "deadman-stop" | "zone-stop";

export interface PtzEvent {
  id: number;
  at: number;
  kind: PtzEventKind;
  camera: string;
  session: number;
  /** Whom it concerns: the controller (for taken-over, the one who lost control). */
  actor: string;
  /** Who did it, when not `actor`: the supervisor who took over. */
  by?: string;
}

/** The events as their readers see them: those kept since an id, and each new one as it happens. */
export interface PtzEventFeed {
  /** Events after `since` (an id), oldest first. */
  after(since?: number): PtzEvent[];
  /** Calls `listener` with each new event; returns the unsubscribe. */
  subscribe(listener: (e: PtzEvent) => void): () => void;
}

const KEEP = 1_000;

export class PtzEvents implements PtzEventFeed {
  private readonly events: PtzEvent[] = [];
  private next = 1;
  private readonly listeners = new Set<(e: PtzEvent) => void>();

  emit(e: Omit<PtzEvent, "id">): PtzEvent {
    const event = { id: this.next++, ...e };
    this.events.push(event);
    if (this.events.length > KEEP) this.events.shift();
    for (const l of this.listeners) l(event);
    return event;
  }

  /** Events after `since` (an id), oldest first. */
  after(since = 0): PtzEvent[] {
    return this.events.filter((e) => e.id > since);
  }

  /** Calls `listener` with each new event; returns the unsubscribe. */
  subscribe(listener: (e: PtzEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
