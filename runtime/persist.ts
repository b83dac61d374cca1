// Durability for the in-memory database: a write-ahead log (one line per committed transaction,
// CRC-checked, group-committed with fdatasync before any acknowledgement), compacted into snapshots;
// file-storage blobs are written to their own files before acknowledgement.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  openSync,
  fsyncSync,
  closeSync,
  truncateSync,
  statSync,
  fstatSync,
  readSync,
} from "node:fs";
import { Worker } from "node:worker_threads";
import { getHeapStatistics } from "node:v8";
import { open, rename, rm, mkdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { convexToJson, jsonToConvex } from "convex/values";
import { engineVersions, type Backend, type CommitRecord, type ComponentWrites, type State } from "./internals.js";

// Snapshot format 2: a header line, then one document per line ({"p":path,"i":id,"d":doc}; files from
// before the "i" field are read too), grouped by table. Compaction runs in a worker thread
// (snapshotWorker.js) that merges the previous snapshot with the log at the text level, so the main
// thread never serializes the database; its header lists each table's section ({p, t, n, b}) so start-up
// can seek to a table. Format 1 (one JSON object) is still read.
const SNAPSHOT = "snapshot.json";
const FORMAT = "warden-runtime-snapshot";
const SNAPSHOT_VERSION = 2;
const SLICE_DOCS = 1000;
const SEG_RE = /^wal-(\d{16})\.log$/;

type Pending = { seq: number; seg: number; line: string };
type Waiter = { target: number; resolve(): void; reject(e: unknown): void };

function fsyncDir(dir: string) {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
const segName = (first: number) => `wal-${String(first).padStart(16, "0")}.log`;
const encodePath = (componentPath: string) => (componentPath === "" ? "_root" : encodeURIComponent(componentPath));
const STORAGE_ID = /^[0-9]+[A-Za-z_][A-Za-z0-9_]*$/;

/** Sections up to this size (and system tables) are read at start; larger tables load when first used. */
const EAGER_SECTION_BYTES = 256 * 1024;

function readRange(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  for (let off = 0; off < len;) {
    const n = readSync(fd, buf, off, len - off, pos + off);
    if (n === 0) throw new Error("snapshot file is shorter than its header says");
    off += n;
  }
  return buf;
}

/** The header line and where the documents start. */
function readHeaderLine(fd: number, size: number): { head: any; bodyStart: number } {
  const parts: Buffer[] = [];
  for (let pos = 0; pos < size;) {
    const chunk = readRange(fd, pos, Math.min(1 << 16, size - pos));
    const nl = chunk.indexOf(10);
    if (nl >= 0) {
      parts.push(chunk.subarray(0, nl));
      return { head: JSON.parse(Buffer.concat(parts).toString("utf8")), bodyStart: pos + nl + 1 };
    }
    parts.push(chunk);
    pos += chunk.length;
  }
  return { head: JSON.parse(Buffer.concat(parts).toString("utf8")), bodyStart: size };
}

/** Snapshot lines ({"p", "i"?, "d"}) in a buffer → [component path, document]. */
function* snapshotRows(buf: Buffer): Generator<[string, any]> {
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    if (end > start) {
      const l = buf.toString("utf8", start, end);
      const row = JSON.parse(l);
      // Plain JSON is its own Convex value; only "$integer", "$bytes", "$float"… need decoding.
      yield [row.p, l.includes('"$') ? jsonToConvex(row.d) : row.d];
    }
    start = end + 1;
  }
}
function* docLines(buf: Buffer): Generator<any> {
  for (const [, d] of snapshotRows(buf)) yield d;
}

function line(obj: unknown) {
  const json = JSON.stringify(obj);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}
function parseLine(l: string): any | null {
  const sp = l.indexOf(" ");
  if (sp !== 8) return null;
  const json = l.slice(9);
  if (crc32(json).toString(16).padStart(8, "0") !== l.slice(0, 8)) return null;
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export type PersistOptions = {
  /** Also compact after this many log entries (off by default: compaction follows the log's size). */
  compactEntries?: number;
  /** Compact when the log exceeds max(this, the last snapshot's size); default 4 MB. */
  compactBytes?: number;
  log?: (msg: string) => void;
  /** Snapshot sections up to this size (and system tables) are read at start, larger ones deferred; default 256 KiB. */
  eagerSectionBytes?: number;
  /** Called once when a write fails: nothing can be acknowledged any more. */
  onFailure?: (e: unknown) => void;
};
/** `deferredTables`: large tables left on disk at start (they load on first use or in the background). */
export type RecoveryInfo = {
  snapshotSeq: number;
  replayed: number;
  documents: number;
  blobs: number;
  ms: number;
  deferredTables: number;
};

export class Persistence {
  private readonly walDir: string;
  private readonly storageDir: string;
  private seq = 0;
  private durableSeq = 0;
  private currentSeg = 1;
  private buf: Pending[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private handles = new Map<number, FileHandle>();
  private pendingBlobs = new Set<Promise<void>>();
  private sinceSnapshot = 0;
  private snapshotSeq = 0;
  /** Log fsyncs and the entries they made durable (group commit: entries / fsyncs per batch). */
  readonly stats = { fsyncs: 0, entries: 0 };
  /** Closes the snapshot file kept open for tables not loaded yet. */
  private closeSnapshotFd: () => void = () => undefined;
  private walBytes = 0;
  private snapshotBytes = 0;
  private compacting: Promise<void> | null = null;
  private failed: unknown = null;
  private closed = false;
  private readonly compactEntries: number | null;
  private readonly compactBytes: number;
  private readonly eagerSectionBytes: number;
  private readonly log: (msg: string) => void;
  private readonly onFailure: (e: unknown) => void;

  constructor(
    readonly dir: string,
    private readonly backend: Backend,
    opts: PersistOptions = {},
  ) {
    this.walDir = join(dir, "wal");
    this.storageDir = join(dir, "storage");
    this.compactEntries = opts.compactEntries ?? null;
    this.compactBytes = opts.compactBytes ?? 4 * 1024 * 1024;
    this.eagerSectionBytes = opts.eagerSectionBytes ?? EAGER_SECTION_BYTES;
    this.log = opts.log ?? (() => undefined);
    this.onFailure = opts.onFailure ?? (() => undefined);
    mkdirSync(this.walDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.storageDir, { recursive: true, mode: 0o700 });
  }

  /**
   * Load snapshot + log into the backend. Call before anything runs. Nothing is rewritten: new entries
   * go to a new log segment and the next compaction (sized to the log) folds the old ones in.
   */
  async recover(): Promise<RecoveryInfo> {
    const t0 = Date.now();
    let snapshotSeq = 0;
    const snapPath = join(this.dir, SNAPSHOT);
    if (existsSync(snapPath)) {
      const snap = this.readSnapshot(snapPath);
      this.backend.importState(snap.state);
      snapshotSeq = snap.seq;
      this.snapshotSeq = snap.seq;
    }
    const entries: any[] = [];
    const segments = readdirSync(this.walDir)
      .filter((n) => SEG_RE.test(n))
      .sort();
    for (const name of segments) {
      const file = join(this.walDir, name);
      const text = readFileSync(file, "utf8");
      let offset = 0;
      const lines = text.split("\n");
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i];
        const isLast = i === lines.length - 1;
        if (isLast && l === "") break;
        const entry = isLast ? null : parseLine(l); // a final line without "\n" was torn
        if (entry === null) {
          const rest = lines.slice(i + 1).filter((x) => x !== "");
          if (rest.length > 0) throw new Error(`${file}: corrupt log entry at byte ${offset}; refusing to start`);
          this.log(`write-ahead log ${name}: dropped a torn final entry (never acknowledged)`);
          truncateSync(file, offset);
          break;
        }
        entries.push(entry);
        offset += Buffer.byteLength(l) + 1;
      }
    }
    entries.sort((a, b) => a.s - b.s);
    let expected = snapshotSeq + 1;
    let replayed = 0;
    for (const e of entries) {
      if (e.s <= snapshotSeq) continue;
      if (e.s !== expected)
        throw new Error(`write-ahead log has a gap before entry ${e.s} (expected ${expected}); refusing to start`);
      const comps: Record<string, ComponentWrites> = {};
      for (const [path, c] of Object.entries<any>(e.c)) {
        const writes: Record<string, unknown> = {};
        for (const [id, doc] of Object.entries<any>(c.w)) writes[id] = doc === null ? null : jsonToConvex(doc);
        comps[path] = { writes, nextDocId: c.n, lastCreationTime: c.t };
      }
      this.backend.applyCommit(BigInt(e.ts), comps);
      expected++;
      replayed++;
    }
    this.seq = this.durableSeq = expected - 1;
    let blobs = 0;
    for (const path of this.backend.componentPaths()) {
      for (const doc of this.backend.storageDocs(path)) {
        const file = join(this.storageDir, encodePath(path), doc._id);
        if (existsSync(file)) {
          this.backend.setBlob(path, doc._id, new Blob([readFileSync(file)]));
          blobs++;
        } else this.log(`file storage: blob for ${doc._id} is missing`);
      }
    }
    let documents = 0;
    for (const path of this.backend.componentPaths())
      for (const n of this.backend.documentCounts(path).values()) documents += n;
    this.currentSeg = this.seq + 1;
    this.sinceSnapshot = replayed;
    this.walBytes = segments.reduce((n, name) => n + statSync(join(this.walDir, name)).size, 0);
    this.maybeCompact();
    return {
      snapshotSeq,
      replayed,
      documents,
      blobs,
      ms: Date.now() - t0,
      deferredTables: this.backend.deferredTables(),
    };
  }

  /**
   * Reads the snapshot. With a section list, large tables are left on disk (deferred): they load when a
   * function first reads them, or in the background after start (Backend.loadDeferred), so start-up reads
   * only the header and the small tables whatever the size of the database.
   */
  private readSnapshot(snapPath: string): { state: State; seq: number } {
    const fd = openSync(snapPath, "r");
    let lazy = 0;
    let ok = false;
    try {
      const size = fstatSync(fd).size;
      this.snapshotBytes = size;
      const { head: snap, bodyStart } = readHeaderLine(fd, size);
      if (snap.format !== FORMAT || (snap.version !== 1 && snap.version !== SNAPSHOT_VERSION))
        throw new Error(`${snapPath}: unknown snapshot format`);
      checkEngine(snapPath, snap.engine);
      const state: State = { lastCommitTs: BigInt(snap.lastCommitTs), components: {} };
      for (const [path, c] of Object.entries<any>(snap.components)) {
        state.components[path] = {
          documents: snap.version === 1 ? c.documents.map((d: any) => jsonToConvex(d)) : [],
          nextDocId: c.nextDocId,
          lastCreationTime: c.lastCreationTime,
          deferred: [],
        };
      }
      if (snap.version === 1) {
        ok = true;
        return { state, seq: snap.seq };
      }
      const refuse = (why: string) => new Error(`${snapPath}: ${why}; refusing to start`);
      const loaded = new Map<string, number>();
      if (Array.isArray(snap.sections)) {
        const sections = snap.sections as Array<{ p: string; t: string; n: number; b: number }>;
        if (bodyStart + sections.reduce((n, s) => n + s.b, 0) !== size)
          throw refuse("sections do not add up to the file size");
        for (const s of sections) loaded.set(s.p, (loaded.get(s.p) ?? 0) + s.n);
        for (const [path, c] of Object.entries<any>(snap.components))
          if ((loaded.get(path) ?? 0) !== c.count)
            throw refuse(`component "${path}" holds ${loaded.get(path) ?? 0} documents, header says ${c.count}`);
        let pos = bodyStart;
        for (const s of sections) {
          const comp = state.components[s.p];
          if (!comp) throw refuse(`section for unknown component "${s.p}"`);
          if (s.b <= this.eagerSectionBytes || s.t.startsWith("_")) {
            const before = comp.documents.length;
            for (const d of docLines(readRange(fd, pos, s.b))) comp.documents.push(d);
            if (comp.documents.length - before !== s.n)
              throw refuse(`table ${s.t} holds ${comp.documents.length - before} documents, header says ${s.n}`);
          } else {
            lazy++;
            comp.deferred!.push({
              table: s.t,
              count: s.n,
              docs: this.lazySection(fd, snapPath, s, pos, () => --lazy === 0 && closeSync(fd)),
            });
          }
          pos += s.b;
        }
      } else {
        // No section list (older files, backups): read every line now.
        for (const [p, d] of snapshotRows(readRange(fd, bodyStart, size - bodyStart)))
          state.components[p]?.documents.push(d);
        for (const [path, c] of Object.entries<any>(snap.components))
          if (state.components[path].documents.length !== c.count)
            throw refuse(
              `component "${path}" holds ${state.components[path].documents.length} documents, header says ${c.count}`,
            );
      }
      if (lazy) this.closeSnapshotFd = () => lazy > 0 && ((lazy = 0), closeSync(fd));
      ok = true;
      return { state, seq: snap.seq };
    } finally {
      if (lazy === 0 || !ok) closeSync(fd);
    }
  }

  /** A deferred table's documents: read from the open snapshot (it may be replaced on disk meanwhile). */
  private *lazySection(
    fd: number,
    file: string,
    s: { p: string; t: string; n: number; b: number },
    pos: number,
    done: () => void,
  ): Generator<any> {
    if (this.closed) throw new Error(`table ${s.t} was not loaded before the runtime stopped`);
    const buf = readRange(fd, pos, s.b);
    done();
    let n = 0;
    for (const d of docLines(buf)) {
      n++;
      yield d;
    }
    if (n !== s.n) this.log(`${file}: table ${s.t} held ${n} documents, its section header says ${s.n}`);
  }

  /** Commit hook: append synchronously (in commit order); flushed by the group-commit loop. */
  onCommit(rec: CommitRecord) {
    if (this.closed || Object.keys(rec.components).length === 0) return;
    const c: Record<string, unknown> = {};
    for (const [path, cw] of Object.entries(rec.components)) {
      const w: Record<string, unknown> = {};
      for (const [id, doc] of Object.entries(cw.writes)) w[id] = doc === null ? null : convexToJson(doc);
      c[path] = { w, n: cw.nextDocId, t: cw.lastCreationTime };
    }
    const seq = ++this.seq;
    this.buf.push({ seq, seg: this.currentSeg, line: line({ s: seq, ts: rec.ts.toString(), c }) });
    this.kick();
  }

  onBlobStored(componentPath: string, storageId: string, blob: Blob) {
    if (this.closed || !STORAGE_ID.test(storageId)) return;
    const dir = join(this.storageDir, encodePath(componentPath));
    const p = (async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `${storageId}.tmp`);
      const fh = await open(tmp, "w", 0o600);
      try {
        await fh.write(new Uint8Array(await blob.arrayBuffer()));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, storageId));
      fsyncDir(dir);
    })();
    const tracked = p.catch((e) => this.fail(e, "file storage write"));
    this.pendingBlobs.add(tracked);
    void tracked.finally(() => this.pendingBlobs.delete(tracked));
  }

  /** Resolves when everything appended so far (and every blob) is on disk. */
  async sync(): Promise<void> {
    const target = this.seq;
    if (this.pendingBlobs.size) await Promise.all([...this.pendingBlobs]);
    if (this.failed) throw new Error(`persistence failed: ${this.failed}`);
    if (this.durableSeq >= target) return;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      this.kick();
    });
  }

  private fail(e: unknown, what: string) {
    if (this.failed) return;
    this.failed = e;
    this.log(`${what} failed: ${e}`);
    this.onFailure(e);
  }

  get lastSeq() {
    return this.seq;
  }

  private kick() {
    if (this.flushing) return;
    this.flushing = this.flushLoop()
      .catch((e) => {
        this.fail(e, "write-ahead log write");
        for (const w of this.waiters.splice(0)) w.reject(e);
      })
      .finally(() => {
        this.flushing = null;
        if (this.buf.length && !this.failed) this.kick();
        else this.maybeCompact();
      });
  }

  private async handle(seg: number): Promise<FileHandle> {
    let fh = this.handles.get(seg);
    if (!fh) {
      fh = await open(join(this.walDir, segName(seg)), "a", 0o600);
      fsyncDir(this.walDir);
      this.handles.set(seg, fh);
    }
    return fh;
  }

  private async flushLoop() {
    while (this.buf.length) {
      const batch = this.buf;
      this.buf = [];
      let i = 0;
      while (i < batch.length) {
        const seg = batch[i].seg;
        let j = i;
        while (j < batch.length && batch[j].seg === seg) j++;
        const text = batch
          .slice(i, j)
          .map((p) => p.line)
          .join("");
        const fh = await this.handle(seg);
        await fh.write(text);
        await fh.datasync();
        this.stats.fsyncs++;
        this.stats.entries += j - i;
        this.walBytes += Buffer.byteLength(text);
        this.sinceSnapshot += j - i;
        this.durableSeq = batch[j - 1].seq;
        for (const [s, h] of this.handles) {
          if (s < seg) {
            this.handles.delete(s);
            await h.close();
          }
        }
        i = j;
      }
      this.releaseWaiters();
    }
    this.releaseWaiters();
  }

  private releaseWaiters() {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= this.durableSeq) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private maybeCompact() {
    if (this.closed || this.compacting) return;
    const byEntries = this.compactEntries !== null && this.sinceSnapshot >= this.compactEntries;
    // Sized to the log: a snapshot costs about as much as the log it replaces, never more often.
    if (!byEntries && this.walBytes < Math.max(this.compactBytes, this.snapshotBytes)) return;
    void this.compact().catch((e) => this.log(`snapshot failed: ${e}`));
  }

  /**
   * Write a snapshot at the current log position and drop the log segments it covers. The merge (previous
   * snapshot + log entries) runs in a worker thread; later commits go to a new segment meanwhile.
   */
  compact(): Promise<void> {
    if (this.compacting) return this.compacting;
    const seq = this.seq;
    // Nothing logged since the last snapshot.
    if (seq === this.snapshotSeq && existsSync(join(this.dir, SNAPSHOT))) return Promise.resolve();
    // Later commits go to a new segment; every segment below it holds entries ≤ seq only. (Synchronously
    // with reading seq: a commit in between would land in a segment the snapshot does not cover.)
    this.currentSeg = Math.max(this.currentSeg, seq + 1);
    const run = this.runCompaction(seq);
    this.compacting = run;
    const clear = () => {
      if (this.compacting === run) this.compacting = null;
    };
    run.then(clear, clear);
    return run;
  }

  private async runCompaction(seq: number): Promise<void> {
    await this.waitDurable(seq);
    const covered = readdirSync(this.walDir)
      .filter((n) => SEG_RE.test(n) && Number(SEG_RE.exec(n)![1]) < seq + 1)
      .sort();
    for (const name of covered) {
      const fh = this.handles.get(Number(SEG_RE.exec(name)![1]));
      if (fh) {
        this.handles.delete(Number(SEG_RE.exec(name)![1]));
        await fh.close();
      }
    }
    const r = await runMerge({ dir: this.dir, seq, segments: covered, header: snapshotHeaderBase() });
    this.snapshotSeq = seq;
    this.snapshotBytes = r.bytes;
    for (const name of covered) await rm(join(this.walDir, name), { force: true });
    // What the log still holds: the segments after the snapshot.
    this.walBytes = readdirSync(this.walDir)
      .filter((n) => SEG_RE.test(n))
      .reduce((n, name) => n + statSync(join(this.walDir, name)).size, 0);
    this.sinceSnapshot = Math.max(0, this.durableSeq - seq);
    this.pruneBlobs();
  }

  private waitDurable(seq: number): Promise<void> {
    if (this.durableSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: seq, resolve, reject });
      this.kick();
    });
  }

  private pruneBlobs() {
    for (const path of this.backend.componentPaths()) {
      const dir = join(this.storageDir, encodePath(path));
      if (!existsSync(dir)) continue;
      const live = new Set(this.backend.storageDocs(path).map((d) => d._id));
      for (const name of readdirSync(dir))
        if (!name.endsWith(".tmp") && !live.has(name)) rmSync(join(dir, name), { force: true });
    }
  }

  /** Flush, snapshot, close. */
  async close() {
    if (this.closed) return;
    await this.sync().catch(() => undefined);
    if (this.compacting) await this.compacting.catch(() => undefined);
    if (!this.failed) await this.compact();
    this.closed = true;
    this.closeSnapshotFd();
    for (const fh of this.handles.values()) await fh.close();
    this.handles.clear();
  }

  /** Synchronous best-effort snapshot for fatal paths. */
  snapshotSync() {
    const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
    writeFileSync(tmp, [...snapshotChunks(this.backend.exportState(), this.seq)].join(""), { mode: 0o600 });
    renameSync(tmp, join(this.dir, SNAPSHOT));
    this.snapshotSeq = this.seq;
  }
}

