import type { PrivacyZone } from "../../ptz/zones.js";
import type { Prepare } from "../catalog.js";

/**
 * Privacy zones set through the API (src/ptz/privacy-zones.ts owns their rules and audit entries);
 * the config file's zones never reach this table.
 */

export interface StoredZone extends PrivacyZone {
  camera: string;
  setAt: number;
  setBy: string;
}

export interface PrivacyZoneRepository {
  /** One camera's zones, or every camera's, ordered by camera and id. */
  list(camera?: string): Promise<StoredZone[]>;
  get(camera: string, id: string): Promise<StoredZone | undefined>;
  /** Adds the zone or replaces the camera's zone of that id. */
  put(zone: StoredZone): Promise<void>;
  /** False when there was no such zone. */
  remove(camera: string, id: string): Promise<boolean>;
}

interface Row {
  camera: string;
  id: string;
  pan_min: number;
  pan_max: number;
  tilt_min: number;
  tilt_max: number;
  max_zoom: number;
  set_at: number;
  set_by: string;
}

const COLUMNS = "camera, id, pan_min, pan_max, tilt_min, tilt_max, max_zoom, set_at, set_by";

const zone = (r: Row): StoredZone => ({
  camera: r.camera,
  id: r.id,
  pan: [r.pan_min, r.pan_max],
  tilt: [r.tilt_min, r.tilt_max],
  maxZoom: r.max_zoom,
  setAt: r.set_at,
  setBy: r.set_by,
});

export class SqlitePrivacyZoneRepository implements PrivacyZoneRepository {
  constructor(private readonly sql: Prepare) {}

  async list(camera?: string): Promise<StoredZone[]> {
    return this.sql<[{ camera: string | null }], Row>(
      `SELECT ${COLUMNS} FROM privacy_zones WHERE (@camera IS NULL OR camera = @camera) ORDER BY camera, id`,
    )
      .all({ camera: camera ?? null })
      .map(zone);
  }

  async get(camera: string, id: string): Promise<StoredZone | undefined> {
    const r = this.sql<[string, string], Row>(
      `SELECT ${COLUMNS} FROM privacy_zones WHERE camera = ? AND id = ?`,
    ).get(camera, id);
    return r ? zone(r) : undefined;
  }

  async put(z: StoredZone): Promise<void> {
    this.sql(
      `INSERT INTO privacy_zones (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (camera, id) DO UPDATE SET pan_min = excluded.pan_min, pan_max = excluded.pan_max,
           tilt_min = excluded.tilt_min, tilt_max = excluded.tilt_max, max_zoom = excluded.max_zoom,
           set_at = excluded.set_at, set_by = excluded.set_by`,
    ).run(z.camera, z.id, z.pan[0], z.pan[1], z.tilt[0], z.tilt[1], z.maxZoom, z.setAt, z.setBy);
  }

  async remove(camera: string, id: string): Promise<boolean> {
    return this.sql("DELETE FROM privacy_zones WHERE camera = ? AND id = ?").run(camera, id).changes === 1;
  }
}
