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

export type ComponentWrites = { writes: Record<string, any | null>; nextDocId: number; lastCreationTime: number };
/** One committed top-level transaction: documents written (null = deleted), per component; `inserted`: ids that are new. */
export type CommitRecord = { ts: bigint; components: Record<string, ComponentWrites>; tables: Set<string>; inserted: Record<string, Set<string>> };
export type ComponentState = { documents: any[]; nextDocId: number; lastCreationTime: number };
export type State = { lastCommitTs: bigint; components: Record<string, ComponentState> };
export type ScheduledJob = { componentPath: string; id: string; name: string; args: unknown; scheduledTime: number; state: string };

export interface BackendHooks {
  onCommit(rec: CommitRecord): void;
  onBlobStored(componentPath: string, storageId: string, blob: Blob): void;
}

/** Per-execution data gathered by the syscall interceptor (reads, pagination journal, logs). */
export type ExecContext = {
  reads?: Set<string>;
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

/** Build convex-test's module map from `relative path (no extension) → loader`. */
export function moduleMap(files: Record<string, ModuleLoader>, root: string): ModuleMap {
  const map: ModuleMap = {};
  for (const [rel, loader] of Object.entries(files)) map[`${root}/${rel}.js`] = loader;
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
  g.Convex = {
    [INTERCEPTOR]: true,
    get syscall() {
      return (op: string, json: string) => {
        if (op === "1.0/queryStream") recordRead(tableOfQuery(JSON.parse(json).query));
        return inner.syscall(op, json);
      };
    },
    get jsSyscall() {
      return inner.jsSyscall;
    },
    get asyncSyscall() {
      return async (op: string, json: string) => {
        switch (op) {
          case "1.0/get": {
            const a = JSON.parse(json);
            recordRead(a.table ?? (typeof a.id === "string" ? tableNameFromId(a.id) : null));
            break;
          }
          case "1.0/count":
            recordRead(JSON.parse(json).table);
            break;
          case "1.0/queryPage":
            return await queryPage(inner, json);
          case "1.0/storageGetUrl": {
            recordRead("_storage");
            const url = JSON.parse(await inner.asyncSyscall(op, json));
            if (typeof url === "string" && url.startsWith(FAKE_URL) && storageUrls)
              return JSON.stringify(storageUrls.fileUrl(url.slice(FAKE_URL.length)));
            return JSON.stringify(url);
          }
          case "1.0/storageGenerateUploadUrl":
            if (storageUrls) return JSON.stringify(storageUrls.uploadUrl());
            break;
        }
        return await inner.asyncSyscall(op, json);
      };
    },
  };
}

// Pagination journal: pin a subscribed page's end cursor, as the real backend does.
async function queryPage(inner: any, json: string) {
  const ctx = execContext.getStore();
  const args = JSON.parse(json);
  recordRead(tableOfQuery(args.query));
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

  private constructor(root: Accessor, g: ConvexGlobal) {
    this.root = root;
    this.g = g;
  }

  static async create(opts: {
    schema: SchemaDefinition<GenericSchema, boolean> | null;
    modules: ModuleMap;
    components: Array<{ path: string; schema: SchemaDefinition<GenericSchema, boolean> | null; modules: ModuleMap }>;
  }): Promise<Backend> {
    const t: any = opts.schema ? convexTest(opts.schema as any, opts.modules) : convexTest(undefined as any, opts.modules);
    for (const c of opts.components) t.registerComponent(c.path, c.schema, c.modules);
    for (const m of ["queryFromPath", "mutationFromPath", "actionFromPath", "fun", "runInComponent", "fetch", "query", "run"])
      check(typeof t[m] === "function", `accessor method ${m}() missing`);
    check(typeof t.withIdentity === "function" && typeof t.withRequestMetadata === "function", "withIdentity/withRequestMetadata missing");
    const g = await captureGlobal(t);
    const backend = new Backend(t as Accessor, g);
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

  private installCommitHook() {
    const g = this.g;
    const tm = g.transactionManager;
    check(typeof tm?.commit === "function" && typeof tm._lastCommitTs === "bigint", "TransactionManager.commit/_lastCommitTs missing");
    for (const [path, c] of Object.entries(g.components)) this.checkDb(c.db, path);
    const orig = tm.commit;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    tm.commit = function (isNested: boolean) {
      if (isNested) return orig.call(this, isNested);
      const touched: Record<string, string[]> = {};
      const inserted: Record<string, Set<string>> = {};
      for (const [path, c] of Object.entries(g.components)) {
        const top = c.db._writes[c.db._writes.length - 1];
        touched[path] = top ? Object.keys(top) : [];
        inserted[path] = new Set(touched[path].filter((id) => !(id in c.db._documents)));
      }
      const ts = orig.call(this, isNested) as bigint;
      const rec: CommitRecord = { ts, components: {}, tables: new Set(), inserted };
      for (const [path, ids] of Object.entries(touched)) {
        if (ids.length === 0) continue;
        const db = g.components[path].db;
        const writes: Record<string, any | null> = {};
        for (const id of ids) {
          writes[id] = db._documents[id] ?? null;
          const table = tableNameFromId(id);
          if (table) rec.tables.add(table);
        }
        rec.components[path] = { writes, nextDocId: db._nextDocId, lastCreationTime: db._lastCreationTime };
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
    check(db && typeof db._documents === "object" && typeof db._storage === "object", `DatabaseFake(${path}) documents/storage`);
    check(typeof db._nextDocId === "number" && typeof db._lastCreationTime === "number", `DatabaseFake(${path}) counters`);
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
      const url = await execContext.run({ reads }, () =>
        this.root.query(async (ctx) => {
          check((globalThis as any).Convex?.[INTERCEPTOR] === true, "syscall interceptor installed");
          await ctx.db.system.query("_scheduled_functions").take(1);
          return await ctx.storage.getUrl(id);
        }),
      );
      check(reads.has("_scheduled_functions") && reads.has("_storage"), "read tracking through syscalls");
      check(typeof url === "string" && (storageUrls ? !url.startsWith(FAKE_URL) : url.startsWith(FAKE_URL)), "storage URL rewrite");
      const exported = this.exportState();
      check(exported.components[""].documents.some((d) => d._id === id), "state export");
      await this.root.run(async () => db.delete("_storage", id));
      check((seen.length as number) === 2 && seen[1].components[""].writes[id] === null, "commit hook saw the delete");
      delete db._storage[id];
      check(tableNameFromId(id) === "_storage", "ID format");
      db._nextDocId = counters.next;
      db._lastCreationTime = counters.last;
    } finally {
      this.hooks = saved;
    }
  }

  lastCommitTs(): bigint {
    return this.g.transactionManager._lastCommitTs;
  }

  componentPaths(): string[] {
    return Object.keys(this.g.components);
  }

  exportState(): State {
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
      c.db._documents = Object.fromEntries(cs.documents.map((d) => [d._id, d]));
      c.db._nextDocId = Math.max(c.db._nextDocId, cs.nextDocId);
      c.db._lastCreationTime = Math.max(c.db._lastCreationTime, cs.lastCreationTime);
    }
    if (state.lastCommitTs > this.g.transactionManager._lastCommitTs) this.g.transactionManager._lastCommitTs = state.lastCommitTs;
  }

  /** Apply one logged transaction (WAL replay). */
  applyCommit(ts: bigint, components: Record<string, ComponentWrites>) {
    for (const [path, cw] of Object.entries(components)) {
      const c = this.g.components[path];
      if (!c) continue;
      for (const [id, doc] of Object.entries(cw.writes)) {
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
    const c = this.g.components[componentPath];
    if (!c) return [];
    return Object.values(c.db._documents).filter((d) => tableNameFromId(d._id) === "_storage");
  }

  /** Documents per table (ids carry their table name; no document is read). */
  documentCounts(componentPath = ""): Map<string, number> {
    const counts = new Map<string, number>();
    for (const id of Object.keys(this.g.components[componentPath]?.db._documents ?? {})) {
      const t = tableNameFromId(id);
      if (t) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    return counts;
  }

  scheduledJobs(): ScheduledJob[] {
    const jobs: ScheduledJob[] = [];
    for (const [path, c] of Object.entries(this.g.components)) {
      for (const d of Object.values(c.db._documents)) {
        if (tableNameFromId(d._id) !== "_scheduled_functions") continue;
        jobs.push({ componentPath: path, id: d._id, name: d.name, args: d.args?.[0] ?? {}, scheduledTime: d.scheduledTime, state: d.state?.kind });
      }
    }
    return jobs;
  }

  /** Mark a job that was running when the process died as failed (at most once, like actions). */
  async failInterruptedJob(componentPath: string, id: string) {
    const db = this.g.components[componentPath].db;
    await this.root.runInComponent(componentPath, async () => {
      const job = db.get("_scheduled_functions", id);
      if (job?.state?.kind === "inProgress") db.patch("_scheduled_functions", id, { state: { kind: "failed" }, completedTime: Date.now() });
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
    return await routeUrl.run(realUrl, () => accessor.fetch(u.pathname + u.search, init));
  }
}

const routeUrl = new AsyncLocalStorage<string>();
const WRAPPED = Symbol.for("warden.runtime.routerWrapped");
function wrapRouter(router: any) {
  if (router[WRAPPED]) return;
  const lookup = router.lookup.bind(router);
  router.lookup = (path: string, method: string) => {
    const found = lookup(path, method);
    if (!found) return found;
    const [func, ...rest] = found;
    const handler = "_handler" in func ? func._handler : func;
    const wrapped = Object.assign(Object.create(null), func, {
      _handler: (ctx: unknown, req: Request) => {
        const real = routeUrl.getStore();
        if (!real) return handler(ctx, req);
        const body = req.method === "GET" || req.method === "HEAD" ? null : req.body;
        const init: RequestInit & { duplex: "half" } = { method: req.method, headers: req.headers, body, duplex: "half", signal: req.signal };
        return handler(ctx, new Request(real, init));
      },
    });
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
    if (!found && store && typeof store === "object" && "components" in store && "transactionManager" in store) found = store;
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

export function checkVersions(): string[] {
  const warnings: string[] = [];
  for (const [pkg, want] of Object.entries(PINNED_VERSIONS)) {
    const have = safeVersion(pkg);
    if (have !== want) warnings.push(`${pkg} ${have} is installed; the runtime was verified with ${want}`);
  }
  return warnings;
}
