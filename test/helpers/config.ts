import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { PrivacyZone } from "../../src/ptz/zones.js";

export interface TestCamera {
  id: string;
  name?: string;
  /** ONVIF port on 127.0.0.1 (a free port stands for a camera that is not there). */
  port: number;
  user?: string;
  password?: string;
  passwordFile?: string;
  required?: boolean;
  /** The camera's privacy zones in the config file (read-only through the API). */
  privacyZones?: PrivacyZone[];
}

export interface TestDaemonConfig {
  httpPort: number;
  cameras: TestCamera[];
  onvif?: { heartbeatSeconds?: number; streamingHeartbeatSeconds?: number; requestTimeoutSeconds?: number };
  /** Further top-level sections (auth, health, …) written as given. */
  extra?: Record<string, unknown>;
}

/** Writes `dir/pscs.yaml` for a daemon under test (storage paths relative to `dir`); returns its path. */
export function writeDaemonConfig(dir: string, o: TestDaemonConfig): string {
  const file = join(dir, "pscs.yaml");
  const config = {
    http: { host: "127.0.0.1", port: o.httpPort },
    storage: { recordings: "rec", evidence: "ev", catalog: "catalog.db" },
    ...(o.onvif ? { onvif: o.onvif } : {}),
    ...o.extra,
    cameras: o.cameras.map((c) => ({
      id: c.id,
      name: c.name ?? c.id.toUpperCase(),
      ...(c.required === undefined ? {} : { required: c.required }),
      ...(c.privacyZones ? { privacyZones: c.privacyZones } : {}),
      onvif: {
        host: "127.0.0.1",
        port: c.port,
        user: c.user ?? "admin",
        ...(c.passwordFile
          ? { passwordFile: c.passwordFile }
          : { password: c.password ?? "Test-Password-1!" }),
      },
    })),
  };
  writeFileSync(file, stringify(config));
  return file;
}
