// @vitest-environment node
// Document validation on writes: the runtime checks documents without exceptions first
// (acceptsDocument in runtime/internals.ts) and leaves rejections to convex-test. Random documents
// against a schema with every validator kind must be accepted or rejected exactly like an unmodified
// convex-test, with the same error text, for insert, patch and replace.
import { expect, test } from "vitest";
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { convexTest } from "convex-test";
import { Backend, acceptsDocument, moduleMap } from "../../runtime/internals.js";

const schema = defineSchema({
  items: defineTable({
    n: v.number(),
    s: v.optional(v.string()),
    kind: v.union(v.literal("a"), v.literal("b"), v.literal("c")),
    state: v.optional(
      v.union(
        v.object({ kind: v.literal("pending") }),
        v.object({ kind: v.literal("done"), at: v.number(), note: v.optional(v.string()) }),
      ),
    ),
    tags: v.optional(v.array(v.union(v.string(), v.null()))),
    big: v.optional(v.int64()),
    flag: v.optional(v.boolean()),
    raw: v.optional(v.bytes()),
    ref: v.optional(v.id("other")),
    meta: v.optional(v.record(v.string(), v.number())),
    anything: v.optional(v.any()),
    nil: v.optional(v.null()),
  }),
  other: defineTable({ k: v.string() }),
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

class Thing {
  kind = "pending";
}

const VALUES: unknown[] = [
  undefined,
  null,
  0,
  1.5,
  NaN,
  "",
  "a",
  "d",
  true,
  3n,
  new ArrayBuffer(2),
  new Uint8Array(2),
  [],
  ["x", null],
  ["x", 1],
  {},
  { kind: "pending" },
  { kind: "done", at: 1 },
  { kind: "done", at: "1" },
  { kind: "done", at: 1, note: "n", extra: 1 },
  { x: 1 },
  Object.assign(Object.create(null), { kind: "pending" }),
  new Thing(),
  "10000other",
  "10000items",
  "other",
];
const FIELDS = ["n", "s", "kind", "state", "tags", "big", "flag", "raw", "ref", "meta", "anything", "nil", "extra"];

test("document validation accepts and rejects like convex-test (random insert, patch, replace)", async () => {
  const ref: any = convexTest(schema as any, { "/convex/_generated/server.js": async () => ({}) });
  const ours = await Backend.create({ schema: schema as any, modules: moduleMap({}, "/convex"), components: [] });
  const sys: any = ours.root;
  const documentType = (schema as any).tables.items.export().documentType;
  const rand = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const valid = () => ({ n: 1, kind: "a" });
  const randomDoc = () => {
    const d: Record<string, unknown> = rand() < 0.3 ? {} : valid();
    for (let i = Math.floor(rand() * 4); i > 0; i--) {
      const value = pick(VALUES);
      if (value !== undefined) d[pick(FIELDS)] = value;
    }
    return d;
  };
  const outcome = async (t: any, op: (ctx: any) => Promise<unknown>) => {
    try {
      await t.run(op);
      return "ok";
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  const [refId, ourId] = [
    await ref.run((ctx: any) => ctx.db.insert("items", valid())),
    await sys.run((ctx: any) => ctx.db.insert("items", valid())),
  ];
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 600; i++) {
    const doc = randomDoc();
    const op = pick(["insert", "patch", "replace"] as const);
    const run = (id: string) => (ctx: any) =>
      op === "insert"
        ? ctx.db.insert("items", { ...doc })
        : op === "patch"
          ? ctx.db.patch(id, { ...doc })
          : ctx.db.replace(id, { ...doc });
    const expected = await outcome(ref, run(refId));
    const got = await outcome(sys, run(ourId));
    expect(got, `${op} ${JSON.stringify(doc, (_k, x) => (typeof x === "bigint" ? `${x}n` : x))}`).toBe(expected);
    // The fast check itself is exact here (no commit-ts placeholders), not only safe. (Values convex
    // cannot encode, e.g. a class instance, are refused before the document reaches validation.)
    if (op === "insert" && (expected === "ok" || expected.includes("Validator error")))
      expect(acceptsDocument(documentType, { ...doc })).toBe(expected === "ok");
    if (expected === "ok") accepted++;
    else rejected++;
  }
  expect(accepted).toBeGreaterThan(50);
  expect(rejected).toBeGreaterThan(50);
});
