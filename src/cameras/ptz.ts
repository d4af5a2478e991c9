import { actedOn, MAX_TOKEN_CHARS, type OnvifCamera, OnvifError } from "./onvif-client.js";

/**
 * ONVIF PTZ commands for one camera, through the `onvif` client's session (./onvif-client.ts), in the
 * generic spaces: pan and tilt in [-1, 1], zoom in [0, 1]; velocities and translations in [-1, 1],
 * speeds in [0, 1]. Only the camera protocol lives here; who may move a camera, and why, is the PTZ
 * service's (src/ptz/service.ts).
 * Invariants: every call is bounded by the session's request timeout; text pscsd sends (preset names
 * and tokens) is XML-escaped here, because the client pastes it into the SOAP body as it is.
 */

export interface PtzPosition {
  pan: number;
  tilt: number;
  zoom: number;
}

export type PtzMoveState = "IDLE" | "MOVING" | "UNKNOWN";

export interface PtzStatus {
  position: PtzPosition;
  moveStatus: { panTilt: PtzMoveState; zoom: PtzMoveState };
}

export interface PtzPreset {
  token: string;
  name: string;
  position?: PtzPosition;
}

/** The client's PanTiltZoom shape: x is pan, y is tilt. */
interface ClientVector {
  x?: number;
  y?: number;
  zoom?: number;
}

const esc = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );

function vector(v: Partial<PtzPosition>): ClientVector {
  const out: ClientVector = {};
  // The client sends PanTilt only with both x and y: a pan-only move keeps tilt still at 0.
  if (v.pan !== undefined || v.tilt !== undefined) {
    out.x = v.pan ?? 0;
    out.y = v.tilt ?? 0;
  }
  if (v.zoom !== undefined) out.zoom = v.zoom;
  return out;
}

const num = (v: unknown): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

const moveState = (v: unknown): PtzMoveState => (v === "IDLE" || v === "MOVING" ? v : "UNKNOWN");

/** A preset as the client hands it over (linerased XML). */
interface ClientPreset {
  $?: { token?: unknown };
  name?: unknown;
  PTZPosition?: { panTilt?: { $?: { x?: unknown; y?: unknown } }; zoom?: { $?: { x?: unknown } } };
}

export class PtzCamera {
  constructor(private readonly session: OnvifCamera) {}

  private get profileToken(): string {
    const t = this.session.profileToken;
    if (t === undefined) throw new OnvifError(this.session.name, "PTZ", new Error("no media profile"));
    return t;
  }

  private token(field: string, token: string): string {
    try {
      return esc(actedOn(field, token, MAX_TOKEN_CHARS));
    } catch (e) {
      throw new OnvifError(this.session.name, field, e);
    }
  }

  async continuousMove(velocity: Partial<PtzPosition>, timeoutMs?: number): Promise<void> {
    const profileToken = this.profileToken;
    const v = vector(velocity);
    await this.session.request<unknown>(
      "ContinuousMove",
      (cam, cb) =>
        cam.continuousMove(
          {
            profileToken,
            ...v,
            onlySendPanTilt: v.zoom === undefined,
            onlySendZoom: v.x === undefined,
            ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
          },
          cb,
        ),
      true,
    );
  }

  async absoluteMove(target: Partial<PtzPosition>, speed?: Partial<PtzPosition>): Promise<void> {
    const profileToken = this.profileToken;
    const v = vector(target);
    await this.session.request<unknown>(
      "AbsoluteMove",
      (cam, cb) =>
        cam.absoluteMove(
          {
            profileToken,
            ...v,
            onlySendPanTilt: v.zoom === undefined,
            onlySendZoom: v.x === undefined,
            ...(speed ? { speed: vector(speed) } : {}),
          },
          cb,
        ),
      true,
    );
  }

  async relativeMove(by: Partial<PtzPosition>, speed?: Partial<PtzPosition>): Promise<void> {
    const profileToken = this.profileToken;
    const v = vector(by);
    await this.session.request<unknown>(
      "RelativeMove",
      (cam, cb) =>
        cam.relativeMove(
          {
            profileToken,
            x: v.x ?? 0,
            y: v.y ?? 0,
            zoom: v.zoom ?? 0,
            ...(speed ? { speed: vector(speed) } : {}),
          },
          cb,
        ),
      true,
    );
  }

