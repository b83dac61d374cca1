// Ordered in-memory storage structures under convex-test: documents per table and one B+ tree per index
// (schema indexes keyed by their fields, then `_creationTime`, `_id`; plus `by_creation_time` and `by_id`),
// maintained at commit. An index range is a seek plus an iteration that stops when the caller stops, so a
// read costs O(log n + rows read) whatever the size of the database. No convex-test internals here:
// runtime/internals.ts wires this into convex-test's DatabaseFake.
import * as BulkLoadModule from "sorted-btree/extended/bulkLoad.js";
import { compareValues, jsonToConvex, type Value } from "convex/values";

type BTreeT<K, V> = import("sorted-btree").default<K, V>;
const bulkLoad: <K, V>(keys: K[], values: V[], maxNodeSize: number, compare: (a: K, b: K) => number) => BTreeT<K, V> =
  (BulkLoadModule as any).bulkLoad ?? (BulkLoadModule as any).default?.bulkLoad;

export type Doc = Record<string, any> & { _id: string; _creationTime: number };
export type Key = unknown[];

/** Sentinels for seeks: below / above every value at their position. */
export const MIN = Symbol("min");
export const MAX = Symbol("max");

function isSimpleObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const p = Object.getPrototypeOf(v);
  return p === null || p === Object.prototype || p?.constructor?.name === "Object";
}

/** A field path's value, as convex-test evaluates it (only through plain objects). */
export function fieldValue(path: string, doc: unknown): unknown {
  if (path === "_id" || path === "_creationTime") return (doc as Doc)[path];
  let v: unknown = doc;
  for (const p of path.split(".")) v = v !== undefined && v !== null && isSimpleObject(v) ? v[p] : undefined;
  return v;
}

function compareOne(x: unknown, y: unknown): number {
  if (x === MIN) return y === MIN ? 0 : -1;
  if (y === MIN) return 1;
  if (x === MAX) return y === MAX ? 0 : 1;
  if (y === MAX) return -1;
  if (typeof x === "number" && typeof y === "number") {
    if (x < y) return -1;
    if (x > y) return 1;
  } else if (typeof x === "string" && typeof y === "string" && x === y) return 0;
  return compareValues(x as Value, y as Value);
}

/** Lexicographic order of index keys (Convex value order per position, sentinels allowed). */
export function compareKeys(a: Key, b: Key): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareOne(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

export function indexKey(fields: readonly string[], doc: unknown): Key {
  const k = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) k[i] = fieldValue(fields[i], doc);
  return k;
}

export type IndexDef = { name: string; fields: string[] };
type Index = { fields: string[]; tree: BTreeT<Key, Doc> | null };

export class TableData {
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, Index>();
  constructor(defs: IndexDef[]) {
    this.indexes.set("by_creation_time", { fields: ["_creationTime", "_id"], tree: null });
    this.indexes.set("by_id", { fields: ["_id"], tree: null });
    for (const d of defs) this.indexes.set(d.name, { fields: [...d.fields, "_creationTime", "_id"], tree: null });
  }

  /** The index's tree, built on first use (bulk-loaded from the table's documents). */
  tree(name: string): BTreeT<Key, Doc> | null {
    const ix = this.indexes.get(name);
    if (!ix) return null;
    if (!ix.tree) {
      const pairs: Array<[Key, Doc]> = [];
      for (const d of this.docs.values()) pairs.push([indexKey(ix.fields, d), d]);
      pairs.sort((a, b) => compareKeys(a[0], b[0]));
      ix.tree = bulkLoad(
        pairs.map((p) => p[0]),
        pairs.map((p) => p[1]),
        64,
        compareKeys,
      );
    }
    return ix.tree;
  }

  put(before: Doc | null, after: Doc | null) {
    for (const ix of this.indexes.values()) {
      if (!ix.tree) continue;
      const k0 = before && indexKey(ix.fields, before);
      const k1 = after && indexKey(ix.fields, after);
      // An update that keeps the key (most patches, for most indexes) replaces the entry in place.
      if (k0 && !(k1 && compareKeys(k0, k1) === 0)) ix.tree.delete(k0);
      if (k1) ix.tree.set(k1, after!);
    }
    if (after) this.docs.set(after._id, after);
    else if (before) this.docs.delete(before._id);
  }
}

