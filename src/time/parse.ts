/** A time as people and scripts type it: ISO 8601 (`2026-07-01T00:00:00Z`) or UTC epoch milliseconds. */
export function parseTimeText(text: string): number | undefined {
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}
