// @vitest-environment node
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkSource, checkTree } from "../../scripts/check-reads";

describe("no unbounded reads", () => {
  test("the static check catches planted unbounded reads", () => {
    const file = join(__dirname, "../fixtures/scale/convex/planted.ts");
    const findings = checkSource(file, readFileSync(file, "utf8"));
    const rules = findings.map((f) => f.rule);
    expect(rules).toContain("collect() on growing table invocationLog: use take(n) or paginate");
    expect(rules).toContain("filter() on a query without withIndex");
    expect(rules.some((r) => r.startsWith("collect() without an index-bounded range"))).toBe(true);
    expect(rules).toContain("for await over a query without withIndex");
    expect(findings.filter((f) => f.text.includes("skillRegistry"))).toEqual([]);
  });

  test("a bounded query without an index is flagged too (seed 002: every query uses an index)", () => {
    const src = `
      export async function f(ctx: any) {
        await ctx.db.query("owners").take(1);
        await ctx.db.query("workspaces").order("desc").first();
        await ctx.db.query("workspaces").paginate({ numItems: 10, cursor: null });
        await ctx.db.query("owners").withIndex("by_creation_time").take(1);
        await ctx.db.query("owners").withIndex("by_ownerKey", (q: any) => q.eq("ownerKey", "x")).unique();
      }`;
    const findings = checkSource("convex/x/planted.ts", src).filter((f) => f.rule.includes("without an index"));
    expect(findings.map((f) => f.line)).toEqual([3, 4, 5]);
  });

  test("convex/ has none", () => {
    const findings = checkTree(join(__dirname, "../../convex"));
    expect(findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([]);
  });
});
