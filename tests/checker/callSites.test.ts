// @vitest-environment node
/**
 * Enumerates call sites in convex/: skill execution, MCP tool calls and webhook admission are
 * reachable only through the checker's entry points, and nothing can switch the checker off.
 * Written against what exists, so it holds while other domains are still being built.
 */
import { describe, expect, test } from "vitest";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const convexDir = join(root, "convex");

type Src = { rel: string; text: string };
function sources(dir = convexDir, out: Src[] = []): Src[] {
  for (const name of readdirSync(dir)) {
    if (name === "_generated" || name === "node_modules" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sources(full, out);
    else if (/\.(ts|tsx|js)$/.test(name) && !/\.test\.(ts|tsx|js)$/.test(name)) {
      out.push({ rel: relative(root, full).split("\\").join("/"), text: readFileSync(full, "utf8") });
    }
  }
  return out;
}
const files = sources();
const byRel = new Map(files.map((f) => [f.rel, f]));
/** Comments out of the way so a mention in prose is not a reference. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'])\/\/.*$/gm, "$1");
const refs = (re: RegExp, within = "convex/") =>
  files
    .filter((f) => f.rel.startsWith(within) && re.test(code(f.text)))
    .map((f) => f.rel)
    .sort();

/** Relative imports of a file, resolved to repo paths. */
function importsOf(f: Src): string[] {
  const out: string[] = [];
  for (const m of f.text.matchAll(/from\s+["'](\.{1,2}\/[^"']+)["']/g)) {
    const base = resolve(root, dirname(f.rel), m[1]);
    for (const cand of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
      const rel = relative(root, cand).split("\\").join("/");
      if (byRel.has(rel)) {
        out.push(rel);
        break;
      }
    }
  }
  return out;
}
function reachable(start: string): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) {
    for (const next of importsOf(byRel.get(queue.shift()!)!)) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** The checker's modules: entry registrations, shared pipeline, one module per entry point. */
const isChecker = (rel: string) => /^convex\/security\/checker\w*\.ts$/.test(rel);

describe("skill execution is reachable only through the checker", () => {
  test("the executors are internal actions and only the checker references them", () => {
    for (const rel of ["convex/skills/execute.ts", "convex/skills/executeNode.ts"]) {
      const text = byRel.get(rel)!.text;
      expect(text).toMatch(/export const run = internalAction\(/);
      expect(text).not.toMatch(/access\/builders|\b(public|owner|admin|viewer)(Query|Mutation|Action)\b/);
      expect([...text.matchAll(/^export const (\w+)/gm)].map((m) => m[1])).toEqual(["run"]);
    }
    expect(refs(/skills[./](execute|executeNode)[.:]run\b/)).toEqual(["convex/security/checkerSkill.ts"]);
  });

  test("templates, code-skill handlers and outbound HTTP run only inside the executors", () => {
    expect(refs(/\.(runLocal|parseBody)\(/)).toEqual(["convex/skills/execute.ts", "convex/skills/executeNode.ts"]);
    expect(refs(/\.handler\(/, "convex/skills/")).toEqual(["convex/skills/executeNode.ts"]);
    expect(refs(/safeFetch/, "convex/skills/")).toEqual(["convex/skills/executeNode.ts"]);
    // no bare global fetch anywhere in the skills domain
    expect(
      files
        .filter((f) => f.rel.startsWith("convex/skills/") && /(^|[^.\w])fetch\(/.test(code(f.text)))
        .map((f) => f.rel),
    ).toEqual([]);
    expect(refs(/CODE_SKILLS/)).toEqual(
      [
        "convex/security/checkerSkill.ts",
        "convex/skills/code/index.ts",
        "convex/skills/codeSync.ts",
        "convex/skills/executeNode.ts",
        "convex/skills/registry.ts",
      ].sort(),
    );
  });

  test("outside the checker, skills are invoked by name through invokeSkill", () => {
    for (const rel of refs(/invokeSkill/)) {
      if (isChecker(rel)) continue;
      expect(byRel.get(rel)!.text, rel).toMatch(/security[./]checker[.:]invokeSkill|security\.checker\.invokeSkill/);
    }
  });
});

describe("MCP tool calls go through the checker", () => {
  test("the MCP client's callTool is internal and referenced only by the checker", () => {
    const callers = refs(/mcp[./]outbound[./]client[.:]callTool\b/).filter(
      (r) => r !== "convex/mcp/outbound/client.ts",
    );
    expect(callers).toEqual(["convex/security/checkerMcp.ts"]);
    const client = byRel.get("convex/mcp/outbound/client.ts");
    if (client) {
      expect(client.text).toMatch(/export const callTool = internalAction\(/);
      expect(client.text).toMatch(/^"use node";/);
    }
  });

  test("callers outside the checker use callMcpTool", () => {
    for (const rel of refs(/callMcpTool/)) {
      if (isChecker(rel)) continue;
      expect(byRel.get(rel)!.text, rel).toMatch(/security[./]checker[.:]callMcpTool|security\.checker\.callMcpTool/);
    }
  });
});

describe("inbound webhooks go through the checker", () => {
  test("every channel-webhook route reaches admitWebhook", () => {
    const routes = refs(/endpoint\(\s*["']channel-webhook["']/);
    for (const route of routes) {
      const graph = [...reachable(route)];
      // the checker's webhook entry is a plain function, called inside the admitting mutation
      const defines = graph.filter((r) => /from\s+["'][./]*security\/checkerWebhook["']/.test(byRel.get(r)!.text));
      const calls = graph.filter((r) => /await admitWebhook\(\s*ctx\b/.test(code(byRel.get(r)!.text)));
      expect(defines.length, `${route} reaches no admitWebhook reference`).toBeGreaterThan(0);
      expect(calls.length, `${route} never runs admitWebhook`).toBeGreaterThan(0);
    }
    // and admission is its only exported entry, with no runMutation hop in between
    expect(refs(/export async function admitWebhook\(/)).toEqual(["convex/security/checkerWebhook.ts"]);
    if (routes.length === 0) expect(existsSync(join(convexDir, "channels", "routes.ts"))).toBe(false);
  });
});

describe("the checker cannot be disabled", () => {
  test("its entry points are internal functions; nothing public lives in convex/security/checker*", async () => {
    const mod: Record<string, any> = await import("../../convex/security/checker");
    for (const name of ["invokeSkill", "callMcpTool", "precheckSkill", "precheckMcp", "logResult"]) {
      expect(mod[name]?.isInternal, name).toBe(true);
      expect(mod[name]?.isPublic, name).toBeFalsy();
    }
    for (const [name, value] of Object.entries(mod)) if (value?.isPublic) throw new Error(`public export ${name}`);
  });

  test("no file reads a flag, env var or config row to skip it", () => {
    for (const rel of refs(/./, "convex/security/checker")) {
      const text = code(byRel.get(rel)!.text);
      expect(text, rel).not.toMatch(/process\.env|getenv|skip|bypass|CHECKER_|checkerEnabled/i);
    }
    // No table has a switch for it.
    const tables = files
      .filter((f) => f.rel.endsWith("/tables.ts"))
      .map((f) => f.text)
      .join("\n");
    expect(tables).not.toMatch(/checker(Enabled|Disabled|Off)|disableChecker|skipChecks|securityChecks/i);
  });
});

describe("code-defined skills", () => {
  const codeDir = join(convexDir, "skills", "code");
  const modules = readdirSync(codeDir).filter(
    (n) => n.endsWith(".ts") && !/\.test\.ts$/.test(n) && n !== "index.ts" && n !== "types.ts",
  );

  test("modules import only ./types and touch nothing but their tools", () => {
    expect(modules.length).toBeGreaterThan(0);
    for (const name of modules) {
      const text = readFileSync(join(codeDir, name), "utf8");
      const imports = [...text.matchAll(/^\s*import\s+(type\s+)?[^;]*?from\s+["']([^"']+)["']/gm)].map((m) => [
        m[1] ? "type" : "value",
        m[2],
      ]);
      expect(imports, name).toEqual(imports.filter(([kind, from]) => kind === "type" && from === "./types"));
      const body = code(text);
      expect(body, name).not.toMatch(
        /(^|[^.\w])fetch\(|process\.|globalThis|require\(|import\(|\beval\(|Function\(|node:|XMLHttpRequest|WebSocket/,
      );
      expect(body, name).toMatch(/export const skillMeta\b/);
      expect(body, name).toMatch(/export (async )?function handler\b|export const handler\b/);
    }
  });

  test("every module is registered and declares permissions and rate limits", async () => {
    const { CODE_SKILLS } = await import("../../convex/skills/code");
    const { rowFromModule } = await import("../../convex/skills/codeSync");
    expect(Object.keys(CODE_SKILLS).length).toBe(modules.length);
    for (const [name, mod] of Object.entries(CODE_SKILLS)) {
      expect(mod.skillMeta.permissions, name).toBeDefined();
      expect(
        Array.isArray(mod.skillMeta.permissions.domains) && Array.isArray(mod.skillMeta.permissions.secrets),
        name,
      ).toBe(true);
      expect(mod.skillMeta.rateLimitPerMinute, name).toBeGreaterThan(0);
      expect(await rowFromModule(name, mod), name).not.toBeNull();
    }
  });
});
