import { join } from "node:path";
import { clockErrorBoundMs } from "../../src/cameras/clock-check.js";
import type { CameraIdentities } from "../../src/catalog/footage/camera-identities.js";
import type { ClockSamples } from "../../src/catalog/footage/clock-samples.js";
import type {
  CameraIdentity,
  ClockOffsetSample,
  Instant,
  Manifest,
  PackageFile,
  SpanText,
} from "../../src/exports/package-format.js";
import { syncSizeHash, syncSizeHashCrc } from "../../src/storage/durable.js";
import { isoInZone } from "../../src/time/parse.js";

/**
 * The manifest's parts the catalog answers (camera identity, clock offsets), its times as UTC and
 * site-local text, the files list, and the exact bytes that are signed.
 */

export function instant(t: number, zone: string): Instant {
  return { utc: new Date(t).toISOString(), local: isoInZone(t, zone) };
}

export function spanText(fromMs: number, toMs: number, zone: string): SpanText {
  return { from: instant(fromMs, zone), to: instant(toMs, zone) };
}

/**
 * The identity the camera reported by the span's end; else the first it reported after (a camera
 * first asked after its footage was recorded); null when it never answered GetDeviceInformation.
 */
export function identityFor(
  identities: CameraIdentities,
  camera: string,
  toMs: number,
): CameraIdentity | null {
  const row = identities.latestAt(camera, toMs) ?? identities.firstAfter(camera, toMs);
  return row
    ? { manufacturer: row.manufacturer, model: row.model, serial: row.serial, firmware: row.firmware }
    : null;
}

/** The clock samples around the span, each with its own error bound. */
export function clockFor(
  clock: ClockSamples,
  camera: string,
  fromMs: number,
  toMs: number,
): ClockOffsetSample[] {
  return clock.around(camera, fromMs, toMs).map((s) => ({
    at: new Date(s.sampledAt).toISOString(),
    offsetMs: s.offsetMs,
    errorMs: clockErrorBoundMs(s),
  }));
}

/**
 * Each file (relative to `dir`) fsynced, with its SHA-256 and size, in the order given; its CRC-32
 * from the same read into `crcs`, when given (for the download's zip: ./zip-crcs.ts).
 */
export async function listFiles(
  dir: string,
  paths: readonly string[],
  crcs?: Map<string, number>,
): Promise<PackageFile[]> {
  const files: PackageFile[] = [];
  for (const path of paths) {
    if (crcs) {
      const { bytes, sha256, crc32 } = await syncSizeHashCrc(join(dir, path));
      crcs.set(path, crc32);
      files.push({ path, sha256, bytes });
    } else {
      const { bytes, sha256 } = await syncSizeHash(join(dir, path));
      files.push({ path, sha256, bytes });
    }
  }
  return files;
}

/** manifest.json's bytes: what is signed, so they are made once and written as they are. */
export function manifestBytes(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`, "utf8");
}