const snapshotHeaderBase = () => ({ format: FORMAT, version: SNAPSHOT_VERSION, engine: engineVersions() });

/** One document's snapshot line. */
export function snapshotLine(componentPath: string, doc: { _id: string }): string {
  return `{"p":${JSON.stringify(componentPath)},"i":${JSON.stringify(doc._id)},"d":${JSON.stringify(convexToJson(doc as any))}}\n`;
}

/**
 * The snapshot file's content for `state` at log position `seq` (online backups, the fatal-path snapshot),
 * serialized in slices on the calling thread; documents are grouped by table, without a section list
 * (start-up then reads the whole file; the next compaction adds it).
 */
export function* snapshotChunks(state: State, seq: number): Generator<string> {
  const components: Record<string, unknown> = {};
  for (const [path, c] of Object.entries(state.components))
    components[path] = { nextDocId: c.nextDocId, lastCreationTime: c.lastCreationTime, count: c.documents.length };
  yield (
    JSON.stringify({ ...snapshotHeaderBase(), seq, lastCommitTs: state.lastCommitTs.toString(), components }) + "\n"
  );
  for (const [path, c] of Object.entries(state.components)) {
    const byTable = new Map<string, any[]>();
    for (const d of c.documents) {
      const t = d._id.replace(/^[0-9]+/, "");
      let list = byTable.get(t);
      if (!list) byTable.set(t, (list = []));
      list.push(d);
    }
    for (const docs of byTable.values()) {
      for (let i = 0; i < docs.length; i += SLICE_DOCS) {
        let out = "";
        for (const d of docs.slice(i, i + SLICE_DOCS)) out += snapshotLine(path, d);
        yield out;
      }
    }
  }
}

