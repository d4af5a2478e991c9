import type { AuditRepository } from "./audit.js";
import type { EvidenceLinkRepository } from "./evidence-links.js";
import type { ExportRepository } from "./exports.js";
import type { HoldRepository } from "./holds.js";
import type { PrivacyZoneRepository } from "./privacy-zones.js";
import type { PtzSessionRepository } from "./ptz-sessions.js";
import type { SessionRepository } from "./sessions.js";
import type { TokenRepository } from "./tokens.js";
import type { UserRepository } from "./users.js";

/**
 * The directory: what every node of a site shares (people, sessions, tokens, holds, evidence links,
 * exports, PTZ sessions, privacy zones, the audit chain). Services reach it only through a unit of work whose repositories are async, so a
 * PostgreSQL directory can replace the embedded SQLite one without touching a service.
 * Invariant: a unit of work awaits only its own repositories. File I/O, hashing, ffmpeg and other
 * services' units of work go before or after it (the SQLite implementation refuses one that yields
 * to the event loop, and rolls it back).
 */

/** The repositories of one unit of work; valid only until its callback's promise settles. */
export interface DirectoryTx {
  readonly audit: AuditRepository;
  readonly holds: HoldRepository;
  readonly evidenceLinks: EvidenceLinkRepository;
  readonly exports: ExportRepository;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly tokens: TokenRepository;
  readonly ptzSessions: PtzSessionRepository;
  readonly privacyZones: PrivacyZoneRepository;
  /**
   * Runs once the unit of work has committed, in registration order, and never if it rolled back:
   * what must follow the rows (the audit anchor file, listeners) without being part of them.
   */
  afterCommit(fn: () => void): void;
}

export interface Directory {
  /** One write transaction: every change in `work` commits together, or none does if it throws. */
  tx<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T>;
  /** One consistent snapshot for reads; never waits for a writer. Writes inside it are a bug. */
  read<T>(work: (d: DirectoryTx) => Promise<T>): Promise<T>;
}

/** A unit of work used against its contract: nested, or yielding to the event loop on SQLite. */
export class UnitOfWorkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnitOfWorkError";
  }
}
