// @vitest-environment node
/**
 * `v.any()` only where the value is genuinely arbitrary JSON (issue 23 item 5). Convex has no
 * recursive validator, so JSON Schemas, tool input/output passed through and audit snapshots of
 * arbitrary objects stay `v.any()`; everything with a known shape gets a validator from its
 * domain's tables.ts. Every remaining `v.any()` in convex/ is listed below with what it holds
 * and why it is arbitrary; an unlisted one fails, and so does an entry that no longer matches
 * (the list only shrinks).
 */
import { describe, expect, test } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const convexDir = fileURLToPath(new URL("../../convex/", import.meta.url));

function sources(dir = convexDir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "_generated" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sources(full, out);
    else if (/\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}
/** Comments out of the way so prose is not a use. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'\\])\/\/.*$/gm, "$1");

/** Every `v.any()` as "<file> <field>", the field being the nearest `name:` before it on its line. */
function anyUses(files: { rel: string; text: string }[]): string[] {
  const uses: string[] = [];
  for (const f of files) {
    for (const line of code(f.text).split("\n")) {
      for (const m of line.matchAll(/\bv\.any\(\)/g)) {
        const before = line.slice(0, m.index);
        const field = [...before.matchAll(/(\w+)\??\s*:/g)].pop()?.[1] ?? "(expression)";
        uses.push(`${f.rel} ${field}`);
      }
    }
  }
  return uses.sort();
}

const WHY = {
  jsonSchema:
    "a JSON Schema (of a skill's or MCP tool's input): any JSON document, recursive; checked by lib/jsonSchema, not by shape",
  toolInput:
    "a tool call's input as the model or MCP client sent it: any JSON, validated afterwards against the tool's own JSON Schema (INPUT_INVALID)",
  toolOutput: "a tool's output passed through (skill result or MCP tools/call result): any JSON, capped and redacted",
  auditSnapshot:
    "an audit entry's before/after: a snapshot of whatever object an admin action changed (skills, channels, limits, grants …), any JSON",
  zodRefusal:
    "public create/update argument with a known shape, kept loose on purpose: the domain's zod check refuses a bad value with CONFIG_INVALID / URL_TEMPLATE_INVALID and the offending field path (tests assert it; SyncBoard marks the field); a Convex validator would answer first with a generic ArgumentValidationError",
  oauthMetadata:
    "RFC 7591 client metadata: arbitrary JSON from the internet, checked by hand in the handler, which answers invalid_client_metadata / invalid_redirect_uri as the RFC requires",
} as const;

type Entry = { count: number; holds: string; why: keyof typeof WHY };

const ALLOWED: Record<string, Entry> = {
  "agent/context.ts inputSchema": {
    count: 2,
    holds: "input schema of each tool offered to the model",
    why: "jsonSchema",
  },
  "audit/tables.ts before": { count: 1, holds: "auditLog.before", why: "auditSnapshot" },
  "audit/tables.ts after": { count: 1, holds: "auditLog.after", why: "auditSnapshot" },
  "channels/manage.ts settings": {
    count: 2,
    holds: "create/update args; stored as channelSettingsValidator after the platform's zod schema",
    why: "zodRefusal",
  },
  "logs/browse.ts before": { count: 1, holds: "audit page entry: auditLog.before", why: "auditSnapshot" },
  "logs/browse.ts after": { count: 1, holds: "audit page entry: auditLog.after", why: "auditSnapshot" },
  "logs/explore.ts before": { count: 1, holds: "audit row in the explorer: auditLog.before", why: "auditSnapshot" },
  "logs/explore.ts after": { count: 1, holds: "audit row in the explorer: auditLog.after", why: "auditSnapshot" },
  "mcp/inbound/oauth.ts metadata": { count: 1, holds: "dynamic client registration body", why: "oauthMetadata" },
  "mcp/inbound/sessions.ts inputSchema": { count: 1, holds: "tools/list entry's inputSchema", why: "jsonSchema" },
  "mcp/outbound/client.ts input": { count: 1, holds: "tools/call arguments sent upstream", why: "toolInput" },
  "mcp/outbound/client.ts output": { count: 1, holds: "tools/call result from the upstream server", why: "toolOutput" },
  "mcp/outbound/servers.ts inputSchema": { count: 1, holds: "an upstream tool's input schema", why: "jsonSchema" },
  "mcp/tables.ts inputSchema": { count: 1, holds: "mcpTools.inputSchema", why: "jsonSchema" },
  "security/checkerMcp.ts input": { count: 2, holds: "MCP tool call input through the checker", why: "toolInput" },
  "security/checkerPipeline.ts output": { count: 1, holds: "the checked call's output", why: "toolOutput" },
  "security/checkerSkill.ts input": { count: 2, holds: "skill call input through the checker", why: "toolInput" },
  "skills/execute.ts input": { count: 1, holds: "template/image skill input", why: "toolInput" },
  "skills/executeNode.ts input": { count: 1, holds: "webhook/network-template/code skill input", why: "toolInput" },
  "skills/registry.ts config": {
    count: 2,
    holds: "create/update args; stored as skillConfigValidator after validateDraft",
    why: "zodRefusal",
  },
  "skills/registry.ts inputSchema": {
    count: 2,
    holds: "create/update args: the skill's input schema",
    why: "jsonSchema",
  },
  "skills/tables.ts inputSchema": { count: 1, holds: "skillRegistry.inputSchema", why: "jsonSchema" },
  "skills/test.ts input": { count: 1, holds: "the test panel's input for one skill run", why: "toolInput" },
};

const files = sources().map((full) => ({
  rel: relative(convexDir, full).split("\\").join("/"),
  text: readFileSync(full, "utf8"),
}));
const uses = anyUses(files);
const counts = new Map<string, number>();
for (const u of uses) counts.set(u, (counts.get(u) ?? 0) + 1);

describe("v.any() only where the shape is arbitrary", () => {
  test("the scan sees the tree (not vacuous)", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.rel.startsWith("_generated/"))).toBe(false);
    expect(uses.length).toBeGreaterThan(10);
    expect(
      anyUses([{ rel: "x.ts", text: "a: v.optional(v.any()), // b: v.any()\n/* c: v.any() */ d: v.array(v.any())" }]),
    ).toEqual(["x.ts a", "x.ts d"]);
  });

  test("every v.any() is in the allowlist, as many times as listed", () => {
    const unlisted = [...counts].filter(([k, n]) => n > (ALLOWED[k]?.count ?? 0)).map(([k, n]) => `${k} ×${n}`);
    expect(unlisted, "a v.any() with a known shape needs a validator from its domain's tables.ts").toEqual([]);
  });

  test("no stale allowlist entry", () => {
    const stale = Object.entries(ALLOWED)
      .filter(([k, e]) => (counts.get(k) ?? 0) < e.count)
      .map(([k, e]) => `${k} listed ×${e.count}, found ×${counts.get(k) ?? 0}`);
    expect(stale, "remove or lower the entry: the list only shrinks").toEqual([]);
  });

  test("every entry says what it holds and why", () => {
    for (const [k, e] of Object.entries(ALLOWED)) {
      expect(e.holds.length, k).toBeGreaterThan(5);
      expect(WHY[e.why], k).toBeTruthy();
    }
  });
});
