import type { PtzPurpose } from "../../../src/ptz/purpose.js";
import { api } from "../api.js";

/** PTZ over the API for one camera: control (purpose, lease), moves with keep-alives, presets, home (go, set). */

export interface Lock {
  camera: string;
  session: number;
  actor: string;
  since: number;
  purpose: PtzPurpose;
  leaseUntil: number;
}

export interface Granted extends Lock {
  keepAliveMs: number;
  deadmanMs: number;
  leaseMs: number;
}

export interface Preset {
  token: string;
  name: string;
}

export interface Velocity {
  pan?: number;
  tilt?: number;
  zoom?: number;
}

export class PtzClient {
  private keepAlive: number | undefined;
  private moving: Velocity | undefined;
  private sent: Velocity | undefined;
  private sending = false;

  constructor(
    readonly camera: string,
    private readonly keepAliveMs: () => number,
  ) {}

  private path(p = ""): string {
    return `/api/cameras/${encodeURIComponent(this.camera)}/ptz${p}`;
  }

  /** Who holds control (the panel asks every few seconds: a background request). */
  lock(): Promise<{ lock: Lock | null }> {
    return api(this.path("/control"), { background: true });
  }

  take(purpose: PtzPurpose, takeover = false): Promise<Granted> {
    return api(this.path(takeover ? "/takeover" : "/control"), { body: { purpose } });
  }

  release(): Promise<void> {
    this.halt();
    return api(this.path("/control"), { method: "DELETE" });
  }

  async presets(): Promise<Preset[]> {
    return (await api<{ presets: Preset[] }>(this.path("/presets"))).presets;
  }

  gotoPreset(token: string): Promise<void> {
    return api(this.path(`/presets/${encodeURIComponent(token)}/goto`), { method: "POST" });
  }

  savePreset(name: string): Promise<{ token: string }> {
    return api(this.path("/presets"), { body: { name } });
  }

  deletePreset(token: string): Promise<void> {
    return api(this.path(`/presets/${encodeURIComponent(token)}`), { method: "DELETE" });
  }

  /** Home becomes where the camera points now. */
  setHome(): Promise<void> {
    return api(this.path("/home"), { method: "PUT" });
  }

  home(): Promise<void> {
    return api(this.path("/home/goto"), { method: "POST" });
  }

  /**
   * Moves at `v` until stop(): the latest velocity is sent when the previous request answered (a
   * joystick dragged fast sends no queue of stale moves), and keep-alives go out while it moves, so
   * pscsd's dead-man stops the camera if this page goes away.
   */
  move(v: Velocity): Promise<void> {
    this.moving = v;
    if (this.keepAlive === undefined) {
      this.keepAlive = window.setInterval(() => {
        void api(this.path("/keepalive"), { method: "POST" }).catch(() => undefined);
      }, this.keepAliveMs());
    }
    return this.flush();
  }

  async stop(): Promise<void> {
    this.halt();
    await api(this.path("/stop"), { method: "POST" });
  }

  private halt(): void {
    this.moving = undefined;
    this.sent = undefined;
    window.clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.moving && this.moving !== this.sent) {
        const v = this.moving;
        this.sent = v;
        await api(this.path("/continuous"), { body: { velocity: v } });
      }
    } finally {
      this.sending = false;
    }
  }
}
