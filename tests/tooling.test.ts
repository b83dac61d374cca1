// @vitest-environment node
import { describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(__dirname, "..");
const tsx = join(root, "node_modules/tsx/dist/cli.mjs");

describe("endpoint inventory audit", () => {
  test("the app has zero unclassified endpoints and the public set matches the README", () => {
    const r = spawnSync(process.execPath, [tsx, "scripts/audit-endpoints.ts", "--json"], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    const out = JSON.parse(r.stdout);
    expect(out.problems).toEqual([]);
    expect(r.status).toBe(0);
    expect(out.endpoints.filter((e: any) => e.access === "UNCLASSIFIED")).toEqual([]);
  }, 120_000);

  test("fails on an unclassified public function (fixture)", () => {
    const r = spawnSync(
      process.execPath,
      [
        tsx,
        "scripts/audit-endpoints.ts",
        "--dir",
        "tests/fixtures/audit/convex",
        "--readme",
        "tests/fixtures/audit/README.md",
      ],
      { cwd: root, encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("unclassified query: bad:leaky");
  }, 60_000);

  test("fails when an unauthenticated endpoint is missing from the README's list", () => {
    const dir = mkdtempSync(join(tmpdir(), "audit-"));
    writeFileSync(
      join(dir, "README.md"),
      "<!-- public-endpoints:start -->\n- `GET /health`\n<!-- public-endpoints:end -->\n",
    );
    const r = spawnSync(process.execPath, [tsx, "scripts/audit-endpoints.ts", "--readme", join(dir, "README.md")], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("not in README's public list: POST /auth/signin");
  }, 120_000);
});

describe("generated code", () => {
  test("convex/_generated is up to date with the modules (offline codegen reproduces it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "codegen-"));
    cpSync(join(root, "convex"), join(dir, "convex"), { recursive: true });
    cpSync(join(root, "package.json"), join(dir, "package.json"));
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    const r = spawnSync(process.execPath, [join(root, "scripts/codegen.mjs"), "--cwd", dir], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    for (const f of readdirSync(join(root, "convex/_generated"))) {
      expect(
        readFileSync(join(dir, "convex/_generated", f), "utf8"),
        `convex/_generated/${f} is stale: run node scripts/codegen.mjs`,
      ).toBe(readFileSync(join(root, "convex/_generated", f), "utf8"));
    }
    expect(readdirSync(join(dir, "convex/_generated")).sort()).toEqual(
      readdirSync(join(root, "convex/_generated")).sort(),
    );
  }, 120_000);
});
