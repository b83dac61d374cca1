import { expect, test } from "vitest";
import { v } from "convex/values";
import { tooManyIds } from "./idCap";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `${i}skills`);

test("array-of-ids arguments: any depth (object, union, record, optional, nested array)", () => {
  expect(tooManyIds({ a: v.array(v.id("skills")) }, { a: ids(51) })).toBe(true);
  expect(tooManyIds({ a: v.array(v.id("skills")) }, { a: ids(50) })).toBe(false);
  expect(
    tooManyIds(
      { a: v.optional(v.object({ b: v.array(v.union(v.id("skills"), v.id("mcpServers"))) })) },
      { a: { b: ids(51) } },
    ),
  ).toBe(true);
  expect(tooManyIds({ a: v.union(v.null(), v.array(v.id("skills"))) }, { a: ids(51) })).toBe(true);
  expect(tooManyIds({ a: v.record(v.string(), v.array(v.id("skills"))) }, { a: { x: ids(51) } })).toBe(true);
  expect(tooManyIds({ a: v.array(v.array(v.id("skills"))) }, { a: [ids(2), ids(51)] })).toBe(true);
  expect(tooManyIds({ a: v.array(v.string()) }, { a: ids(500) })).toBe(false); // not ids
  expect(tooManyIds(undefined, { a: ids(500) })).toBe(false);
});
