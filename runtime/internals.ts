// The only module that relies on convex-test internals or undocumented behaviour. Everything here is
// pinned to convex 1.48.0 + convex-test 0.0.60 and checked by `selfTest()` at every start.
//
// What we depend on (see runtime/README.md):
//  - the accessor's undocumented `queryFromPath/mutationFromPath/actionFromPath/fun/runInComponent`;
//  - the private per-instance state `{components: {[path]: {db, modules}}, transactionManager}`, found by
//    observing `AsyncLocalStorage.prototype.run` while one accessor call runs;
//  - DatabaseFake fields `_documents`, `_writes`, `_storage`, `_nextDocId`, `_lastCreationTime`,
//    methods `get/patch/insert/delete/storeFile`; TransactionManager `commit()` and `_lastCommitTs`;
//  - the `_scheduled_functions` document shape and job states;
//  - the global `Convex` syscall object, syscall names/argument shapes, and the fake storage URL prefix;
//  - the module-map key rule (a `_generated/` key marks the root) and ID format (`<digits><table>`);
//  - `t.fetch` resolving the route with `router.lookup()` and calling `func._handler`.
import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { convexTest } from "convex-test";
import type { SchemaDefinition, GenericSchema } from "convex/server";
import { getDocumentSize, jsonToConvex } from "convex/values";
import {
  ComponentStore,
  MAX,
  MIN,
  compareKeys,
  iterateRange,
  rangeBounds,
  type Doc,
  type IndexDef,
  type ReadRange,
} from "./store.js";

export const PINNED_VERSIONS = { convex: "1.48.0", "convex-test": "0.0.60" } as const;

export type FunctionPath = { udfPath: string; componentPath: string };
export type Identity = Record<string, unknown> & { subject: string; issuer: string; tokenIdentifier: string };
export type ModuleLoader = () => Promise<Record<string, unknown>>;
export type ModuleMap = Record<string, ModuleLoader>;

/** The members of a convex-test accessor the runtime uses (several are undocumented). */
export interface Accessor {
  queryFromPath(path: FunctionPath, args: Record<string, unknown>): Promise<unknown>;
  mutationFromPath(path: FunctionPath, args: Record<string, unknown>): Promise<unknown>;
  actionFromPath(path: FunctionPath, args: Record<string, unknown>): Promise<unknown>;
  fun(path: FunctionPath, args: Record<string, unknown>): Promise<unknown>;
  query<T>(handler: (ctx: any) => Promise<T>): Promise<T>;
  run<T>(handler: (ctx: any) => Promise<T>): Promise<T>;
  runInComponent<T>(componentPath: string, handler: (ctx: any) => Promise<T>): Promise<T>;
  fetch(pathAndQuery: string, init?: RequestInit & { duplex?: "half" }): Promise<Response>;
  withIdentity(identity: Identity): Accessor;
  withRequestMetadata(meta: { ip?: string; userAgent?: string }): Accessor;
}

interface DbFake {
  _documents: Record<string, any>;
  _storage: Record<string, Blob>;
  _nextDocId: number;
  _lastCreationTime: number;
  _writes: Array<Record<string, any>>;
  _schema: {
    schemaValidation: boolean;
    tables: Map<string, { indexes: Array<{ indexDescriptor: string; fields: string[] }>; documentType?: unknown }>;
  } | null;
  _validate(table: string, doc: unknown): void;
  _componentPath: string;
  _nextQueryId: number;
  _queryResults: Record<number, unknown>;
  _resolveQuerySource(query: any): {
    sortedDocs: Doc[];
    filterFn(d: Doc): boolean;
    limit: number | null;
    fieldPathsToSortBy: string[];
    order: "asc" | "desc";
  };
  _iterateDocs(table: string, cb: (d: Doc) => void): void;
  _encodeCursor(doc: Doc, fields: string[]): string;
  _docIsAfterCursor(doc: Doc, keys: unknown[], fields: string[], order: "asc" | "desc"): number;
  startTransaction(): void;
  startQuery(query: any): number;
  queryNext(id: number): { value: Doc | null; done: boolean };
  paginate(args: any): any;
  get(table: string | undefined, id: string): any;
  patch(table: string, id: string, value: Record<string, unknown>): void;
  insert(table: string, value: Record<string, unknown>): string;
  delete(table: string, id: string): void;
  storeFile(id: string, blob: Blob): void;
}
interface ConvexGlobal {
  components: Record<string, { db: DbFake; modules: (path: string) => Promise<any> }>;
  transactionManager: { commit(isNested: boolean): bigint | null; _lastCommitTs: bigint };
}

/** `before`: the previous committed version of each written document (null = none); not persisted. */
export type ComponentWrites = {
  writes: Record<string, any | null>;
  nextDocId: number;
  lastCreationTime: number;
  before?: Record<string, any | null>;
};
/** One committed top-level transaction: documents written (null = deleted), per component; `inserted`: ids that are new. */
export type CommitRecord = {
  ts: bigint;
  components: Record<string, ComponentWrites>;
  tables: Set<string>;
  inserted: Record<string, Set<string>>;
};
/** `deferred`: tables still on disk (recovery), loaded on first use or in the background. */
export type ComponentState = {
  documents: any[];
  nextDocId: number;
  lastCreationTime: number;
  deferred?: Array<{ table: string; count: number; docs: Iterable<any> }>;
};
export type State = { lastCommitTs: bigint; components: Record<string, ComponentState> };
export type ScheduledJob = {
  componentPath: string;
  id: string;
  name: string;
  args: unknown;
  scheduledTime: number;
  state: string;
};

export interface BackendHooks {
  onCommit(rec: CommitRecord): void;
  onBlobStored(componentPath: string, storageId: string, blob: Blob): void;
}

/** Per-execution data gathered by the syscall interceptor (reads, pagination journal, logs). */
export type ExecContext = {
  /** Tables read as a whole (count, search, storage). */
  reads?: Set<string>;
  /** Index intervals read (queries, pages; the interval grows as rows are pulled). */
  ranges?: ReadRange[];
  /** Documents read by id. */
  docs?: Set<string>;
  journalIn?: string | null;
  journalOut?: string | null;
  logLines?: string[];
};
export const execContext = new AsyncLocalStorage<ExecContext>();

