import { encodeBase64 } from "../../convex/lib/secretbox";
import type { Id } from "../../convex/_generated/dataModel";
import type { T } from "../harness";
import { TEST_ENV } from "../env";

export function randomKey(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
}

export function setKeys(current: string | undefined, previous?: string) {
  if (current === undefined) delete process.env.SKILL_SECRET_ENCRYPTION_KEY;
  else process.env.SKILL_SECRET_ENCRYPTION_KEY = current;
  if (previous === undefined) delete process.env.SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS;
  else process.env.SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS = previous;
}

export function resetKeys() {
  setKeys(TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY, undefined);
}

export async function makeSkill(t: T, workspaceId: Id<"workspaces">, secretNames: string[], name = "weather") {
  return await t.run(async (ctx) =>
    ctx.db.insert("skillRegistry", {
      workspaceId,
      name: `${name}-${Math.random().toString(36).slice(2, 8)}`,
      description: "test skill",
      type: "webhook",
      status: "approved",
      inputSchema: { type: "object" },
      config: { urlTemplate: "https://api.example.com/{city}", method: "GET" },
      configHash: "h",
      allowedDomains: ["api.example.com"],
      secretNames,
      timeoutMs: 5000,
      maxOutputBytes: 10000,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    }),
  );
}

export async function makeChannel(t: T, workspaceId: Id<"workspaces">) {
  return await t.run(async (ctx) =>
    ctx.db.insert("channelConfig", {
      workspaceId,
      platform: "telegram",
      name: "tg",
      enabled: true,
      settings: {},
      createdAt: Date.now(),
      updatedAt: Date.now(),
    }),
  );
}

export async function makeServer(t: T, workspaceId: Id<"workspaces">) {
  return await t.run(async (ctx) =>
    ctx.db.insert("mcpServers", {
      workspaceId,
      name: "srv",
      url: "https://mcp.example.com/mcp",
      status: "approved",
      enabled: true,
      timeoutMs: 5000,
      maxOutputBytes: 10000,
      healthStatus: "unknown",
      consecutiveFailures: 0,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    }),
  );
}

export type SecretTableName = "skillSecrets" | "channelSecrets" | "mcpServerSecrets";

export async function allSecretRows(t: T) {
  return await t.run(async (ctx) => {
    const out: any[] = [];
    for (const table of ["skillSecrets", "channelSecrets", "mcpServerSecrets"] as const) {
      for (const row of await ctx.db.query(table).collect()) out.push({ table, ...row });
    }
    return out;
  });
}

export async function securityEvents(t: T, code?: string) {
  const rows = await t.run(async (ctx) => ctx.db.query("securityEvents").collect());
  return code ? rows.filter((r) => r.code === code) : rows;
}
