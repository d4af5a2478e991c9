import { type Db, type Prepare, statementCache } from "../catalog.js";

/** A camera's ONVIF identity (GetDeviceInformation), as the export manifest states it. */
export interface CameraIdentityRow {
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  /** UTC ms of the first connection that reported it. */
  seenAt: number;
}

/**
 * The camera_identities table: each camera's identity as it changes, kept as history, so an export
 * names the device that recorded a span even after the camera was replaced or reflashed.
 */
export class CameraIdentities {
  private readonly sql: Prepare;

  constructor(db: Db) {
    this.sql = statementCache(db);
  }

  /** Records `id` as seen at `at`, unless it is the identity already recorded last (no row per connect). */
  record(camera: string, id: Omit<CameraIdentityRow, "seenAt">, at: number): void {
    const last = this.latestAt(camera, Number.MAX_SAFE_INTEGER);
    if (
      last &&
      last.manufacturer === id.manufacturer &&
      last.model === id.model &&
      last.serial === id.serial &&
      last.firmware === id.firmware
    )
      return;
    this.sql(
      "INSERT OR REPLACE INTO camera_identities (camera, seen_at, manufacturer, model, serial, firmware) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(camera, at, id.manufacturer, id.model, id.serial, id.firmware);
  }

  /** The identity in force at `at`: the last seen at or before it. */
  latestAt(camera: string, at: number): CameraIdentityRow | undefined {
    return this.sql<[string, number], CameraIdentityRow>(
      `SELECT manufacturer, model, serial, firmware, seen_at AS seenAt FROM camera_identities
         WHERE camera = ? AND seen_at <= ? ORDER BY seen_at DESC LIMIT 1`,
    ).get(camera, at);
  }

  /** The first identity seen after `at` (a camera whose identity was first asked after its footage). */
  firstAfter(camera: string, at: number): CameraIdentityRow | undefined {
    return this.sql<[string, number], CameraIdentityRow>(
      `SELECT manufacturer, model, serial, firmware, seen_at AS seenAt FROM camera_identities
         WHERE camera = ? AND seen_at > ? ORDER BY seen_at LIMIT 1`,
    ).get(camera, at);
  }
}