/** Fake URL prefix convex-test returns from storage syscalls. */
const FAKE_URL = "https://some-deployment.convex.cloud/api/storage/";

export function tableNameFromId(id: string): string | null {
  const m = /^[0-9]+/.exec(id);
  if (!m || m[0].length === id.length) return null;
  return id.slice(m[0].length);
}

const MEMOIZED = Symbol.for("warden.runtime.memoizedExports");
/**
 * convex-test calls `exportArgs()`/`exportReturns()` on every call (validator → JSON text, then parsed);
 * a function's validators never change, so keep each text after its first successful call.
 */
function memoizeExports(mod: Record<string, unknown>): Record<string, unknown> {
  for (const fn of Object.values(mod)) {
    if (typeof fn !== "function") continue;
    const f = fn as unknown as Record<string | symbol, unknown>;
    if (f[MEMOIZED]) continue;
    for (const k of ["exportArgs", "exportReturns"]) {
      const orig = f[k];
      if (typeof orig !== "function") continue;
      let text: string | undefined;
      f[k] = () => (text ??= (orig as () => string)());
    }
    f[MEMOIZED] = true;
  }
  return mod;
}

/** Build convex-test's module map from `relative path (no extension) → loader`. */
export function moduleMap(files: Record<string, ModuleLoader>, root: string): ModuleMap {
  const map: ModuleMap = {};
  // convex-test calls the loader on every function call; an ESM import() of a loaded module still goes
  // through the loader hooks (tsx: a round trip to its hooks thread), so keep the first promise.
  for (const [rel, loader] of Object.entries(files)) {
    let loaded: Promise<Record<string, unknown>> | null = null;
    map[`${root}/${rel}.js`] = () => {
      loaded ??= loader().then(memoizeExports);
      loaded.catch(() => (loaded = null));
      return loaded;
    };
  }
  // convex-test locates the root from any key containing "_generated".
  map[`${root}/_generated/server.js`] ??= async () => ({});
  return map;
}

// ---------------------------------------------------------------------------------------------
// Syscall interception (one per process; dispatches on the current ExecContext).

export type StorageUrls = { fileUrl(sha256Base64: string): string; uploadUrl(): string };
let storageUrls: StorageUrls | null = null;
const INTERCEPTOR = Symbol.for("warden.runtime.syscallInterceptor");

function recordRead(table: string | null | undefined) {
  const ctx = execContext.getStore();
  if (ctx?.reads && table) ctx.reads.add(table);
}
function tableOfQuery(query: any): string | null {
  const src = query?.source;
  if (!src) return null;
  if (src.type === "FullTableScan") return src.tableName;
  return typeof src.indexName === "string" ? src.indexName.split(".")[0] : null;
}

function installSyscallInterceptor() {
  const g = globalThis as any;
  const inner = g.Convex;
  if (!inner || typeof inner !== "object") throw new Error("global Convex syscall object not installed by convex-test");
  if (inner[INTERCEPTOR]) return;
  // One wrapper per process (the getters used to build a closure per syscall); arguments are parsed
  // only where the call's read set is being recorded or the syscall is rewritten.
  const syscall = (op: string, json: string) => {
    if (op === "1.0/queryStream" && execContext.getStore()?.reads) {
      const q = JSON.parse(json).query;
      if (q?.source?.type === "Search") recordRead(tableOfQuery(q));
    }
    return inner.syscall(op, json);
  };
  const asyncSyscall = (op: string, json: string): Promise<string> => {
    switch (op) {
      case "1.0/get": {
        const ctx = execContext.getStore();
        if (ctx?.reads) {
          const a = JSON.parse(json);
          if (typeof a.id === "string") (ctx.docs ??= new Set()).add(a.id);
        }
        break;
      }
      case "1.0/count":
        return countSyscall(inner, json);
      case "1.0/queryPage":
        return queryPage(inner, json);
      case "1.0/storageGetUrl":
        return storageGetUrl(inner, json);
      case "1.0/storageGenerateUploadUrl":
        if (storageUrls) return Promise.resolve(JSON.stringify(storageUrls.uploadUrl()));
        break;
    }
    return inner.asyncSyscall(op, json);
  };
  g.Convex = {
    [INTERCEPTOR]: true,
    get syscall() {
      return syscall;
    },
    get jsSyscall() {
      return inner.jsSyscall;
    },
    get asyncSyscall() {
      return asyncSyscall;
    },
  };
}

async function countSyscall(inner: any, json: string): Promise<string> {
  recordRead(JSON.parse(json).table);
  // convex-test counts by iterating a full-table query; the store knows the size.
  countResult = null;
  countRequested = true;
  let p: Promise<string>;
  try {
    p = inner.asyncSyscall("1.0/count", json);
  } finally {
    countRequested = false;
  }
  const viaScan = await p;
  const n = countResult;
  countResult = null;
  return n === null ? viaScan : JSON.stringify(n);
}

async function storageGetUrl(inner: any, json: string): Promise<string> {
  recordRead("_storage");
  const url = JSON.parse(await inner.asyncSyscall("1.0/storageGetUrl", json));
  if (typeof url === "string" && url.startsWith(FAKE_URL) && storageUrls)
    return JSON.stringify(storageUrls.fileUrl(url.slice(FAKE_URL.length)));
  return JSON.stringify(url);
}

// Pagination journal: pin a subscribed page's end cursor, as the real backend does.
async function queryPage(inner: any, json: string) {
  const ctx = execContext.getStore();
  const args = JSON.parse(json);
  if (args.query?.source?.type === "Search") recordRead(tableOfQuery(args.query));
  let pinned: string | null = null;
  if (ctx?.journalIn && (args.endCursor === null || args.endCursor === undefined)) {
    try {
      const j = JSON.parse(ctx.journalIn);
      if (typeof j?.endCursor === "string") pinned = j.endCursor;
    } catch {
      // unknown journal format: ignore it
    }
    if (pinned !== null) args.endCursor = pinned;
  }
  const result = JSON.parse(await inner.asyncSyscall("1.0/queryPage", JSON.stringify(args)));
  if (pinned !== null && pinned !== "_end_cursor") {
    // convex-test reports "done" when the pinned boundary document was deleted; the page still ends there.
    result.continueCursor = pinned;
    result.isDone = false;
  }
  if (ctx && (args.endCursor === null || args.endCursor === undefined || pinned !== null))
    ctx.journalOut = JSON.stringify({ endCursor: result.continueCursor });
  return JSON.stringify(result);
}

