import type { AuditLog } from "../audit/log.js";
import { type ActionContext, auditIn } from "../auth/acting.js";
import { type Permission, roleGrants } from "../auth/roles.js";
import type { Directory } from "../catalog/directory/directory.js";
import { ServiceError } from "../errors/service-error.js";
import { textFault } from "../text/well-formed.js";
import {
  type AxisSpeeds,
  DEFAULT_AXIS_SPEEDS,
  DEFAULT_FIELD_OF_VIEW,
  type FieldOfView,
  type PrivacyZone,
  privacyZoneSchema,
} from "./zones.js";

/**
 * Each camera's privacy zones (policy, Use Procedures 4): the config file's, read-only, and those
 * admins set through the API, kept in the directory so every node enforces the same ones.
 * Invariants: only `zones.manage` adds, changes or removes a zone, always with a stated reason, and
 * each change is audited with the zone before and after; a config zone's id cannot be taken by an API
 * zone. Zones are read from the directory at every check, never cached, so a change holds at once.
 */

export interface CameraGeometry {
  fieldOfView?: FieldOfView;
  speeds?: AxisSpeeds;
  /** From the config file. */
  zones?: readonly PrivacyZone[];
}

export interface ZoneRecord extends PrivacyZone {
  camera: string;
  source: "config" | "api";
  setAt?: number;
  setBy?: string;
}

export interface PrivacyZonesOptions {
  directory: Directory;
  audit: AuditLog;
  cameras: ReadonlyMap<string, CameraGeometry>;
  now?: () => number;
}

/**
 * What the API changes of the zones, each change audited with its reason (PrivacyZones is the
 * implementation).
 */
export interface PrivacyZoneDesk {
  /** Adds or replaces an API zone; returns it. A config file zone cannot be changed here. */
  put(camera: string, input: unknown, reasonInput: unknown, by: ActionContext): Promise<ZoneRecord>;
  remove(camera: string, id: string, reasonInput: unknown, by: ActionContext): Promise<void>;
}

const REASON_MAX = 500;

export class PrivacyZones implements PrivacyZoneDesk {
  private readonly now: () => number;

  constructor(private readonly o: PrivacyZonesOptions) {
    this.now = o.now ?? Date.now;
  }

  fieldOfView(camera: string): FieldOfView {
    return this.o.cameras.get(camera)?.fieldOfView ?? DEFAULT_FIELD_OF_VIEW;
  }

  speeds(camera: string): AxisSpeeds {
    return this.o.cameras.get(camera)?.speeds ?? DEFAULT_AXIS_SPEEDS;
  }

  /** Every zone of the camera in force now, config first (for enforcement: no permission asked). */
  async of(camera: string): Promise<ZoneRecord[]> {
    const configured = (this.o.cameras.get(camera)?.zones ?? []).map(
      (z): ZoneRecord => ({ ...z, camera, source: "config" }),
    );
    const stored = await this.o.directory.read((d) => d.privacyZones.list(camera));
    return [
      ...configured,
      ...stored.map(({ setAt, setBy, ...z }): ZoneRecord => ({ ...z, camera, source: "api", setAt, setBy })),
    ];
  }

  async list(camera: string, by: ActionContext): Promise<ZoneRecord[]> {
    this.require(by, "zones.read");
    this.known(camera);
    return this.of(camera);
  }

  /** Adds or replaces an API zone; returns it. */
  async put(camera: string, input: unknown, reasonInput: unknown, by: ActionContext): Promise<ZoneRecord> {
    this.require(by, "zones.manage");
    this.known(camera);
    const reason = reasonOf(reasonInput);
    const parsed = privacyZoneSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = ["zone", ...(issue?.path ?? [])].join("/");
      throw new ServiceError("invalid", `${field}: ${issue?.message ?? "not a zone"}`, field);
    }
    const zone = parsed.data as PrivacyZone;
    this.notConfigured(camera, zone.id);
    const setAt = this.now();
    await this.o.directory.tx(async (d) => {
      const before = await d.privacyZones.get(camera, zone.id);
      await d.privacyZones.put({ ...zone, camera, setAt, setBy: by.actor });
      await auditIn(this.o.audit, d, by, "zones.put", `privacy-zone:${camera}/${zone.id}`, "success", {
        camera,
        zone,
        reason,
        ...(before ? { before: { pan: before.pan, tilt: before.tilt, maxZoom: before.maxZoom } } : {}),
      });
    });
    return { ...zone, camera, source: "api", setAt, setBy: by.actor };
  }

  async remove(camera: string, id: string, reasonInput: unknown, by: ActionContext): Promise<void> {
    this.require(by, "zones.manage");
    this.known(camera);
    const reason = reasonOf(reasonInput);
    this.notConfigured(camera, id);
    await this.o.directory.tx(async (d) => {
      const before = await d.privacyZones.get(camera, id);
      if (!before) throw new ServiceError("not_found", `camera '${camera}' has no zone '${id}'`, "zone");
      await d.privacyZones.remove(camera, id);
      await auditIn(this.o.audit, d, by, "zones.remove", `privacy-zone:${camera}/${id}`, "success", {
        camera,
        zone: { id, pan: before.pan, tilt: before.tilt, maxZoom: before.maxZoom },
        reason,
      });
    });
  }

  private notConfigured(camera: string, id: string): void {
    if (this.o.cameras.get(camera)?.zones?.some((z) => z.id === id)) {
      throw new ServiceError(
        "conflict",
        `zone '${id}' of camera '${camera}' is set in the config file: change it there`,
        "zone",
      );
    }
  }

  private known(camera: string): void {
    if (!this.o.cameras.has(camera)) throw new ServiceError("not_found", `no camera '${camera}'`, "camera");
  }

  private require(by: ActionContext, permission: Permission): void {
    if (!roleGrants(by.role, permission)) {
      throw new ServiceError("forbidden", `${by.actor} may not do this: it needs ${permission}`);
    }
  }
}

function reasonOf(value: unknown): string {
  const s = typeof value === "string" ? value.trim() : "";
  const fault = typeof value === "string" ? textFault(value) : "expected text";
  if (fault || !s || s.length > REASON_MAX) {
    throw new ServiceError("invalid", `reason: ${fault ?? `1 to ${REASON_MAX} characters`}`, "reason");
  }
  return s;
}