/**
 * A table whose snapshot section is not in memory yet (start-up defers large tables): `docs` reads and
 * parses the section when pulled; `stash` holds logged writes replayed before it loads (id → document or
 * null); `delta` is what they change in the document count.
 */
type Deferred = {
  count: number;
  docs: Iterator<Doc>;
  staged: Doc[];
  stash: Map<string, Doc | null>;
  delta: number;
  firstNewCounter: number;
};

const idCounter = (id: string) => Number(/^[0-9]+/.exec(id)?.[0] ?? NaN);

/** The documents of one component (one convex-test DatabaseFake), by table and index. */
export class ComponentStore {
  readonly tables = new Map<string, TableData>();
  /** Tables still on disk; they load on first use (ensure) or in the background (step). */
  readonly deferred = new Map<string, Deferred>();
  /** Keeps convex-test's own document map in step when a deferred table loads. */
  sink: ((id: string, doc: Doc | null) => void) | null = null;
  constructor(private readonly indexDefs: (table: string) => IndexDef[]) {}

  /**
   * Register a table whose `count` documents come from `docs` when first needed. `firstNewCounter`: the
   * component's next ID counter when the section was written (IDs at or above it are not in it).
   */
  defer(table: string, count: number, docs: Iterable<Doc>, firstNewCounter: number) {
    this.deferred.set(table, {
      count,
      docs: docs[Symbol.iterator](),
      staged: [],
      stash: new Map(),
      delta: 0,
      firstNewCounter,
    });
  }

  /** A logged write replayed at start-up: kept for a deferred table (true), or to be applied now (false). */
  stash(table: string, id: string, doc: Doc | null): boolean {
    const d = this.deferred.get(table);
    if (!d) return false;
    const existed = d.stash.has(id) ? d.stash.get(id) !== null : !(idCounter(id) >= d.firstNewCounter);
    d.delta += (doc ? 1 : 0) - (existed ? 1 : 0);
    d.stash.set(id, doc);
    return true;
  }

  /** Parse up to `n` more documents of a deferred table; true once all are parsed (or it is loaded). */
  step(table: string, n: number): boolean {
    const d = this.deferred.get(table);
    if (!d) return true;
    for (let i = 0; i < n; i++) {
      const r = d.docs.next();
      if (r.done) return true;
      d.staged.push(r.value);
    }
    return false;
  }

  /** Bring a deferred table into memory (no-op when it is loaded). */
  ensure(table: string) {
    const d = this.deferred.get(table);
    if (!d) return;
    while (!this.step(table, 1 << 30));
    this.deferred.delete(table);
    const td = this.table(table);
    // Documents committed since start-up (inserts: new IDs) are newer than the section's.
    for (const doc of d.staged) {
      if (td.docs.has(doc._id)) continue;
      td.docs.set(doc._id, doc);
      this.sink?.(doc._id, doc);
    }
    for (const [id, doc] of d.stash) {
      if (doc) td.docs.set(id, doc);
      else td.docs.delete(id);
      this.sink?.(id, doc);
    }
    for (const ix of td.indexes.values()) ix.tree = null;
  }

  ensureAll() {
    for (const t of [...this.deferred.keys()]) this.ensure(t);
  }

  /** Documents in a table, loaded or not (no load). */
  documentCount(table: string): number {
    const d = this.deferred.get(table);
    return (this.tables.get(table)?.docs.size ?? 0) + (d ? d.count + d.delta : 0);
  }

  table(name: string): TableData {
    let t = this.tables.get(name);
    if (!t) {
      t = new TableData(this.indexDefs(name));
      this.tables.set(name, t);
    }
    return t;
  }

  /** One committed write: `before` is the previous committed version (null = none), `after` the new one. */
  apply(table: string, before: Doc | null, after: Doc | null) {
    if (!before && !after) return;
    this.table(table).put(before, after);
  }