// ---------------------------------------------------------------------------------------------
// Indexed reads: each DatabaseFake gets a ComponentStore (runtime/store.ts) kept in step at commit, and
// its query entry points (startQuery/queryNext, paginate, _iterateDocs, count) read from it instead of
// scanning and sorting every document. convex-test still validates the query and supplies the filter
// function and limit (its _resolveQuerySource, run on an empty table), so semantics stay its own.

let countRequested = false;
let countResult: number | null = null;
const NO_DOCS = () => undefined;

type Stream = {
  docs: Iterator<Doc>;
  filterFn(d: Doc): boolean;
  limit: number | null;
  fields: string[];
  order: "asc" | "desc";
};

function pendingOverlay(db: DbFake, table: string): Map<string, Doc | null> | null {
  let m: Map<string, Doc | null> | null = null;
  for (const layer of db._writes)
    for (const id of Object.keys(layer)) if (tableNameFromId(id) === table) (m ??= new Map()).set(id, null);
  if (m) for (const id of m.keys()) m.set(id, db.get(table, id));
  return m;
}

/**
 * convex-test's document validation without exceptions: true when `validateValidator(validator, value)`
 * would accept `value` (same rules, case by case). False when it would throw, and wherever a commit-ts
 * placeholder is checked (convex-test resolves those first): the caller then runs convex-test's own check,
 * which also makes the error. (Its union tries each member and throws an Error per mismatch.)
 */
const objectFields = new WeakMap<object, Array<[string, any]>>();
export function acceptsDocument(validator: any, value: any): boolean {
  switch (validator.type) {
    case "null":
      return value === null;
    case "number":
      return typeof value === "number";
    case "bigint":
      return typeof value === "bigint";
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "bytes":
      return value instanceof ArrayBuffer;
    case "commitTs":
      return typeof value === "bigint";
    case "literal":
      return value === validator.value;
    case "id":
      return typeof value === "string" && tableNameFromId(value) === validator.tableName;
    case "array":
      if (!Array.isArray(value)) return false;
      for (const v of value) if (!acceptsDocument(validator.value, v)) return false;
      return true;
    case "union":
      for (const v of validator.value) if (acceptsDocument(v, value)) return true;
      return false;
    case "object": {
      if (typeof value !== "object" || value === null) return false;
      const proto = Object.getPrototypeOf(value);
      if (!(proto === null || proto === Object.prototype || proto?.constructor?.name === "Object")) return false;
      let fields = objectFields.get(validator);
      if (!fields) objectFields.set(validator, (fields = Object.entries<any>(validator.value)));
      for (const [k, { fieldType, optional }] of fields) {
        if (value[k] === undefined) {
          if (!optional) return false;
        } else if (!acceptsDocument(fieldType, value[k])) return false;
      }
      for (const k of Object.keys(value)) if (validator.value[k] === undefined) return false;
      return true;
    }
    default:
      // "any", and types convex-test 0.0.60 does not check (e.g. "record"): it accepts them as they are.
      return true;
  }
}