  async stop(what: { panTilt?: boolean; zoom?: boolean } = {}): Promise<void> {
    const profileToken = this.profileToken;
    await this.session.request<unknown>(
      "Stop",
      (cam, cb) =>
        cam.stop(
          { profileToken, panTilt: String(what.panTilt ?? true), zoom: String(what.zoom ?? true) },
          cb,
        ),
      true,
    );
  }

  async status(): Promise<PtzStatus> {
    const profileToken = this.profileToken;
    const s = await this.session.request<{
      position?: { x?: unknown; y?: unknown; zoom?: unknown };
      moveStatus?: { panTilt?: unknown; zoom?: unknown };
    }>("GetStatus", (cam, cb) => cam.getStatus({ profileToken }, cb));
    return {
      position: { pan: num(s.position?.x), tilt: num(s.position?.y), zoom: num(s.position?.zoom) },
      moveStatus: { panTilt: moveState(s.moveStatus?.panTilt), zoom: moveState(s.moveStatus?.zoom) },
    };
  }

  async presets(): Promise<PtzPreset[]> {
    const profileToken = this.profileToken;
    const byName = await this.session.request<Record<string, ClientPreset>>("GetPresets", (cam, cb) =>
      cam.getPresets({ profileToken }, cb),
    );
    return Object.values(byName).map((p) => {
      const pos = p.PTZPosition;
      return {
        token: actedOn("Preset.token", p.$?.token, MAX_TOKEN_CHARS),
        name: String(p.name ?? "").toWellFormed(),
        ...(pos
          ? {
              position: {
                pan: num(pos.panTilt?.$?.x),
                tilt: num(pos.panTilt?.$?.y),
                zoom: num(pos.zoom?.$?.x),
              },
            }
          : {}),
      };
    });
  }

  async gotoPreset(token: string, speed?: Partial<PtzPosition>): Promise<void> {
    const profileToken = this.profileToken;
    const preset = this.token("PresetToken", token);
    await this.session.request<unknown>(
      "GotoPreset",
      (cam, cb) => cam.gotoPreset({ profileToken, preset, ...(speed ? { speed: vector(speed) } : {}) }, cb),
      true,
    );
  }

  /** Saves the current position as a preset (a new one, or `token` overwritten); returns its token. */
  async setPreset(name: string, token?: string): Promise<string> {
    const profileToken = this.profileToken;
    const presetName = esc(name);
    const presetToken = token === undefined ? undefined : this.token("PresetToken", token);
    const answer = await this.session.request<unknown>("SetPreset", (cam, cb) =>
      cam.setPreset({ profileToken, presetName, ...(presetToken ? { presetToken } : {}) }, cb),
    );
    const saved = token ?? findToken(answer);
    if (saved === undefined)
      throw new OnvifError(this.session.name, "SetPreset", new Error("no PresetToken"));
    return actedOn("PresetToken", saved, MAX_TOKEN_CHARS);
  }

  async removePreset(token: string): Promise<void> {
    const profileToken = this.profileToken;
    const presetToken = this.token("PresetToken", token);
    await this.session.request<unknown>(
      "RemovePreset",
      (cam, cb) => cam.removePreset({ profileToken, presetToken }, cb),
      true,
    );
  }

  async gotoHome(speed?: Partial<PtzPosition>): Promise<void> {
    const profileToken = this.profileToken;
    await this.session.request<unknown>(
      "GotoHomePosition",
      (cam, cb) => cam.gotoHomePosition({ profileToken, ...(speed ? { speed: vector(speed) } : {}) }, cb),
      true,
    );
  }

  async setHome(): Promise<void> {
    const profileToken = this.profileToken;
    await this.session.request<unknown>(
      "SetHomePosition",
      (cam, cb) => cam.setHomePosition({ profileToken }, cb),
      true,
    );
  }
}

/** The PresetToken in SetPreset's answer, wherever the client's XML parse put it. */
function findToken(answer: unknown): string | undefined {
  if (answer === null || typeof answer !== "object") return undefined;
  for (const [k, v] of Object.entries(answer)) {
    if (k.toLowerCase() === "presettoken") {
      const t = Array.isArray(v) ? v[0] : v;
      if (typeof t === "string" || typeof t === "number") return String(t);
    }
    const inner = findToken(v);
    if (inner !== undefined) return inner;
  }
  return undefined;
}
