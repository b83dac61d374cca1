// Compaction off the main thread: merges the previous snapshot with the write-ahead log entries after it
// into a new snapshot, working on the files' text (documents are never decoded back into Convex values).
// Started by persist.ts as a worker thread; plain JavaScript so it needs no TypeScript loader.
//
// Snapshot format 2 (see persist.ts): a header line, then one line per document,
//   {"p":<component path>,"i":<id>,"d":<document as convexToJson JSON>}
// grouped by table; the header's `sections` list each table's run of lines in file order
// ({p, t, n: documents, b: bytes}), so a reader can seek to a table without reading the others.
// Older files (no "i", no sections, or format 1) are read too.
import { parentPort, workerData } from "node:worker_threads";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";

const NL = 10;

/** `<digits><table>` → table (null when not an ID). */
function tableOf(id) {
  const m = /^[0-9]+/.exec(id);
  if (!m || m[0].length === id.length) return null;
  return id.slice(m[0].length);
}
const counterOf = (id) => Number(/^[0-9]+/.exec(id)?.[0] ?? NaN);
const linePrefix = (path) => `{"p":${JSON.stringify(path)},"i":"`;
const docLine = (path, id, json) => `${linePrefix(path)}${id}","d":${json}}\n`;

/** The id of a document line: read from its "i" field when present, else parsed. */
function lineId(line, prefix) {
  if (line.startsWith(prefix)) return line.slice(prefix.length, line.indexOf('"', prefix.length));
  return JSON.parse(line).d._id;
}

/** Path and id of a line that starts `{"p":<string>,"i":"<id>"` (null for the older form without "i"). */
export function pathAndId(line) {
  if (!line.startsWith('{"p":"')) return null;
  let i = 6;
  while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
  if (!line.startsWith(',"i":"', i + 1)) return null;
  const start = i + 7;
  return { path: JSON.parse(line.slice(5, i + 1)), id: line.slice(start, line.indexOf('"', start)) };
}

/** Splits a buffer of "\n"-terminated lines into strings (the last line may lack its "\n"). */
function* lines(buf, start = 0, end = buf.length) {
  let pos = start;
  while (pos < end) {
    let nl = buf.indexOf(NL, pos);
    if (nl < 0 || nl > end) nl = end;
    if (nl > pos) yield buf.toString("utf8", pos, nl);
    pos = nl + 1;
  }
}

/**
 * Reads the previous snapshot into per-table parts. A part is either `raw` (a section's bytes, still
 * untouched) or `lines` (id → line). Returns the header's counters and seq.
 */
function readSnapshot(file) {
  const comps = new Map(); // path → { nextDocId, lastCreationTime, tables: Map<table, part> }
  if (!existsSync(file)) return { seq: 0, lastCommitTs: 0n, comps };
  const buf = readFileSync(file);
  let nl = buf.indexOf(NL);
  if (nl < 0) nl = buf.length;
  const head = JSON.parse(buf.toString("utf8", 0, nl));
  for (const [path, c] of Object.entries(head.components ?? {}))
    comps.set(path, { nextDocId: c.nextDocId, lastCreationTime: c.lastCreationTime, tables: new Map() });
  const part = (path, table) => {
    let comp = comps.get(path);
    if (!comp) comps.set(path, (comp = { nextDocId: 0, lastCreationTime: 0, tables: new Map() }));
    let p = comp.tables.get(table);
    if (!p) comp.tables.set(table, (p = { raw: null, n: 0, lines: new Map() }));
    return p;
  };
  if (head.version === 1) {
    for (const [path, c] of Object.entries(head.components))
      for (const d of c.documents) {
        const p = part(path, tableOf(d._id) ?? "?");
        p.lines.set(d._id, docLine(path, d._id, JSON.stringify(d)));
        p.n++;
      }
  } else if (Array.isArray(head.sections)) {
    let pos = nl + 1;
    for (const s of head.sections) {
      const p = part(s.p, s.t);
      if (p.raw || p.lines.size) throw new Error(`snapshot: table ${s.t} of "${s.p}" appears twice`);
      p.raw = buf.subarray(pos, pos + s.b);
      p.lines = null;
      p.n = s.n;
      pos += s.b;
    }
  } else {
    // Format 2 without sections: lines in any order, with or without "i".
    for (const l of lines(buf, nl + 1)) {
      const fast = pathAndId(l);
      const row = fast ? null : JSON.parse(l);
      const path = fast ? fast.path : row.p;
      const id = fast ? fast.id : row.d._id;
      const p = part(path, tableOf(id) ?? "?");
      p.lines.set(id, row ? docLine(path, id, JSON.stringify(row.d)) : l + "\n");
      p.n++;
    }
  }
  return { seq: head.seq ?? 0, lastCommitTs: BigInt(head.lastCommitTs ?? 0), comps };
}

function parseLogLine(l) {
  if (l.indexOf(" ") !== 8) return null;
  const json = l.slice(9);
  if (crc32(json).toString(16).padStart(8, "0") !== l.slice(0, 8)) return null;
  return JSON.parse(json);
}

