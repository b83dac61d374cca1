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
    expect(rules).toContain("collect() on growing table skillInvocationLog: use take(n) or paginate");
    expect(rules).toContain("filter() on a query without withIndex");
    expect(rules.some((r) => r.startsWith("collect() without an index-bounded range"))).toBe(true);
    expect(rules).toContain("for await over a query without withIndex");
    expect(findings.filter((f) => f.text.includes("skillRegistry"))).toEqual([]);
  });

  test("convex/ has none", () => {
    const findings = checkTree(join(__dirname, "../../convex"));
    expect(findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([]);
  });
});
