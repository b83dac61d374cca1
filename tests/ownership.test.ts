// @vitest-environment node
/**
 * Domain ownership: each folder of convex/ declares its tables (`<folder>/*tables.ts`) and is the
 * only one that names them in `db.query`, `db.insert` or `db.normalizeId`; other folders call the
 * owner's helpers. The exceptions are listed below, each with its reason, and an exception that is
 * no longer used fails too, so the list only shrinks. (Reads by id — `db.get/patch` of an
 * `Id<"table">` the owner handed out — are typed by the id and not scanned here.)
 */
import { describe, expect, test } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const convexDir = fileURLToPath(new URL("../convex/", import.meta.url));

function sources(dir = convexDir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "_generated" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sources(full, out);
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}
const files = sources().map((full) => ({
  rel: relative(convexDir, full).split("\\").join("/"),
  text: readFileSync(full, "utf8"),
}));
const folderOf = (rel: string) => (rel.includes("/") ? rel.split("/")[0] : "(root)");
/** Comments out of the way so prose is not an access. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'])\/\/.*$/gm, "$1");

/** table → the folder that declares it */
const owner = new Map<string, string>();
const declaredTwice: string[] = [];
for (const f of files.filter((x) => /(^|\/)\w*[tT]ables\.ts$/.test(x.rel))) {
  for (const m of code(f.text).matchAll(/^\s{2}(\w+): defineTable\(/gm)) {
    if (owner.has(m[1])) declaredTwice.push(m[1]);
    owner.set(m[1], folderOf(f.rel));
  }
}

/**
 * "<folder> → <table>": why that folder names a table another folder owns. Grouped by reason.
 */
const REASON = {
  identity: "access/ resolves the caller: it reads people, sessions, memberships and workspaces by design",
  people:
    "owners/ manages people and their memberships (the person/membership split); memberships are declared with the workspace they grant",
  roleChecks: "a role check on a membership (runner pairing, upstream OAuth connect, member-denial events)",
  signInEvents: "security/edge.ts records sign-in and member denials against the person's workspaces",
  logReadSide:
    "logs/ is the read side of the log tables: browse, explore, export, dashboard and the summary rollup; the writers stay the owners (checker, security events, audit, activity)",
  attribution: "logs/explore.ts names who a log row is about (session, channel user, thread) for attribution",
  retention:
    "retention and erasure walk every table that holds personal data, by design one place (privacy/, logs/retention.ts)",
  checker:
    "the checker reads the target it gates (skill row, MCP tool row) in its own transaction; a helper call would still be the same read",
  agencyTargets: "agency/ grants and the approval board name the tools and senders they govern",
  agentContext: "the agent run loads the conversation and the tools offered to it in one query",
  checklist: "the first-run checklist counts what exists in each domain (one indexed read each)",
  jit: "just-in-time sign-up creates the person with the workspace (Clerk orgs)",
  mcpSkills: "the /mcp server lists and calls the workspace's skills as MCP tools",
  pairing: "channels/manage.ts shows a channel's open pairing codes",
  voiceThreads: "a voice conversation appends to the chat thread it belongs to",
  testPanel: "the skill test panel and image uploads show the invocation log row they produced",
} as const;

const ALLOWED: Record<string, keyof typeof REASON> = {
  "access → chatSessions": "identity",
  "access → ownerSessions": "identity",
  "access → owners": "identity",
  "access → memberships": "identity",
  "access → workspaces": "identity",
  "owners → memberships": "people",
  "owners → workspaces": "people",
  "workspaces → owners": "jit",
  "runners → memberships": "roleChecks",
  "mcp → memberships": "roleChecks",
  "security → memberships": "signInEvents",
  "security → owners": "signInEvents",
  "security → workspaces": "signInEvents",
  "security → skillRegistry": "checker",
  "security → mcpTools": "checker",
  "logs → activityLog": "logReadSide",
  "logs → auditLog": "logReadSide",
  "logs → securityEvents": "logReadSide",
  "logs → securityEventSummary": "logReadSide",
  "logs → rateLimitHitSummary": "logReadSide",
  "logs → invocationLog": "logReadSide",
  "logs → invocationSummary": "logReadSide",
  "logs → invocationRollup": "logReadSide",
  "logs → mcpServers": "logReadSide",
  "logs → channelUsers": "attribution",
  "logs → chatSessions": "attribution",
  "logs → threads": "attribution",
  "logs → webhookDeliveries": "retention",
  "privacy → pairingCodes": "retention",
  "privacy → toolApprovals": "retention",
  "privacy → channelOutbox": "retention",
  "privacy → channelUsers": "retention",
  "privacy → webhookDeliveries": "retention",
  "privacy → chatSessions": "retention",
  "privacy → messages": "retention",
  "privacy → threads": "retention",
  "privacy → invocationLog": "retention",
  "privacy → voiceSessions": "retention",
  "agency → channelConfig": "agencyTargets",
  "agency → channelUsers": "agencyTargets",
  "agency → threads": "agencyTargets",
  "agency → mcpServers": "agencyTargets",
  "agency → mcpTools": "agencyTargets",
  "agency → skillRegistry": "agencyTargets",
  "agent → messages": "agentContext",
  "agent → mcpTools": "agentContext",
  "workspaces → toolGrants": "checklist",
  "workspaces → modelProviders": "checklist",
  "workspaces → channelConfig": "checklist",
  "workspaces → mcpClientTokens": "checklist",
  "workspaces → skillRegistry": "checklist",
  "mcp → skillRegistry": "mcpSkills",
  "channels → pairingCodes": "pairing",
  "voice → threads": "voiceThreads",
  "skills → invocationLog": "testPanel",
};

type Access = { file: string; op: string; table: string; key: string };
const accesses: Access[] = [];
for (const f of files) {
  const folder = folderOf(f.rel);
  for (const m of code(f.text).matchAll(/\.(query|insert|normalizeId)\(\s*["'](\w+)["']/g)) {
    const table = m[2];
    const home = owner.get(table);
    if (home === undefined || home === folder) continue;
    accesses.push({ file: f.rel, op: m[1], table, key: `${folder} → ${table}` });
  }
}

describe("domain ownership of tables", () => {
  test("the scan sees the schema (not vacuous)", () => {
    expect(owner.size).toBeGreaterThan(40);
    expect(owner.get("skillRegistry")).toBe("skills");
    expect(owner.get("notifications")).toBe("notifications");
    expect(owner.get("voiceSessions")).toBe("voice");
    expect(declaredTwice).toEqual([]);
  });

  test("every table is declared in exactly one folder and that folder is in the schema", () => {
    const schema = readFileSync(join(convexDir, "schema.ts"), "utf8");
    for (const folder of new Set(owner.values())) expect(schema, folder).toMatch(new RegExp(`from "\\./${folder}/`));
  });

  test("a table is named only by its owner folder, or by an exception with a reason", () => {
    const stray = accesses
      .filter((a) => !(a.key in ALLOWED))
      .map((a) => `${a.file}: ${a.op}("${a.table}") — owned by ${owner.get(a.table)}/`);
    expect(stray).toEqual([]);
  });

  test("no exception is stale", () => {
    const used = new Set(accesses.map((a) => a.key));
    expect(Object.keys(ALLOWED).filter((k) => !used.has(k))).toEqual([]);
    for (const [k, r] of Object.entries(ALLOWED)) expect(REASON[r], k).toBeTruthy();
  });

  test("the only activityLog and notifications writers are their helpers", () => {
    const writers = (table: string) =>
      files.filter((f) => new RegExp(`\\.insert\\(\\s*["']${table}["']`).test(code(f.text))).map((f) => f.rel);
    expect(writers("activityLog")).toEqual(["agent/activity.ts"]);
    expect(writers("notifications")).toEqual(["notifications/notify.ts"]);
    // The checker writes the log; the upgrade moves the legacy rows into it.
    expect(writers("invocationLog")).toEqual(["security/checkerLog.ts", "security/invocationLogMigration.ts"]);
  });

  test("the legacy invocation tables are the security folder's and only their migration names them", () => {
    const legacy = ["skillInvocationLog", "skillInvocationSummary", "skillInvocationRollup"];
    for (const table of legacy) expect(owner.get(table), table).toBe("security");
    const namers = files
      .filter((f) =>
        legacy.some((t) => new RegExp(`\\.(query|insert|normalizeId)\\(\\s*["']${t}["']`).test(code(f.text))),
      )
      .map((f) => f.rel);
    expect(namers).toEqual(["security/invocationLogMigration.ts"]);
    const inserts = files.filter((f) =>
      legacy.some((t) => new RegExp(`\\.insert\\(\\s*["']${t}["']`).test(code(f.text))),
    );
    expect(inserts.map((f) => f.rel)).toEqual([]);
  });
});

describe("function references", () => {
  test("convex/ calls functions through internal.* / api.*, never by a string path", () => {
    const byName = files
      .filter((f) => /makeFunctionReference|\banyApi\b|run(Query|Mutation|Action)\(\s*["']/.test(code(f.text)))
      .map((f) => f.rel);
    expect(byName).toEqual([]);
  });
});

describe("function contracts", () => {
  test("every registered function declares `returns:`", () => {
    const missing: string[] = [];
    for (const f of files) {
      const text = code(f.text);
      for (const m of text.matchAll(/export const (\w+) = (\w+)\(\{/g)) {
        if (!/(Query|Mutation|Action|query|mutation|action)$/.test(m[2]) || m[2] === "httpAction") continue;
        const end = text.indexOf("\n});", m.index);
        if (!/\n\s{2}returns:/.test(text.slice(m.index, end))) missing.push(`${f.rel}:${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
