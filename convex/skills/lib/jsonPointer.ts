/** RFC 6901 JSON Pointer: validation and lookup (own properties only, no prototype walk). */

export const MAX_POINTER_LENGTH = 512;

export function isValidPointer(p: unknown): p is string {
  if (typeof p !== "string" || p.length > MAX_POINTER_LENGTH) return false;
  if (p === "") return true;
  if (!p.startsWith("/")) return false;
  return !/~[^01]|~$/.test(p);
}

/** The value at `pointer`, or `undefined` when any step is missing. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  if (!isValidPointer(pointer)) return undefined;
  if (pointer === "") return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else if (cur !== null && typeof cur === "object") {
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return cur;
}
