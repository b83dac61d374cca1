import { expect, test } from "vitest";
import { isValidPointer, resolvePointer } from "./jsonPointer";

test("RFC 6901 lookups", () => {
  const doc = { a: { "b/c": [10, { "~d": 2 }] }, "": 1 };
  expect(resolvePointer(doc, "")).toBe(doc);
  expect(resolvePointer(doc, "/a/b~1c/0")).toBe(10);
  expect(resolvePointer(doc, "/a/b~1c/1/~0d")).toBe(2);
  expect(resolvePointer(doc, "/")).toBe(1);
  expect(resolvePointer(doc, "/a/missing")).toBeUndefined();
  expect(resolvePointer(doc, "/a/b~1c/01")).toBeUndefined();
});

test("no prototype walk, invalid pointers refused", () => {
  expect(resolvePointer({}, "/constructor")).toBeUndefined();
  expect(resolvePointer({}, "/__proto__")).toBeUndefined();
  expect(isValidPointer("a/b")).toBe(false);
  expect(isValidPointer("/a~2")).toBe(false);
  expect(isValidPointer("/a~")).toBe(false);
});