type MergeResult = { bytes: number; documents: number; entries: number };

/** Runs snapshotWorker.js's merge in a worker thread. */
function runMerge(task: {
  dir: string;
  seq: number;
  segments: string[];
  header: Record<string, unknown>;
}): Promise<MergeResult> {
  return new Promise((resolve, reject) => {
    // The merge holds the latest version of every changed document: give it the main thread's heap limit.
    const heapMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
    const w = new Worker(new URL("./snapshotWorker.js", import.meta.url), {
      workerData: { task: "merge", ...task },
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    let settled = false;
    w.once("message", (m: { ok: boolean; error?: string } & MergeResult) => {
      settled = true;
      if (m.ok) resolve(m);
      else reject(new Error(`snapshot merge failed: ${m.error}`));
    });
    w.once("error", (e) => {
      settled = true;
      reject(e);
    });
    w.once("exit", (code) => {
      if (!settled) reject(new Error(`snapshot worker exited with code ${code}`));
    });
  });
}

/**
 * Snapshots name the convex-test/convex versions that wrote them (IDs, system-table shapes and scheduler
 * states are theirs). Another version is refused unless WARDEN_ALLOW_ENGINE_UPGRADE=1, which loads the
 * documents as they are; the next snapshot carries the new stamp.
 */
function checkEngine(file: string, stamp: Record<string, string> | undefined) {
  if (!stamp) return; // format 1 was written by the pinned versions
  const have = engineVersions();
  const diff = Object.keys(have).filter((k) => stamp[k] !== (have as Record<string, string>)[k]);
  if (diff.length === 0) return;
  const what = diff.map((k) => `${k} ${stamp[k]} → ${(have as Record<string, string>)[k]}`).join(", ");
  if (process.env.WARDEN_ALLOW_ENGINE_UPGRADE === "1") {
    console.warn(`[runtime] ${file}: written by ${what}; loading it as is (WARDEN_ALLOW_ENGINE_UPGRADE=1)`);
    return;
  }
  throw new Error(
    `${file} was written by a different engine (${what}). Pin the versions back, or start once with WARDEN_ALLOW_ENGINE_UPGRADE=1 after checking the upgrade notes in runtime/README.md.`,
  );
}
