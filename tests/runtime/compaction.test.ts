// @vitest-environment node
// Compaction in a worker thread: the snapshot it writes (previous snapshot + log entries, merged as text)
// holds exactly the live state — after random inserts, patches and deletes across tables, compactions
// started while writes go on, a snapshot of the older form (no "i", no sections), a crash image and a
// clean stop — and its section list matches the file. Start-up leaves large tables on disk: they load on
// first use (with the log entries replayed into them) or in the background, and answer like the rest.
import { afterAll, beforeAll, expect, test } from "vitest";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Backend, moduleMap } from "../../runtime/internals.js";
import { loadApp, type LoadedApp } from "../../runtime/load.js";
import { Persistence } from "../../runtime/persist.js";
import { FIXTURE, ensureFixture, tempDir } from "./helpers.js";

let app: LoadedApp;
const dirs: string[] = [];
beforeAll(async () => {
  ensureFixture();
  app = await loadApp(join(FIXTURE, "convex"));
});
afterAll(() => {
  app?.cleanup();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function open(dir: string, eagerSectionBytes?: number, compactBytes = 1 << 30) {
  const backend = await Backend.create({
    schema: app.schema,
    modules: moduleMap(app.files, "/convex"),
    components: [],
  });
  const p = new Persistence(dir, backend, { compactBytes, eagerSectionBytes }); // by default compactions only when the test asks
  const info = await p.recover();
  backend.setHooks({ onCommit: (r) => p.onCommit(r), onBlobStored: (path, id, b) => p.onBlobStored(path, id, b) });
  return { backend, p, info };
}

/** Every document of the root component, by id (loads tables not yet loaded). */
function live(backend: Backend): Record<string, unknown> {
  const docs = backend.exportState().components[""].documents;
  return Object.fromEntries(docs.map((d) => [d._id, d]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

async function randomWrites(backend: Backend, n: number, rand: () => number, ids: string[]) {
  for (let i = 0; i < n; i++) {
    await backend.root.run(async (ctx: any) => {
      const ops = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < ops; k++) {
        const r = rand();
        if (r < 0.5 || ids.length === 0) {
          if (rand() < 0.7)
            ids.push(
              await ctx.db.insert("messages", {
                author: `a${Math.floor(rand() * 5)}`,
                body: `b${i}.${k} "quoted" ∑ \n`,
              }),
            );
          else ids.push(await ctx.db.insert("counters", { name: `c${Math.floor(rand() * 9)}`, value: rand() }));
        } else {
          const at = Math.floor(rand() * ids.length);
          const id = ids[at];
          if (!(await ctx.db.get(id))) continue;
          if (r < 0.8) {
            if (id.endsWith("messages")) await ctx.db.patch(id, { body: `patched ${i}` });
            else await ctx.db.patch(id, { value: i });
          } else {
            await ctx.db.delete(id);
            ids.splice(at, 1);
          }
        }
      }
    });
  }
}

test("worker compaction writes exactly the live state (random writes, concurrent compactions, older snapshot form)", async () => {
  const dir = tempDir();
  const crash = tempDir();
  dirs.push(dir, crash);
  const rand = rng(24);
  const ids: string[] = [];
  const a = await open(dir);
  await randomWrites(a.backend, 150, rand, ids);
  await a.p.sync();
  await a.p.compact(); // first snapshot: from the log alone
  await randomWrites(a.backend, 100, rand, ids);
  // A compaction started while writes go on covers a prefix; the rest stays in the log.
  const c = a.p.compact();
  await randomWrites(a.backend, 60, rand, ids);
  await c;
  await randomWrites(a.backend, 40, rand, ids);
  await a.p.sync();

  // The snapshot's section list matches its lines.
  const text = readFileSync(join(dir, "snapshot.json"), "utf8");
  const nl = text.indexOf("\n");
  const head = JSON.parse(text.slice(0, nl));
  expect(head.version).toBe(2);
  let pos = Buffer.byteLength(text.slice(0, nl + 1));
  const buf = Buffer.from(text);
  for (const s of head.sections) {
    const lines = buf
      .toString("utf8", pos, pos + s.b)
      .split("\n")
      .filter(Boolean);
    expect(lines).toHaveLength(s.n);
    for (const l of lines) {
      const row = JSON.parse(l);
      expect(row.p).toBe(s.p);
      expect(row.i).toBe(row.d._id);
      expect(row.d._id.endsWith(s.t)).toBe(true);
    }
    pos += s.b;
  }
  expect(pos).toBe(buf.length);

  // A kill -9 image (snapshot + log) and the live state agree.
  const want = live(a.backend);
  expect(Object.keys(want).length).toBeGreaterThan(100);
  cpSync(dir, crash, { recursive: true });
  const b = await open(crash);
  expect(live(b.backend)).toEqual(want);

  // The older snapshot form (no "i", no sections) is merged too.
  const old = [JSON.stringify({ ...head, sections: undefined })];
  for (const l of text
    .slice(nl + 1)
    .split("\n")
    .filter(Boolean)) {
    const row = JSON.parse(l);
    old.push(JSON.stringify({ p: row.p, d: row.d }));
  }
  writeFileSync(join(crash, "snapshot.json"), old.join("\n") + "\n");
  await b.p.close();
  const c2 = await open(crash);
  expect(live(c2.backend)).toEqual(want);
  await randomWrites(c2.backend, 30, rand, ids);
  await c2.p.sync();
  await c2.p.compact();
  const want2 = live(c2.backend);
  await c2.p.close();
  const d = await open(crash);
  expect(d.info.replayed).toBe(0); // a clean stop leaves everything in the snapshot
  expect(live(d.backend)).toEqual(want2);
  await d.p.close();

  // Clean stop of the original, then start: the same state.
  await a.p.close();
  const e = await open(dir);
  expect(live(e.backend)).toEqual(want);
  await e.p.close();
}, 120_000);

test("large tables stay on disk at start; first use, replayed log entries, live writes and the background load agree", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const rand = rng(7);
  const ids: string[] = [];
  const a = await open(dir);
  await randomWrites(a.backend, 200, rand, ids);
  await a.p.sync();
  await a.p.compact();
  // Log entries after the snapshot touch old and new documents of both tables (replayed into deferred tables).
  await randomWrites(a.backend, 80, rand, ids);
  await a.p.sync();
  const want = live(a.backend);
  const wantCounts = Object.fromEntries(a.backend.documentCounts());
  const [image, image2, image3] = [tempDir(), tempDir(), tempDir()];
  dirs.push(image, image2, image3);
  for (const d of [image, image2, image3]) cpSync(dir, d, { recursive: true });

  // Every user table deferred (section size limit 0); system tables are always read.
  const b = await open(image, 0);
  expect(b.info.deferredTables).toBe(2);
  expect(b.backend.deferredTables()).toBe(2);
  expect(Object.fromEntries(b.backend.documentCounts())).toEqual(wantCounts); // counted without loading
  expect(b.backend.deferredTables()).toBe(2);
  // A live insert into a table still on disk, then reads through an index, get and count.
  const fresh = (await b.backend.root.mutationFromPath(
    { udfPath: "messages:send", componentPath: "" },
    { author: "a1", body: "fresh" },
  )) as string;
  expect(b.backend.deferredTables()).toBe(2);
  const byAuthor = (await b.backend.root.queryFromPath(
    { udfPath: "messages:byAuthor", componentPath: "" },
    { author: "a1" },
  )) as any[];
  expect(b.backend.deferredTables()).toBe(1); // messages loaded on first use
  const wantA1 = Object.values(want).filter((d: any) => d._id.endsWith("messages") && d.author === "a1");
  expect(byAuthor.map((d) => d._id)).toEqual([...wantA1.map((d: any) => d._id), fresh]);
  const someCounter = Object.keys(want).find((id) => id.endsWith("counters"))!;
  expect(await b.backend.root.run(async (ctx: any) => await ctx.db.get(someCounter))).toEqual(want[someCounter]);
  expect(b.backend.deferredTables()).toBe(0); // counters loaded by the get
  expect(live(b.backend)).toEqual({ ...want, [fresh]: expect.objectContaining({ body: "fresh" }) });

  // The background loader brings everything in; results equal an eager start.
  const c = await open(image2, 0);
  expect(c.backend.deferredTables()).toBe(2);
  await c.backend.loadDeferred({ sliceDocs: 7 });
  expect(c.backend.deferredTables()).toBe(0);
  const d = await open(image3);
  expect(d.backend.deferredTables()).toBe(0);
  expect(live(c.backend)).toEqual(live(d.backend));
  expect(live(d.backend)).toEqual(want);
  await b.p.close();
  await c.p.close();
  await d.p.close();
  await a.p.close();
}, 120_000);

test("a compaction with nothing new to write does not stop later ones; a clean stop leaves no log", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const a = await open(dir, undefined, 64 * 1024);
  const ids: string[] = [];
  await randomWrites(a.backend, 20, rng(3), ids);
  await a.p.sync();
  await a.p.compact();
  await a.p.compact(); // nothing new: a no-op
  await a.p.compact();
  const seqOf = () => JSON.parse(readFileSync(join(dir, "snapshot.json"), "utf8").split("\n")[0]).seq;
  const first = seqOf();
  // Writes past the size trigger compact by themselves again.
  await randomWrites(a.backend, 300, rng(4), ids);
  await a.p.sync();
  const end = Date.now() + 20_000;
  while (seqOf() === first && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(seqOf()).toBeGreaterThan(first);
  const want = live(a.backend);
  await a.p.close();
  expect(readdirSync(join(dir, "wal"))).toEqual([]);
  const b = await open(dir);
  expect(b.info.replayed).toBe(0);
  expect(live(b.backend)).toEqual(want);
  await b.p.close();
});
