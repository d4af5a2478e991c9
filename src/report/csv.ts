/**
 * CSV for reports a records commander or auditor opens in a spreadsheet (RFC 4180).
 * Invariant: a cell never starts with = + - @ tab or CR unquoted-and-prefixed, so a crafted value
 * (a user name, a reason) cannot run as a spreadsheet formula on the auditor's machine.
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}
