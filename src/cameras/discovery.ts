import type { RemoteInfo } from "node:dgram";
import { networkInterfaces } from "node:os";
import onvif from "onvif";

/**
 * ONVIF cameras on the network, found by WS-Discovery through the `onvif` package: one multicast
 * Probe to 239.255.255.250:3702, every ProbeMatch that comes back within the timeout.
 * Invariant: with an interface named, the probe is sent from that interface's address and so leaves
 * only through it (Linux routes a multicast from a bound source out of that source's interface):
 * `lo` keeps discovery on this host.
 */

// A CommonJS module whose `Discovery` Node cannot see as a named export.
const { Discovery } = onvif;

export interface DiscoveredCamera {
  /** The device's endpoint reference (`urn:uuid:…`): the same device answers with the same one. */
  urn: string;
  /** ONVIF device service addresses it gave. */
  xaddrs: string[];
  /** Host and port of the address the prober can reach, for `onvif.host` / `onvif.port`. */
  host: string;
  port: number;
  name?: string;
  hardware?: string;
  location?: string;
  scopes: string[];
  types: string[];
  /** The address the answer came from. */
  from: string;
}

export interface DiscoveryResult {
  cameras: DiscoveredCamera[];
  /** Answers that were not ProbeMatches we could read (other devices' traffic, broken firmware). */
  problems: string[];
}

export class DiscoveryError extends Error {
  constructor(
    message: string,
    /** The named interface is the problem (no such interface, or no IPv4 address on it). */
    readonly badInterface = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DiscoveryError";
  }
}

/** The IPv4 address of a named interface, which the probe's socket is bound to. */
export function interfaceAddress(name: string): string {
  const addrs = networkInterfaces()[name]?.filter((a) => a.family === "IPv4") ?? [];
  const first = addrs[0];
  if (!first) {
    const known = Object.entries(networkInterfaces())
      .filter(([, a]) => a?.some((x) => x.family === "IPv4"))
      .map(([n]) => n);
    throw new DiscoveryError(
      `no network interface '${name}' with an IPv4 address (have: ${known.join(", ")})`,
      true,
    );
  }
  return first.address;
}

export function discoverCameras(o: { interface?: string; timeoutMs: number }): Promise<DiscoveryResult> {
  // The package falls back to every interface when the name is unknown: refuse it here instead.
  if (o.interface !== undefined) interfaceAddress(o.interface);
  const found = new Map<string, DiscoveredCamera>();
  const problems: string[] = [];
  const onDevice = (raw: unknown, from: RemoteInfo) => {
    for (const cam of probeMatches(raw, from.address)) if (!found.has(cam.urn)) found.set(cam.urn, cam);
  };
  const onError = (err: unknown) => problems.push(err instanceof Error ? err.message : String(err));
  Discovery.on("device", onDevice);
  Discovery.on("error", onError);
  return new Promise<DiscoveryResult>((resolve, reject) => {
    try {
      Discovery.probe(
        { timeout: o.timeoutMs, resolve: false, ...(o.interface ? { device: o.interface } : {}) },
        (err) => {
          Discovery.off("device", onDevice);
          Discovery.off("error", onError);
          // Unreadable answers come back as an array (already in `problems`); a lone Error is the socket's.
          if (err instanceof Error)
            reject(new DiscoveryError(`WS-Discovery failed: ${err.message}`, false, { cause: err }));
          else resolve({ cameras: [...found.values()], problems });
        },
      );
    } catch (e) {
      Discovery.off("device", onDevice);
      Discovery.off("error", onError);
      reject(new DiscoveryError(`WS-Discovery failed: ${(e as Error).message}`, false, { cause: e }));
    }
  });
}

const str = (v: unknown): string | undefined => {
  if (typeof v === "string" || typeof v === "number") return String(v);
  // xml2js puts an element's text under `_` when the element has attributes.
  if (v && typeof v === "object" && "_" in v) return str((v as { _: unknown })._);
  return undefined;
};

/** Scope values under an ONVIF scope prefix, percent-decoded where they decode. */
function scopeValues(scopes: string[], kind: string): string[] {
  const prefix = `onvif://www.onvif.org/${kind}/`;
  return scopes
    .filter((s) => s.toLowerCase().startsWith(prefix.toLowerCase()))
    .map((s) => {
      const v = s.slice(prefix.length);
      try {
        return decodeURIComponent(v);
      } catch {
        return v; // not percent-encoded as it should be: shown as the camera sent it
      }
    });
}

/** The ProbeMatch entries of one answer, as the `onvif` package parsed it (resolve: false). */
export function probeMatches(raw: unknown, from: string): DiscoveredCamera[] {
  const matches = (raw as { probeMatches?: { probeMatch?: unknown } } | undefined)?.probeMatches?.probeMatch;
  const list = Array.isArray(matches) ? matches : matches ? [matches] : [];
  return list.flatMap((m: Record<string, unknown>) => {
    const urn = str((m.endpointReference as Record<string, unknown> | undefined)?.address);
    const xaddrs = (str(m.XAddrs) ?? "").split(/\s+/).filter(Boolean);
    const urls = xaddrs.flatMap((x) => {
      try {
        return [new URL(x)];
      } catch {
        return [];
      }
    });
    const url = urls.find((u) => u.hostname === from) ?? urls[0];
    if (!urn || !url) return [];
    const scopes = (str(m.scopes) ?? "").split(/\s+/).filter(Boolean);
    const [name] = scopeValues(scopes, "name");
    const [hardware] = scopeValues(scopes, "hardware");
    const location = scopeValues(scopes, "location").join(", ");
    return [
      {
        urn,
        xaddrs,
        host: url.hostname,
        port: url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
        ...(name ? { name } : {}),
        ...(hardware ? { hardware } : {}),
        ...(location ? { location } : {}),
        scopes,
        types: (str(m.types) ?? "").split(/\s+/).filter(Boolean),
        from,
      },
    ];
  });
}
