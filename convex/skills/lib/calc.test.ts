import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { evaluate } from "./calc";

describe("calculator", () => {
  test.each([
    ["1+2*3", 7],
    ["(1+2)*3", 9],
    ["2^3^2", 512],
    ["-2^2", -4],
    ["10 % 4", 2],
    ["sqrt(16) + abs(-3)", 7],
    ["max(1, 5, 3) - min(4, 2)", 3],
    ["round(pi*100)/100", 3.14],
    ["1.5e3 / 3", 500],
    ["--1", 1],
  ])("%s = %d", (expr, value) => {
    expect(evaluate(expr)).toEqual({ ok: true, value });
  });

  test.each([
    "",
    "1+",
    "(1",
    "1)",
    "foo(1)",
    "constructor",
    "x=1",
    "1/0",
    "sqrt(-1)",
    "alert(1)",
    "this",
    "[]",
    "1;2",
    "abs(1,2)",
    "2**3",
  ])("rejects %j", (expr) => {
    expect(evaluate(expr)).toEqual({ ok: false, code: "INPUT_INVALID" });
  });

  test("bounded length and nesting", () => {
    expect(evaluate("1+".repeat(300) + "1").ok).toBe(false);
    expect(evaluate("(".repeat(100) + "1" + ")".repeat(100)).ok).toBe(false);
    expect(evaluate("-".repeat(200) + "1").ok).toBe(false);
  });

  test("property: never throws, result is finite or INPUT_INVALID", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const r = evaluate(s);
        return r.ok ? Number.isFinite(r.value) : r.code === "INPUT_INVALID";
      }),
    );
  });
});
