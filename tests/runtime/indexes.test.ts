// @vitest-environment node
// Indexed reads (runtime/store.ts behind runtime/internals.ts) against convex-test's own answers:
// random documents, writes and index ranges (eq prefixes, bounds, order, filters, limits, pages, counts,
// reads inside a transaction with pending writes) must give the same documents in the same order.
import { expect, test } from "vitest";
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { convexTest } from "convex-test";
import { Backend, moduleMap } from "../../runtime/internals.js";

const schema = defineSchema({
  items: defineTable({
    n: v.number(),
    a: v.optional(v.union(v.null(), v.number(), v.string(), v.boolean(), v.int64())),
    b: v.optional(v.number()),
    tag: v.string(),
    o: v.optional(v.object({ x: v.number() })),
  })
    .index("by_a_b", ["a", "b"])
    .index("by_tag", ["tag"])
    .index("by_ox", ["o.x"]),
  other: defineTable({ k: v.string() }).index("by_k", ["k"]),
});

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const A_VALUES: unknown[] = [undefined, null, -1, 0, 1.5, 2, "", "a", "b", "ab", true, false, 3n, -2n];
const B_VALUES: unknown[] = [undefined, -3, 0, 1, 2, 7.5];
const TAGS = ["x", "y", "z", "é", "Z"];

type Range = { field: string; op: "eq" | "gt" | "gte" | "lt" | "lte"; value: unknown }[];