function installIndexedReads(db: DbFake, store: ComponentStore) {
  const origResolve = db._resolveQuerySource;
  const origStart = db.startQuery;
  const origNext = db.queryNext;
  const origPaginate = db.paginate;
  const origStartTx = db.startTransaction;
  const origGet = db.get;
  // Every read of one document (get, patch, replace, delete, getFile) goes through get: load its table first.
  db.get = function (table: string | undefined, id: string) {
    if (store.deferred.size && typeof id === "string") {
      const t = table ?? tableNameFromId(id);
      // A document this transaction wrote (e.g. convex-test reading back an insert) needs no load.
      if (t && store.deferred.has(t) && !this._writes.some((layer) => id in layer)) store.ensure(t);
    }
    return origGet.call(this, table, id);
  };
  const origValidate = db._validate;
  db._validate = function (table: string, doc: unknown) {
    const validator = this._schema?.schemaValidation ? this._schema.tables.get(table)?.documentType : undefined;
    if (validator !== undefined && acceptsDocument(validator, doc)) return;
    return origValidate.call(this, table, doc);
  };
  const lazy = new Map<number, Iterator<Doc>>();
  const describe = (query: any) => origResolve.call(Object.create(db, { _iterateDocs: { value: NO_DOCS } }), query);

  /** The ordered documents of a query's source, or null when convex-test must answer (search). */
  const stream = (query: any, seek: unknown[] | null): Stream | null => {
    const src = query?.source;
    if (!src || (src.type !== "FullTableScan" && src.type !== "IndexRange")) return null;
    const d = describe(query); // throws convex-test's own errors (unknown index, bad range)
    const [table, indexName] =
      src.type === "FullTableScan"
        ? [src.tableName as string, "by_creation_time"]
        : (src.indexName as string).split(".");
    store.ensure(table);
    const td = store.table(table);
    const tree = td.tree(indexName);
    if (!tree) return null;
    const fields = td.indexes.get(indexName)!.fields;
    const bounds =
      src.type === "FullTableScan" ? { lo: [MIN] as unknown[], hi: [MAX] as unknown[] } : rangeBounds(src.range);
    if (seek) {
      if (d.order === "asc" && compareKeys(seek, bounds.lo) > 0) bounds.lo = seek;
      if (d.order === "desc" && compareKeys(seek, bounds.hi) < 0) bounds.hi = seek;
    }
    const ctx = execContext.getStore();
    let read: ReadRange | null = null;
    if (ctx?.reads) {
      read = {
        componentPath: db._componentPath,
        table,
        fields,
        lo: d.order === "asc" ? bounds.lo : bounds.hi,
        hi: d.order === "asc" ? bounds.lo : bounds.hi,
      };
      (ctx.ranges ??= []).push(read);
    }
    const docs = iterateRange(tree, fields, bounds, d.order, pendingOverlay(db, table), read);
    return { docs, filterFn: d.filterFn, limit: d.limit, fields, order: d.order };
  };

  db.startTransaction = function () {
    // Top-level transactions are serialized: no query of an earlier one is still being read.
    if (this._writes.length === 0) {
      lazy.clear();
      this._queryResults = {};
    }
    return origStartTx.call(this);
  };

  db.startQuery = function (query: any) {
    if (countRequested && query?.source?.type === "FullTableScan" && query.operators?.length === 0) {
      const table = query.source.tableName as string;
      let n = store.count(table);
      const overlay = pendingOverlay(this, table);
      if (overlay)
        for (const [id, doc] of overlay) n += (doc ? 1 : 0) - (store.tables.get(table)?.docs.has(id) ? 1 : 0);
      countResult = n;
      const id = this._nextQueryId++;
      lazy.set(id, [][Symbol.iterator]());
      return id;
    }
    const s = stream(query, null);
    if (!s) return origStart.call(this, query);
    const id = this._nextQueryId++;
    lazy.set(
      id,
      (function* () {
        if (s.limit === 0) return;
        let n = 0;
        for (let r = s.docs.next(); !r.done; r = s.docs.next()) {
          if (!s.filterFn(r.value)) continue;
          yield r.value;
          if (s.limit !== null && ++n >= s.limit) return;
        }
      })(),
    );
    return id;
  };

  db.queryNext = function (queryId: number) {
    const it = lazy.get(queryId);
    if (!it) return origNext.call(this, queryId);
    const r = it.next();
    if (r.done) {
      lazy.delete(queryId);
      return { value: null, done: true };
    }
    return { value: r.value, done: false };
  };

  db._iterateDocs = function (table: string, cb: (d: Doc) => void) {
    store.ensure(table);
    const ids = new Set(store.tables.get(table)?.docs.keys() ?? []);
    for (const layer of this._writes)
      for (const id of Object.keys(layer)) if (tableNameFromId(id) === table) ids.add(id);
    for (const id of ids) {
      const doc = this.get(table, id);
      if (doc !== null) cb(doc);
    }
  };

  // convex-test's paginate, reading a lazy stream that starts at the cursor instead of a sorted copy of the table.
  db.paginate = function (args: any) {
    const { query, cursor, endCursor, pageSize, maximumRowsRead, maximumBytesRead } = args;
    const parseCursor = (c: string | null) =>
      c
        ? (JSON.parse(c) as Array<string | null>).map((k) => (k === null ? undefined : jsonToConvex(JSON.parse(k))))
        : null;
    const cursorKeys = cursor !== "_end_cursor" ? parseCursor(cursor) : null;
    const s = cursor === "_end_cursor" ? stream(query, null) : stream(query, cursorKeys);
    if (!s) return origPaginate.call(this, args);
    const cursorFields = s.fields;
    const hasEndBoundary = !!endCursor && endCursor !== "_end_cursor";
    const endCursorKeys = hasEndBoundary ? parseCursor(endCursor) : null;
    const page: Doc[] = [];
    let isInPage = cursor === null;
    let continueCursor = "_end_cursor";
    let splitCursor: string | null = null;
    let pageStatus: string | null = null;
    let rowsRead = 0;
    let bytesRead = 0;
    const readDocCursors: string[] = [];
    if (cursor !== "_end_cursor") {
      let cur = s.docs.next();
      while (!cur.done) {
        const doc = cur.value;
        const nextR = s.docs.next();
        const isLastDoc = !!nextR.done;
        cur = nextR;
        if (!isInPage) {
          if (cursorKeys && this._docIsAfterCursor(doc, cursorKeys, cursorFields, s.order) > 0) isInPage = true;
          else continue;
        }
        if (hasEndBoundary && endCursorKeys) {
          const cmp = this._docIsAfterCursor(doc, endCursorKeys, cursorFields, s.order);
          if (cmp >= 0) {
            if (cmp === 0) {
              rowsRead += 1;
              bytesRead += getDocumentSize(doc);
              readDocCursors.push(this._encodeCursor(doc, cursorFields));
              if (s.filterFn(doc)) page.push(doc);
              continueCursor = this._encodeCursor(doc, cursorFields);
            }
            break;
          }
        }
        rowsRead += 1;
        bytesRead += getDocumentSize(doc);
        readDocCursors.push(this._encodeCursor(doc, cursorFields));
        let hitLimit = false;
        if (maximumRowsRead && rowsRead >= maximumRowsRead) hitLimit = true;
        if (maximumBytesRead && bytesRead >= maximumBytesRead) hitLimit = true;
        if (s.filterFn(doc)) page.push(doc);
        if (hitLimit) {
          pageStatus = "SplitRequired";
          continueCursor = this._encodeCursor(doc, cursorFields);
          break;
        }
        if (!endCursor && page.length >= pageSize) {
          if (!isLastDoc) continueCursor = this._encodeCursor(doc, cursorFields);
          break;
        }
      }
    }
    const isDone = continueCursor === "_end_cursor";
    if (pageStatus === "SplitRequired" && readDocCursors.length >= 2) {
      splitCursor = readDocCursors[Math.floor((readDocCursors.length - 1) / 2)];
    } else if (pageStatus === null && rowsRead > pageSize + 1 && readDocCursors.length >= 2) {
      pageStatus = "SplitRecommended";
      splitCursor = readDocCursors[Math.floor((readDocCursors.length - 1) / 2)];
    }
    return { page, isDone, continueCursor, splitCursor, pageStatus };
  };
}

