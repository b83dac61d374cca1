/**
 * Audit log export formats (pure): JSON lines, or CSV with RFC 4180 quoting and spreadsheet
 * formula cells neutralised (a leading = + - @ tab or CR gets a ' prefix).
 */
export type AuditRow = {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
};

export const CSV_COLUMNS = ["id", "at", "time", "actor", "action", "target", "before", "after"] as const;

export function jsonLine(r: AuditRow): string {
  return JSON.stringify({
    id: r.id,
    at: r.at,
    time: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    before: r.before ?? null,
    after: r.after ?? null,
  });
}

export function csvCell(value: unknown): string {
  let s =
    value === null || value === undefined
      ? ""
      : typeof value === "string"
        ? value
        : typeof value === "number"
          ? String(value)
          : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(r: AuditRow): string {
  return [r.id, r.at, new Date(r.at).toISOString(), r.actor, r.action, r.target, r.before ?? null, r.after ?? null]
    .map(csvCell)
    .join(",");
}

export const CSV_HEADER = CSV_COLUMNS.join(",");
