/** Shared setup for the /mcp tests: a workspace with skills, minted client tokens, SDK clients over t.fetch. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { member, type T } from "../harness";

export const MCP_URL = "https://warden.test/mcp";

export type Owner = Awaited<ReturnType<typeof member>>;

/** An approved calculator skill ("calc"), an approved clock ("clock") and a pending one ("draft"). */
export async function workspaceWithSkills(t: T, workspace = "ws-a") {
  const owner = await member(t, { role: "owner", workspace });
  const mk = async (name: string, template: string, approve: boolean) => {
    const id: Id<"skillRegistry"> = await owner.as.mutation(api.skills.registry.create, {
      name,
      description: `${name} skill`,
      type: "template",
      config: { template },
      allowedDomains: [],
    } as any);
    if (approve) await owner.as.mutation(api.skills.registry.approve, { skillId: id });
    return id;
  };
  await mk("calc", "calculator", true);
  await mk("clock", "time_in_zone", true);
  await mk("draft", "calculator", false);
  return owner;
}

export async function mint(owner: Owner, toolScopes: string[], opts: { name?: string; expiresInDays?: number } = {}) {
  return await owner.as.mutation(api.mcp.inbound.tokens.mint, {
    name: opts.name ?? "test client",
    toolScopes,
    expiresInDays: opts.expiresInDays ?? 30,
  });
}

/** fetch for the SDK client that routes to convex-test's HTTP router. */
export function tFetch(t: Pick<T, "fetch">, extraHeaders: Record<string, string> = {}) {
  return async (url: string | URL, init?: RequestInit) => {
    const u = new URL(url);
    const headers = new Headers(init?.headers);
    for (const [k, v] of Object.entries(extraHeaders)) headers.set(k, v);
    return await t.fetch(u.pathname + u.search, { ...init, headers });
  };
}

export async function connect(t: Pick<T, "fetch">, token: string | null, extraHeaders: Record<string, string> = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    fetch: tFetch(t, extraHeaders),
    requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
  });
  const client = new Client({ name: "test-client", version: "1.0.0" });
  client.onerror = () => undefined;
  await client.connect(transport);
  return { client, transport };
}

/** A raw JSON-RPC POST to /mcp. */
export async function post(t: Pick<T, "fetch">, body: unknown, headers: Record<string, string> = {}) {
  return await t.fetch("/mcp", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const initialize = (id = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

export async function table(t: T, name: string) {
  return await t.run(async (ctx) => await ctx.db.query(name as any).take(2000));
}