function installedVersion(pkg: string): string {
  const req = createRequire(import.meta.url);
  try {
    return JSON.parse(readFileSync(req.resolve(`${pkg}/package.json`), "utf8")).version;
  } catch {
    // convex-test has no "./package.json" export; find it from its main entry
    const main = req.resolve(pkg);
    const dir = main.slice(0, main.lastIndexOf(`/node_modules/${pkg}/`) + `/node_modules/${pkg}/`.length);
    return JSON.parse(readFileSync(`${dir}package.json`, "utf8")).version;
  }
}

export class InternalsError extends Error {
  constructor(what: string) {
    super(
      `Embedded runtime self-test failed: ${what}.\n` +
        `runtime/internals.ts depends on convex-test ${PINNED_VERSIONS["convex-test"]} / convex ${PINNED_VERSIONS.convex} internals; ` +
        `installed: convex-test ${safeVersion("convex-test")}, convex ${safeVersion("convex")}. ` +
        `Pin the versions back or update runtime/internals.ts.`,
    );
    this.name = "InternalsError";
  }
}
function safeVersion(pkg: string) {
  try {
    return installedVersion(pkg);
  } catch {
    return "unknown";
  }
}
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new InternalsError(what);
}

/** A convex-test instance with the runtime's hooks and state access. */
export class Backend {
  readonly root: Accessor;
  private readonly g: ConvexGlobal;
  private hooks: BackendHooks | null = null;
  private readonly stores = new Map<string, ComponentStore>();

  private constructor(root: Accessor, g: ConvexGlobal) {
    this.root = root;
    this.g = g;
  }

  static async create(opts: {
    schema: SchemaDefinition<GenericSchema, boolean> | null;
    modules: ModuleMap;
    components: Array<{ path: string; schema: SchemaDefinition<GenericSchema, boolean> | null; modules: ModuleMap }>;
  }): Promise<Backend> {
    const t: any = opts.schema
      ? convexTest(opts.schema as any, opts.modules)
      : convexTest(undefined as any, opts.modules);
    for (const c of opts.components) t.registerComponent(c.path, c.schema, c.modules);
    for (const m of [
      "queryFromPath",
      "mutationFromPath",
      "actionFromPath",
      "fun",
      "runInComponent",
      "fetch",
      "query",
      "run",
    ])
      check(typeof t[m] === "function", `accessor method ${m}() missing`);
    check(
      typeof t.withIdentity === "function" && typeof t.withRequestMetadata === "function",
      "withIdentity/withRequestMetadata missing",
    );
    const g = await captureGlobal(t);
    const backend = new Backend(t as Accessor, g);
    backend.installStores();
    backend.installCommitHook();
    installSyscallInterceptor();
    await backend.selfTest();
    return backend;
  }

  setHooks(hooks: BackendHooks | null) {
    this.hooks = hooks;
  }
  static setStorageUrls(urls: StorageUrls | null) {
    storageUrls = urls;
  }

  private installStores() {
    for (const [path, c] of Object.entries(this.g.components)) {
      const db = c.db;
      for (const m of [
        "_resolveQuerySource",
        "_validate",
        "_iterateDocs",
        "_encodeCursor",
        "_docIsAfterCursor",
        "startTransaction",
        "startQuery",
        "queryNext",
        "paginate",
      ] as const)
        check(typeof db[m] === "function", `DatabaseFake(${path}).${m}()`);
      check(
        typeof db._nextQueryId === "number" && typeof db._queryResults === "object",
        `DatabaseFake(${path}) query state`,
      );
      const defs = (table: string): IndexDef[] =>
        (db._schema?.tables.get(table)?.indexes ?? []).map((i) => ({ name: i.indexDescriptor, fields: [...i.fields] }));
      const store = new ComponentStore(defs);
      store.load(Object.values(db._documents), tableNameFromId);
      store.sink = (id, doc) => {
        if (doc) db._documents[id] = doc;
        else delete db._documents[id];
      };
      this.stores.set(path, store);
      installIndexedReads(db, store);
    }
  }

  /** The indexed store of one component (tests, metrics). */
  store(componentPath = ""): ComponentStore | null {
    return this.stores.get(componentPath) ?? null;
  }

  private installCommitHook() {
    const g = this.g;
    const tm = g.transactionManager;
    check(
      typeof tm?.commit === "function" && typeof tm._lastCommitTs === "bigint",
      "TransactionManager.commit/_lastCommitTs missing",
    );
    for (const [path, c] of Object.entries(g.components)) this.checkDb(c.db, path);
    const orig = tm.commit;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    tm.commit = function (isNested: boolean) {
      if (isNested) return orig.call(this, isNested);
      const touched: Record<string, string[]> = {};
      const inserted: Record<string, Set<string>> = {};
      const before: Record<string, Record<string, any | null>> = {};
      for (const [path, c] of Object.entries(g.components)) {
        const top = c.db._writes[c.db._writes.length - 1];
        touched[path] = top ? Object.keys(top) : [];
        inserted[path] = new Set(touched[path].filter((id) => !(id in c.db._documents)));
        const b: Record<string, any | null> = (before[path] = {});
        for (const id of touched[path]) b[id] = c.db._documents[id] ?? null;
      }
      const ts = orig.call(this, isNested) as bigint;
      const rec: CommitRecord = { ts, components: {}, tables: new Set(), inserted };
      for (const [path, ids] of Object.entries(touched)) {
        if (ids.length === 0) continue;
        const db = g.components[path].db;
        const store = self.stores.get(path);
        const writes: Record<string, any | null> = {};
        for (const id of ids) {
          writes[id] = db._documents[id] ?? null;
          const table = tableNameFromId(id);
          if (table) {
            rec.tables.add(table);
            store?.apply(table, before[path][id], writes[id]);
          }
        }
        rec.components[path] = {
          writes,
          nextDocId: db._nextDocId,
          lastCreationTime: db._lastCreationTime,
          before: before[path],
        };
      }
      try {
        self.hooks?.onCommit(rec);
      } catch (e) {
        console.error("[runtime] commit hook failed", e);
      }
      return ts;
    };
    for (const [path, c] of Object.entries(g.components)) {
      const db = c.db;
      const origStore = db.storeFile;
      db.storeFile = function (id: string, blob: Blob) {
        origStore.call(this, id, blob);
        try {
          self.hooks?.onBlobStored(path, id, blob);
        } catch (e) {
          console.error("[runtime] blob hook failed", e);
        }
      };
    }
  }

