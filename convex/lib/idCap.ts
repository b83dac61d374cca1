/** Seed 001: at most this many ids in one array argument of a public function (pure). */
export const MAX_IDS_PER_ARG = 50;

type V = { kind: string; element?: V; fields?: Record<string, V>; members?: V[]; value?: V };

const isIdArray = (v: V) =>
  v.kind === "array" &&
  !!v.element &&
  (v.element.kind === "id" || (v.element.kind === "union" && v.element.members!.every((m) => m.kind === "id")));

/** True when any array of ids inside `value`, as typed by validator `v`, holds more than MAX_IDS_PER_ARG. */
export function tooManyIds(v: V | Record<string, V> | undefined, value: unknown): boolean {
  if (!v || value === undefined || value === null) return false;
  if (typeof (v as V).kind !== "string") return tooManyIds({ kind: "object", fields: v as Record<string, V> }, value);
  const val = v as V;
  switch (val.kind) {
    case "array":
      if (!Array.isArray(value)) return false;
      if (isIdArray(val) && value.length > MAX_IDS_PER_ARG) return true;
      return value.some((x) => tooManyIds(val.element, x));
    case "object":
      if (typeof value !== "object") return false;
      return Object.entries(val.fields ?? {}).some(([k, f]) => tooManyIds(f, (value as Record<string, unknown>)[k]));
    case "union":
      return (val.members ?? []).some((m) => tooManyIds(m, value));
    case "record":
      return typeof value === "object" && Object.values(value as object).some((x) => tooManyIds(val.value, x));
    default:
      return false;
  }
}