/**
 * Writes `<dir>/snapshot.json` for log position `seq`: the previous snapshot plus the log entries after
 * it up to `seq` (all in `segments`, already durable). Returns the new file's size and document count.
 */
export function mergeSnapshot({ dir, seq, segments, header }) {
  const snapFile = join(dir, "snapshot.json");
  const base = readSnapshot(snapFile);
  // Last write per document, grouped by component and table; entries are applied as they are read
  // (segments and the lines in them are in log order), so only the latest version of each is kept.
  const oldNext = new Map([...base.comps].map(([p, c]) => [p, c.nextDocId]));
  const changes = new Map(); // path → table → id → json | null
  let lastCommitTs = base.lastCommitTs;
  let expected = base.seq + 1;
  const apply = (e) => {
    const ts = BigInt(e.ts);
    if (ts > lastCommitTs) lastCommitTs = ts;
    for (const [path, c] of Object.entries(e.c)) {
      let comp = base.comps.get(path);
      if (!comp) base.comps.set(path, (comp = { nextDocId: 0, lastCreationTime: 0, tables: new Map() }));
      comp.nextDocId = Math.max(comp.nextDocId, c.n);
      comp.lastCreationTime = Math.max(comp.lastCreationTime, c.t);
      let byTable = changes.get(path);
      if (!byTable) changes.set(path, (byTable = new Map()));
      for (const [id, doc] of Object.entries(c.w)) {
        const table = tableOf(id) ?? "?";
        let m = byTable.get(table);
        if (!m) byTable.set(table, (m = new Map()));
        m.set(id, doc === null ? null : JSON.stringify(doc));
      }
    }
  };
  for (const name of [...segments].sort()) {
    const file = join(dir, "wal", name);
    if (!existsSync(file)) continue;
    for (const l of lines(readFileSync(file))) {
      const e = parseLogLine(l);
      if (e === null) throw new Error(`${file}: corrupt log entry`);
      if (e.s <= base.seq || e.s > seq) continue;
      if (e.s !== expected) throw new Error(`log entry ${expected} missing (found ${e.s})`);
      apply(e);
      expected++;
    }
  }
  if (expected - 1 !== seq) throw new Error(`log ends at ${expected - 1}, snapshot wanted at ${seq}`);
  // Build each table's section: untouched bytes are copied, new documents appended; a table whose
  // existing documents changed is rewritten line by line.
  const sections = [];
  const chunks = [];
  let documents = 0;
  const counts = {};
  for (const [path, comp] of base.comps) {
    const prefix = linePrefix(path);
    const byTable = changes.get(path) ?? new Map();
    const tables = new Set([...comp.tables.keys(), ...byTable.keys()]);
    let compCount = 0;
    for (const table of tables) {
      const p = comp.tables.get(table) ?? { raw: null, n: 0, lines: new Map() };
      const ch = byTable.get(table);
      const out = [];
      let n = p.n;
      const first = oldNext.get(path) ?? 0;
      const touchesOld = ch && [...ch.keys()].some((id) => !(counterOf(id) >= first));
      if (!touchesOld) {
        if (p.raw) out.push(p.raw);
        else for (const l of p.lines.values()) out.push(l);
        for (const [id, json] of ch ?? []) {
          if (json === null) continue;
          out.push(docLine(path, id, json));
          n++;
        }
      } else {
        const m = p.lines ?? new Map();
        if (p.raw) for (const l of lines(p.raw)) m.set(lineId(l, prefix), l + "\n");
        for (const [id, json] of ch) {
          if (json === null) m.delete(id);
          else m.set(id, docLine(path, id, json));
        }
        n = m.size;
        for (const l of m.values()) out.push(l);
      }
      if (n === 0) continue;
      const b = out.reduce((s, x) => s + (typeof x === "string" ? Buffer.byteLength(x) : x.length), 0);
      sections.push({ p: path, t: table, n, b });
      chunks.push(...out);
      compCount += n;
    }
    counts[path] = compCount;
    documents += compCount;
  }
  const components = {};
  for (const [path, comp] of base.comps)
    components[path] = { nextDocId: comp.nextDocId, lastCreationTime: comp.lastCreationTime, count: counts[path] ?? 0 };
  const head = JSON.stringify({ ...header, seq, lastCommitTs: lastCommitTs.toString(), components, sections }) + "\n";

  const tmp = `${snapFile}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  let bytes = 0;
  const writeAll = (data) => {
    const b = typeof data === "string" ? Buffer.from(data) : data;
    for (let off = 0; off < b.length;) off += writeSync(fd, b, off, b.length - off);
    bytes += b.length;
  };
  try {
    writeAll(head);
    let pending = ""; // small strings are batched into larger writes
    for (const c of chunks) {
      if (typeof c === "string") {
        pending += c;
        if (pending.length < 1 << 20) continue;
        writeAll(pending);
        pending = "";
        continue;
      }
      if (pending) writeAll(pending);
      pending = "";
      writeAll(c);
    }
    if (pending) writeAll(pending);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, snapFile);
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return { bytes, documents, entries: seq - base.seq };
}

if (parentPort && workerData?.task === "merge") {
  try {
    parentPort.postMessage({ ok: true, ...mergeSnapshot(workerData) });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}