  private checkDb(db: DbFake, path: string) {
    check(
      db && typeof db._documents === "object" && typeof db._storage === "object",
      `DatabaseFake(${path}) documents/storage`,
    );
    check(
      typeof db._nextDocId === "number" && typeof db._lastCreationTime === "number",
      `DatabaseFake(${path}) counters`,
    );
    check(Array.isArray(db._writes), `DatabaseFake(${path})._writes`);
    for (const m of ["get", "patch", "insert", "delete", "storeFile"] as const)
      check(typeof db[m] === "function", `DatabaseFake(${path}).${m}()`);
  }

  /** Exercises every internal the runtime uses; throws InternalsError on any mismatch. */
  private async selfTest() {
    const seen: CommitRecord[] = [];
    const blobs: string[] = [];
    const saved = this.hooks;
    this.hooks = { onCommit: (r) => seen.push(r), onBlobStored: (_p, id) => blobs.push(id) };
    try {
      const db = this.g.components[""].db;
      const before = this.g.transactionManager._lastCommitTs;
      const counters = { next: db._nextDocId, last: db._lastCreationTime };
      const id = await this.root.run(async () => {
        check(db._writes.length === 1, "one write layer inside a top-level transaction");
        return db.insert("_storage", { sha256: "c2VsZnRlc3Q=", size: 0 });
      });
      check(seen.length === 1 && seen[0].ts > before, "commit hook saw the commit");
      check(seen[0].components[""]?.writes[id]?._id === id, "commit hook saw the written document");
      check(this.g.transactionManager._lastCommitTs === seen[0].ts, "_lastCommitTs equals the commit ts");
      db.storeFile(id, new Blob([]));
      check(blobs[0] === id, "storeFile hook");
      const reads = new Set<string>();
      const exec: ExecContext = { reads, ranges: [] };
      const url = await execContext.run(exec, () =>
        this.root.query(async (ctx) => {
          check((globalThis as any).Convex?.[INTERCEPTOR] === true, "syscall interceptor installed");
          await ctx.db.system.query("_scheduled_functions").take(1);
          return await ctx.storage.getUrl(id);
        }),
      );
      check(
        exec.ranges!.some((r) => r.table === "_scheduled_functions") && reads.has("_storage"),
        "read tracking through syscalls",
      );
      await this.selfTestIndexedReads(seen.length);
      check(
        typeof url === "string" && (storageUrls ? !url.startsWith(FAKE_URL) : url.startsWith(FAKE_URL)),
        "storage URL rewrite",
      );
      const exported = this.exportState();
      check(
        exported.components[""].documents.some((d) => d._id === id),
        "state export",
      );
      await this.root.run(async () => db.delete("_storage", id));
      check(seen[seen.length - 1].components[""]?.writes[id] === null, "commit hook saw the delete");
      delete db._storage[id];
      check(tableNameFromId(id) === "_storage", "ID format");
      db._nextDocId = counters.next;
      db._lastCreationTime = counters.last;
    } finally {
      this.hooks = saved;
    }
  }

  /** Index ranges, pages, count, read-your-writes, scheduled jobs and components against the store. */
  private async selfTestIndexedReads(commitsBefore: number) {
    const db = this.g.components[""].db;
    const ids = await this.root.run(async () =>
      [0, 1, 2].map((i) => db.insert("_storage", { sha256: `c2VsZnRlc3Q${i}`, size: i })),
    );
    const docs = ids.map((i) => db._documents[i]);
    const job = await this.root.run(async () =>
      db.insert("_scheduled_functions", {
        name: "selftest:none",
        args: [{}],
        scheduledTime: 0,
        state: { kind: "canceled" },
      }),
    );
    try {
      const exec: ExecContext = { reads: new Set(), ranges: [] };
      const q = (ctx: any) =>
        ctx.db.system
          .query("_storage")
          .withIndex("by_creation_time", (x: any) => x.gt("_creationTime", docs[0]._creationTime));
      const page = (cursor: string | null) =>
        this.root.query(async (ctx: any) => await q(ctx).paginate({ numItems: 1, cursor }));
      const p1 = await page(null);
      const p2 = await page(p1.continueCursor);
      const r = await execContext.run(exec, () =>
        this.root.query(async (ctx: any) => {
          const desc = await q(ctx).order("desc").take(5);
          const count = await ctx.db.system.query("_storage").count();
          return {
            desc: desc.map((d: any) => d._id),
            p1: p1.page.map((d: any) => d._id),
            p2: p2.page.map((d: any) => d._id),
            done: p2.isDone,
            count,
          };
        }),
      );
      check(r.desc.join() === [ids[2], ids[1]].join(), "index range read (seek, order, limit)");
      check(r.p1[0] === ids[1] && r.p2[0] === ids[2] && r.done === true, "queryPage through the index");
      check(r.count === this.store("")!.count("_storage") && r.count >= 3, "count from the store");
      check(
        exec.ranges!.some((x) => x.table === "_storage" && x.fields.join() === "_creationTime,_id"),
        "index range read set",
      );
      const own = await this.root.run(async (ctx: any) => {
        const extra = db.insert("_storage", { sha256: "c2VsZnRlc3Qz", size: 3 });
        const top = await ctx.db.system.query("_storage").order("desc").first();
        const n = await ctx.db.system.query("_storage").count();
        db.delete("_storage", extra);
        return { ok: top?._id === extra, n };
      });
      check(own.ok && own.n === r.count + 1, "reads see the transaction's own writes");
      check(
        this.scheduledJobs().some((j) => j.id === job && j.state === "canceled"),
        "scheduled jobs from the store",
      );
      for (const path of Object.keys(this.g.components)) {
        const n = await this.root.runInComponent(
          path,
          async (ctx: any) => await ctx.db.system.query("_storage").count(),
        );
        check(n === this.store(path)!.count("_storage"), `component "${path}" reads through its store`);
      }
    } finally {
      await this.root.run(async () => {
        for (const i of ids) db.delete("_storage", i);
        db.delete("_scheduled_functions", job);
      });
    }
    check(commitsBefore === 1, "self-test commit count");
  }

