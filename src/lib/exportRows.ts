/**
 * Log exports in the browser: rows read page by page through the log's own paginated query (so the
 * export has the log's audience), written as CSV (RFC 4180 quoting, formula cells neutralised) or
 * JSON lines.
 */
export type Row = Record<string, unknown>;

export function csvCell(value: unknown): string {
  let s =
    value === null || value === undefined
      ? ""
      : typeof value === "string"
        ? value
        : typeof value === "number" || typeof value === "boolean"
          ? String(value)
          : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: Row[]): string {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return [cols.join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\r\n") + "\r\n";
}

export function toJsonLines(rows: Row[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
}

/** Reads pages until done or `maxRows` rows (a runaway guard, not a server bound). */
export async function readAll<T>(
  fetchPage: (cursor: string | null) => Promise<{ page: T[]; isDone: boolean; continueCursor: string }>,
  maxRows = 100_000,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (;;) {
    const r = await fetchPage(cursor);
    out.push(...r.page);
    if (r.isDone || out.length >= maxRows) return out;
    cursor = r.continueCursor;
  }
}

export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