test("index ranges, order, filters, limits, pages and counts match convex-test (random)", async () => {
  const ref: any = convexTest(schema as any, { "/convex/_generated/server.js": async () => ({}) });
  const ours = await Backend.create({ schema: schema as any, modules: moduleMap({}, "/convex"), components: [] });
  const sys: any = ours.root;
  const rand = rng(24);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const docOf = (n: number) => {
    const d: Record<string, unknown> = { n, tag: pick(TAGS) };
    const a = pick(A_VALUES);
    if (a !== undefined) d.a = a;
    const b = pick(B_VALUES);
    if (b !== undefined) d.b = b;
    if (rand() < 0.6) d.o = { x: Math.floor(rand() * 5) };
    return d;
  };
  const idsRef = new Map<number, string>();
  const idsOurs = new Map<number, string>();
  let next = 0;
  const both = async (fn: (ctx: any, ids: Map<number, string>) => Promise<void>) => {
    await ref.run((ctx: any) => fn(ctx, idsRef));
    await sys.run((ctx: any) => fn(ctx, idsOurs));
  };

  const fields: Record<string, string[]> = {
    by_a_b: ["a", "b"],
    by_tag: ["tag"],
    by_ox: ["o.x"],
    by_creation_time: ["_creationTime"],
  };
  const valuesOf = (f: string) =>
    f === "a" ? A_VALUES : f === "b" ? B_VALUES : f === "tag" ? TAGS : f === "o.x" ? [undefined, 0, 1, 2, 3, 4] : [];
  const randomRange = (index: string): Range => {
    const fs = fields[index];
    if (index === "by_creation_time") return [];
    const r: Range = [];
    let i = 0;
    while (i < fs.length && rand() < 0.5) r.push({ field: fs[i], op: "eq", value: pick(valuesOf(fs[i++])) });
    if (i < fs.length) {
      if (rand() < 0.5) r.push({ field: fs[i], op: pick(["gt", "gte"] as const), value: pick(valuesOf(fs[i])) });
      if (rand() < 0.5) r.push({ field: fs[i], op: pick(["lt", "lte"] as const), value: pick(valuesOf(fs[i])) });
    }
    return r;
  };
  const build = (ctx: any, index: string, range: Range, order: "asc" | "desc", filter: boolean) => {
    let q = ctx.db
      .query("items")
      .withIndex(index, (x: any) => range.reduce((acc, c) => acc[c.op](c.field, c.value), x))
      .order(order);
    if (filter) q = q.filter((f: any) => f.neq(f.field("tag"), "y"));
    return q;
  };
  const ns = (docs: any[]) => docs.map((d) => d.n);

  let checked = 0;
  for (let round = 0; round < 12; round++) {
    // Writes: inserts, patches (index fields change), deletes.
    const inserts = Array.from({ length: 10 + Math.floor(rand() * 30) }, () => docOf(next++));
    await both(async (ctx, ids) => {
      for (const d of inserts) ids.set(d.n as number, await ctx.db.insert("items", d));
    });
    const live = [...idsRef.keys()];
    const patches = Array.from({ length: 8 }, () => ({
      n: pick(live),
      a: pick(A_VALUES.filter((x) => x !== undefined)),
      tag: pick(TAGS),
    }));
    const deletes = Array.from({ length: 4 }, () => pick(live)).filter(
      (n, i, xs) => xs.indexOf(n) === i && !patches.some((p) => p.n === n),
    );
    await both(async (ctx, ids) => {
      for (const p of patches) await ctx.db.patch(ids.get(p.n)!, { a: p.a, tag: p.tag });
      for (const n of deletes) await ctx.db.delete(ids.get(n)!);
    });
    deletes.forEach((n) => {
      idsRef.delete(n);
      idsOurs.delete(n);
    });

    for (let k = 0; k < 40; k++) {
      const index = pick(Object.keys(fields));
      const range = randomRange(index);
      const order = pick(["asc", "desc"] as const);
      const filter = rand() < 0.3;
      const limit = rand() < 0.5 ? 1 + Math.floor(rand() * 6) : null;
      const run = (ctx: any) =>
        limit === null
          ? build(ctx, index, range, order, filter).collect()
          : build(ctx, index, range, order, filter).take(limit);
      const want = ns(await ref.run(run));
      const got = ns(await sys.query(run));
      expect(
        got,
        JSON.stringify({ index, range: range.map((r) => ({ ...r, value: String(r.value) })), order, filter, limit }),
      ).toEqual(want);
      checked++;
    }

    // Pagination: walk every page of a random range in both.
    for (let k = 0; k < 6; k++) {
      const index = pick(Object.keys(fields));
      const range = randomRange(index);
      const order = pick(["asc", "desc"] as const);
      const filter = rand() < 0.3;
      const numItems = 1 + Math.floor(rand() * 7);
      const walk = async (t: any, via: "run" | "query") => {
        const out: unknown[] = [];
        let cursor: string | null = null;
        for (let i = 0; i < 200; i++) {
          const r: any = await t[via]((ctx: any) =>
            build(ctx, index, range, order, filter).paginate({ numItems, cursor }),
          );
          out.push({ page: ns(r.page), isDone: r.isDone, status: r.pageStatus ?? null });
          if (r.isDone) break;
          cursor = r.continueCursor;
        }
        return out;
      };
      expect(await walk(sys, "query")).toEqual(await walk(ref, "run"));
      checked++;
    }

    // Reads inside a transaction see its own pending writes (insert, patch, delete), in index order.
    const extra = docOf(next++);
    const victim = pick([...idsRef.keys()]);
    const index = pick(Object.keys(fields));
    const range = randomRange(index);
    const inTx = async (t: any, ids: Map<number, string>) =>
      await t
        .run(async (ctx: any) => {
          const id = await ctx.db.insert("items", extra);
          await ctx.db.patch(ids.get(victim)!, { tag: "y" });
          const all = ns(await build(ctx, index, range, "desc", true).collect());
          const count = await ctx.db.query("items").count();
          await ctx.db.delete(id);
          const after = ns(await build(ctx, index, range, "asc", false).take(5));
          throw Object.assign(new Error("rollback"), { result: { all, count, after } });
        })
        .catch((e: any) => e.result);
    expect(await inTx(sys, idsOurs)).toEqual(await inTx(ref, idsRef));
    expect(await sys.run((ctx: any) => ctx.db.query("items").count())).toBe(
      await ref.run((ctx: any) => ctx.db.query("items").count()),
    );
    checked++;
  }
  expect(checked).toBeGreaterThan(500);
  // The store holds exactly the committed documents.
  expect(ours.store("")!.count("items")).toBe(idsOurs.size);
});

test("a point lookup and a small-table read cost the same next to 50k unrelated documents", async () => {
  const ours = await Backend.create({ schema: schema as any, modules: moduleMap({}, "/convex"), components: [] });
  const t: any = ours.root;
  const id = await t.run((ctx: any) => ctx.db.insert("other", { k: "needle" }));
  const time = async () => {
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) {
      await t.query(async (ctx: any) => {
        await ctx.db.get(id);
        return await ctx.db
          .query("other")
          .withIndex("by_k", (q: any) => q.eq("k", "needle"))
          .unique();
      });
    }
    return (performance.now() - t0) / 50;
  };
  const small = await time();
  for (let b = 0; b < 10; b++)
    await t.run(async (ctx: any) => {
      for (let i = 0; i < 5000; i++) await ctx.db.insert("items", { n: b * 5000 + i, tag: "x", a: i });
    });
  const large = await time();
  // Generous bound (shared CI cores): a scan of 50k documents costs tens of milliseconds.
  expect(large).toBeLessThan(Math.max(3 * small, 2));
});
