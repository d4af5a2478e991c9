import { statfs } from "node:fs/promises";

/**
 * Free space of the storage volumes and the rate it is being used, for health, metrics and (later)
 * disk-pressure decisions.
 * Invariant: the write rate is measured from the volume's own free-space readings over a trailing
 * window, so it counts every writer (recorder, evidence copies, other tenants) and needs no hooks.
 */

export interface VolumeStatus {
  volume: string;
  path: string;
  totalBytes: number;
  freeBytes: number;
  floorBytes: number;
  low: boolean;
  /** Bytes consumed per day over the trailing window; null until two readings 10+ minutes apart. */
  writeBytesPerDay: number | null;
  /** Days until free space reaches the floor at that rate; null when unknown or not shrinking. */
  daysLeft: number | null;
  error?: string;
}

interface Reading {
  at: number;
  free: number;
}

const WINDOW_MS = 6 * 3_600_000;
const MIN_SPAN_MS = 10 * 60_000;

export class StorageMonitor {
  private readonly readings = new Map<string, Reading[]>();
  private latest: VolumeStatus[] = [];

  constructor(
    private readonly volumes: Record<string, string>,
    private readonly floorBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  async sample(): Promise<VolumeStatus[]> {
    const at = this.now();
    this.latest = await Promise.all(
      Object.entries(this.volumes).map(async ([volume, path]): Promise<VolumeStatus> => {
        try {
          const s = await statfs(path);
          const free = s.bavail * s.bsize;
          const list = this.readings.get(volume) ?? [];
          list.push({ at, free });
          while (list.length > 2 && at - (list[0] as Reading).at > WINDOW_MS) list.shift();
          this.readings.set(volume, list);
          const first = list[0] as Reading;
          const span = at - first.at;
          const rate = span >= MIN_SPAN_MS ? ((first.free - free) / span) * 86_400_000 : null;
          const room = free - this.floorBytes;
          return {
            volume,
            path,
            totalBytes: s.blocks * s.bsize,
            freeBytes: free,
            floorBytes: this.floorBytes,
            low: free < this.floorBytes,
            writeBytesPerDay: rate,
            daysLeft: rate !== null && rate > 0 ? Math.max(0, room / rate) : null,
          };
        } catch (e) {
          return {
            volume,
            path,
            totalBytes: 0,
            freeBytes: 0,
            floorBytes: this.floorBytes,
            low: true,
            writeBytesPerDay: null,
            daysLeft: null,
            error: `${(e as NodeJS.ErrnoException).code ?? "error"}: ${(e as Error).message}`,
          };
        }
      }),
    );
    return this.latest;
  }

  /** The last readings taken (metrics scrapes read these rather than hitting the disk). */
  status(): VolumeStatus[] {
    return this.latest;
  }
}
