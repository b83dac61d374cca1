/** Saves text as a file in the browser (export buttons). */
export function saveFile(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Reads every page of a paginated export, at most `maxPages` calls. */
export async function allPages<R extends { isDone: boolean; continueCursor: string }>(
  fetchPage: (cursor: string | null) => Promise<R>,
  maxPages = 10_000,
): Promise<R[]> {
  const out: R[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const r = await fetchPage(cursor);
    out.push(r);
    if (r.isDone) break;
    cursor = r.continueCursor;
  }
  return out;
}
