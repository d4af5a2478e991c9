/**
 * ffmpeg's live segment list (`-segment_list pipe:1 -segment_list_type csv`): one line per segment,
 * written when the segment is closed: `name,start,end` in seconds of stream time. This, not a
 * directory poll, is how the recorder learns that a file is finished.
 */
export interface SegmentClose {
  file: string;
  startS: number;
  endS: number;
}

export function parseSegmentLine(line: string): SegmentClose | undefined {
  // The name is ours (no commas); ffmpeg quotes a name only when it contains one.
  const m = /^([^,]+),(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(line.trim());
  if (!m) return undefined;
  const startS = Number(m[2]);
  const endS = Number(m[3]);
  if (!(endS >= startS)) return undefined;
  return { file: m[1] as string, startS, endS };
}