  /** Replace all contents (recovery); index trees are rebuilt lazily on first use. */
  load(docs: Iterable<Doc>, tableOf: (id: string) => string | null) {
    this.tables.clear();
    this.deferred.clear();
    for (const d of docs) {
      const t = tableOf(d._id);
      if (t) this.table(t).docs.set(d._id, d);
    }
  }

  count(table: string): number {
    this.ensure(table);
    return this.tables.get(table)?.docs.size ?? 0;
  }
}

// ------------------------------------------------------------------------------------------------
// Index ranges

export type RangeExpr = { type: "Eq" | "Gt" | "Gte" | "Lt" | "Lte"; fieldPath: string; value: unknown };

/** A query bound's value as convex-test evaluates it. */
function boundValue(v: unknown): unknown {
  if (typeof v === "object" && v !== null && "$undefined" in v) return undefined;
  return jsonToConvex(v as any);
}

/**
 * Seek bounds of an index range (already validated by convex-test): every key k in the range has
 * lo < k < hi (the bounds end in a sentinel, so they never equal a key).
 */
export function rangeBounds(range: readonly RangeExpr[]): { lo: Key; hi: Key } {
  const eq: unknown[] = [];
  let lower: { v: unknown; incl: boolean } | null = null;
  let upper: { v: unknown; incl: boolean } | null = null;
  for (const r of range) {
    const v = boundValue(r.value);
    if (r.type === "Eq") eq.push(v);
    else if (r.type === "Gt" || r.type === "Gte") lower = { v, incl: r.type === "Gte" };
    else upper = { v, incl: r.type === "Lte" };
  }
  const lo = lower ? [...eq, lower.v, lower.incl ? MIN : MAX] : [...eq, MIN];
  const hi = upper ? [...eq, upper.v, upper.incl ? MAX : MIN] : [...eq, MAX];
  return { lo, hi };
}

/** The part of an index a read depended on (inclusive bounds; may hold sentinels). */
export type ReadRange = { componentPath: string; table: string; fields: string[]; lo: Key; hi: Key };

export function keyInRange(k: Key, r: { lo: Key; hi: Key }): boolean {
  return compareKeys(k, r.lo) >= 0 && compareKeys(k, r.hi) <= 0;
}

/**
 * Documents of an index range in order, merging the committed tree with the transaction's pending
 * writes (`overlay`: id → effective document or null, for this table). Records into `read` the key
 * interval actually visited (it grows as the caller pulls).
 */
export function* iterateRange(
  tree: BTreeT<Key, Doc>,
  fields: string[],
  bounds: { lo: Key; hi: Key },
  order: "asc" | "desc",
  overlay: Map<string, Doc | null> | null,
  read: ReadRange | null,
): Generator<Doc> {
  const { lo, hi } = bounds;
  let pending: Array<[Key, Doc]> = [];
  if (overlay && overlay.size) {
    for (const d of overlay.values()) {
      if (!d) continue;
      const k = indexKey(fields, d);
      if (compareKeys(k, lo) > 0 && compareKeys(k, hi) < 0) pending.push([k, d]);
    }
    pending.sort((a, b) => (order === "asc" ? compareKeys(a[0], b[0]) : compareKeys(b[0], a[0])));
  }
  const iter = order === "asc" ? tree.entries(lo) : tree.entriesReversed(hi);
  const past = (k: Key) => (order === "asc" ? compareKeys(k, hi) > 0 : compareKeys(k, lo) < 0);
  const before = (a: Key, b: Key) => (order === "asc" ? compareKeys(a, b) < 0 : compareKeys(a, b) > 0);
  const note = (k: Key) => {
    if (!read) return;
    if (order === "asc") read.hi = k;
    else read.lo = k;
  };
  let pi = 0;
  for (;;) {
    let next = iter.next();
    while (!next.done && overlay?.has(next.value[1]._id)) next = iter.next();
    const committed = next.done || past(next.value[0]) ? null : next.value;
    while (pi < pending.length && (!committed || before(pending[pi][0], committed[0]))) {
      note(pending[pi][0]);
      yield pending[pi++][1];
    }
    if (!committed) break;
    note(committed[0]);
    yield committed[1];
  }
  if (read) {
    if (order === "asc") read.hi = hi;
    else read.lo = lo;
  }
  pending = [];
}