  /** Tables still on disk (start-up defers large ones). */
  deferredTables(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.deferred.size;
    return n;
  }

  /** Bring every deferred table into memory now. */
  loadAll() {
    for (const s of this.stores.values()) s.ensureAll();
  }

  /**
   * Load deferred tables between requests: parse `sliceDocs` documents per turn of the event loop, then
   * install the table in one step. A request that needs a table first loads it itself.
   */
  async loadDeferred(opts: { sliceDocs?: number; stop?: () => boolean } = {}): Promise<void> {
    const slice = opts.sliceDocs ?? 2000;
    const turn = () => new Promise((r) => setImmediate(r));
    for (const store of this.stores.values()) {
      for (const table of [...store.deferred.keys()]) {
        while (store.deferred.has(table) && !store.step(table, slice)) {
          if (opts.stop?.()) return;
          await turn();
        }
        if (opts.stop?.()) return;
        store.ensure(table);
        await turn();
      }
    }
  }

  lastCommitTs(): bigint {
    return this.g.transactionManager._lastCommitTs;
  }

  componentPaths(): string[] {
    return Object.keys(this.g.components);
  }

  exportState(): State {
    this.loadAll();
    const components: Record<string, ComponentState> = {};
    for (const [path, c] of Object.entries(this.g.components)) {
      components[path] = {
        documents: Object.values(c.db._documents),
        nextDocId: c.db._nextDocId,
        lastCreationTime: c.db._lastCreationTime,
      };
    }
    return { lastCommitTs: this.g.transactionManager._lastCommitTs, components };
  }

  /** Replace the whole state (call before any function runs). */
  importState(state: State) {
    for (const [path, cs] of Object.entries(state.components)) {
      const c = this.g.components[path];
      if (!c) {
        console.warn(`[runtime] persisted component "${path}" is no longer installed; its data is kept on disk only`);
        continue;
      }
      const docs: Record<string, any> = {};
      for (const d of cs.documents) docs[d._id] = d;
      c.db._documents = docs;
      this.stores.get(path)?.load(cs.documents, tableNameFromId);
      for (const t of cs.deferred ?? []) this.stores.get(path)?.defer(t.table, t.count, t.docs, cs.nextDocId);
      c.db._nextDocId = Math.max(c.db._nextDocId, cs.nextDocId);
      c.db._lastCreationTime = Math.max(c.db._lastCreationTime, cs.lastCreationTime);
    }
    if (state.lastCommitTs > this.g.transactionManager._lastCommitTs)
      this.g.transactionManager._lastCommitTs = state.lastCommitTs;
  }

  /** Apply one logged transaction (WAL replay). */
  applyCommit(ts: bigint, components: Record<string, ComponentWrites>) {
    for (const [path, cw] of Object.entries(components)) {
      const c = this.g.components[path];
      if (!c) continue;
      const store = this.stores.get(path);
      for (const [id, doc] of Object.entries(cw.writes)) {
        const table = tableNameFromId(id);
        if (table && store?.stash(table, id, doc)) continue; // its table is still on disk: applied when it loads
        if (table) store?.apply(table, c.db._documents[id] ?? null, doc);
        if (doc === null) delete c.db._documents[id];
        else c.db._documents[id] = doc;
      }
      c.db._nextDocId = Math.max(c.db._nextDocId, cw.nextDocId);
      c.db._lastCreationTime = Math.max(c.db._lastCreationTime, cw.lastCreationTime);
    }
    if (ts > this.g.transactionManager._lastCommitTs) this.g.transactionManager._lastCommitTs = ts;
  }

  setBlob(componentPath: string, storageId: string, blob: Blob) {
    const c = this.g.components[componentPath];
    if (c) c.db._storage[storageId] = blob;
  }
  getBlob(componentPath: string, storageId: string): Blob | null {
    return this.g.components[componentPath]?.db._storage[storageId] ?? null;
  }
  /** Storage metadata documents (`_storage`) of one component. */
  storageDocs(componentPath: string): Array<{ _id: string; sha256: string; size: number }> {
    this.stores.get(componentPath)?.ensure("_storage");
    return [...(this.stores.get(componentPath)?.tables.get("_storage")?.docs.values() ?? [])] as any[];
  }

  /** Documents per table (ids carry their table name; no document is read). */
  documentCounts(componentPath = ""): Map<string, number> {
    const counts = new Map<string, number>();
    const store = this.stores.get(componentPath);
    for (const t of new Set([...(store?.tables.keys() ?? []), ...(store?.deferred.keys() ?? [])])) {
      const n = store!.documentCount(t);
      if (n) counts.set(t, n);
    }
    return counts;
  }

  scheduledJobs(): ScheduledJob[] {
    const jobs: ScheduledJob[] = [];
    for (const [path, store] of this.stores) {
      store.ensure("_scheduled_functions");
      for (const d of store.tables.get("_scheduled_functions")?.docs.values() ?? []) {
        jobs.push({
          componentPath: path,
          id: d._id,
          name: d.name,
          args: d.args?.[0] ?? {},
          scheduledTime: d.scheduledTime,
          state: d.state?.kind,
        });
      }
    }
    return jobs;
  }

  /**
   * Delete finished scheduled-function records (success, failed, canceled) older than `before` (ms),
   * like Convex does after 7 days. Returns how many were deleted.
   */
  async pruneScheduledJobs(before: number): Promise<number> {
    let n = 0;
    for (const [path, store] of this.stores) {
      const db = this.g.components[path]?.db;
      if (!db) continue;
      const old: string[] = [];
      store.ensure("_scheduled_functions");
      for (const d of store.tables.get("_scheduled_functions")?.docs.values() ?? [])
        if (["success", "failed", "canceled"].includes(d.state?.kind) && (d.completedTime ?? d.scheduledTime) < before)
          old.push(d._id);
      for (let i = 0; i < old.length; i += 500) {
        const batch = old.slice(i, i + 500);
        await this.root.runInComponent(path, async () => {
          for (const id of batch) if (db.get("_scheduled_functions", id)) db.delete("_scheduled_functions", id);
        });
        n += batch.length;
      }
    }
    return n;
  }

  /** Mark a job that was running when the process died as failed (at most once, like actions). */
  async failInterruptedJob(componentPath: string, id: string) {
    const db = this.g.components[componentPath].db;
    await this.root.runInComponent(componentPath, async () => {
      const job = db.get("_scheduled_functions", id);
      if (job?.state?.kind === "inProgress")
        db.patch("_scheduled_functions", id, { state: { kind: "failed" }, completedTime: Date.now() });
    });
  }

  /** Run a persisted pending job with its original ID, moving it through the same states convex-test does. */
  async runScheduledJob(componentPath: string, id: string): Promise<void> {
    const db = this.g.components[componentPath]?.db;
    if (!db) return;
    const job = await this.root.runInComponent(componentPath, async () => {
      const j = db.get("_scheduled_functions", id);
      if (!j || j.state?.kind !== "pending") return null;
      db.patch("_scheduled_functions", id, { state: { kind: "inProgress" } });
      return { name: j.name as string, args: j.args?.[0] ?? {} };
    });
    if (!job) return;
    let state: Record<string, unknown> = { state: { kind: "success" } };
    try {
      await this.root.fun({ udfPath: job.name, componentPath }, job.args);
    } catch (e) {
      console.error(`Error when running scheduled function ${job.name}`, e);
      state = { state: { kind: "failed" }, completedTime: Date.now() };
    }
    await this.root.runInComponent(componentPath, async () => db.patch("_scheduled_functions", id, state));
  }

  /** The root component's module loader (the same instances convex-test runs). */
  async loadModule(path: string): Promise<Record<string, any>> {
    return await this.g.components[""].modules(path);
  }

  /** The declared http.ts route a request matches ("/path", or "/prefix/*"), or null. */
  async routeOf(path: string, method: string): Promise<string | null> {
    try {
      const found = (await this.loadModule("http")).default?.lookup?.(path, method);
      return found ? String(found[2]) : null;
    } catch {
      return null;
    }
  }

  /**
   * Run an http.ts route. `t.fetch` builds the Request with a fake host; the route's handler gets a
   * Request carrying the real URL instead.
   */
  async fetchRoute(accessor: Accessor, realUrl: string, init: RequestInit & { duplex?: "half" }): Promise<Response> {
    let router: any;
    try {
      router = (await this.loadModule("http")).default;
    } catch {
      return new Response("No HTTP routes", { status: 404 });
    }
    if (!router || typeof router.lookup !== "function") return new Response("No HTTP routes", { status: 404 });
    wrapRouter(router);
    const u = new URL(realUrl);
    const bytes = init.body instanceof Uint8Array ? init.body : null;
    return await routeUrl.run({ url: realUrl, bytes }, () => accessor.fetch(u.pathname + u.search, init));
  }
}

/** The real URL of the route being run, and its body when the caller had it as bytes. */
const routeUrl = new AsyncLocalStorage<{ url: string; bytes: Uint8Array | null }>();
const WRAPPED = Symbol.for("warden.runtime.routerWrapped");
function wrapRouter(router: any) {
  if (router[WRAPPED]) return;
  const lookup = router.lookup.bind(router);
  const wrappedOf = new WeakMap<object, unknown>();
  const wrap = (func: any) => {
    const handler = "_handler" in func ? func._handler : func;
    return Object.assign(Object.create(null), func, {
      _handler: (ctx: unknown, req: Request) => {
        const real = routeUrl.getStore();
        if (!real) return handler(ctx, req);
        const hasBody = req.method !== "GET" && req.method !== "HEAD";
        // The same bytes as convex-test's request (which is left unread) without piping its stream.
        const init: RequestInit & { duplex?: "half" } =
          hasBody && real.bytes
            ? { method: req.method, headers: req.headers, body: real.bytes as BodyInit, signal: req.signal }
            : {
                method: req.method,
                headers: req.headers,
                body: hasBody ? req.body : null,
                duplex: "half",
                signal: req.signal,
              };
        return handler(ctx, new Request(real.url, init));
      },
    });
  };
  router.lookup = (path: string, method: string) => {
    const found = lookup(path, method);
    if (!found) return found;
    const [func, ...rest] = found;
    let wrapped = wrappedOf.get(func);
    if (!wrapped) wrappedOf.set(func, (wrapped = wrap(func)));
    return [wrapped, ...rest];
  };
  router[WRAPPED] = true;
}

/** Find the instance's private state by watching AsyncLocalStorage.run during one accessor call. */
async function captureGlobal(t: any): Promise<ConvexGlobal> {
  const proto = AsyncLocalStorage.prototype as any;
  const orig = proto.run;
  let found: ConvexGlobal | null = null;
  proto.run = function (store: any, cb: any, ...args: any[]) {
    if (!found && store && typeof store === "object" && "components" in store && "transactionManager" in store)
      found = store;
    return orig.call(this, store, cb, ...args);
  };
  let pending: Promise<unknown>;
  try {
    // The accessor enters its ALS context synchronously, so only our own call can be observed.
    pending = t.finishInProgressScheduledFunctions();
  } finally {
    proto.run = orig;
  }
  await pending;
  check(found, "could not locate convex-test's instance state (components/transactionManager)");
  const g = found as ConvexGlobal;
  check(g.components[""]?.db && typeof g.components[""].modules === "function", "root component state");
  return g;
}

/** The installed engine versions (stamped into snapshots). */
export function engineVersions(): { convex: string; "convex-test": string } {
  return { convex: safeVersion("convex"), "convex-test": safeVersion("convex-test") };
}

export function checkVersions(): string[] {
  const warnings: string[] = [];
  for (const [pkg, want] of Object.entries(PINNED_VERSIONS)) {
    const have = safeVersion(pkg);
    if (have !== want) warnings.push(`${pkg} ${have} is installed; the runtime was verified with ${want}`);
  }
  return warnings;
}
