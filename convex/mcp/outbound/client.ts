"use node";
/**
 * Talking to external MCP servers (Streamable HTTP, SDK Client) — Node actions, internal only.
 *
 * - `callTool` is reachable only from the security checker (security/checker:callMcpTool), after
 *   approval, status, tool pin, input schema and limits. It re-checks approval/enabled itself.
 * - `refreshTools` lists tools and stores them (approval, manual refresh, health cron).
 * Every request goes through the guarded fetch (guardedFetch.node.ts): the server's own host only,
 * addresses vetted at connect time, no redirects, byte caps while streaming, one deadline.
 * The only credential sent is the server's own stored auth header.
 */
import { v, ConvexError } from "convex/values";
import { internalAction, type ActionCtx } from "../../_generated/server";
import { internal } from "../../_generated/api";
import type { Id } from "../../_generated/dataModel";
import { redactValue, secretMatcher } from "../../lib/redact";
import { withMcpClient, type GuardOptions } from "./guardedFetch.node.js";
import { upstreamBearer } from "./upstreamOAuthLib.node.js";
import {
  MAX_TOOLS_PER_SERVER,
  TOOL_NAME,
  authHeaderSecrets,
  convexSafe,
  shapeToolResult,
  storedTool,
  AUTH_SECRET_NAME,
  type StoredTool,
} from "../protocol";

/** Cap for non-call responses (initialize, tools/list pages, ping). */
const LIST_MAX_BYTES = 1024 * 1024;
const MIN_TIMEOUT_MS = 100;
const MAX_TIMEOUT_MS = 120_000;
const LIST_TIMEOUT_MS = 20_000;

type ServerInfo = {
  workspaceId: Id<"workspaces">;
  name: string;
  url: string;
  status: string;
  enabled: boolean;
  authHeaderName?: string;
  timeoutMs: number;
  maxOutputBytes: number;
};

type Auth = { ok: true; header?: { name: string; value: string }; oauthVersion?: number } | { ok: false; code: string };

/**
 * The server's credential: for an OAuth server (upstreamOAuth.ts) its access token as a Bearer
 * (refreshed first when expired; `rejectedVersion` after a 401), else its stored auth header.
 */
async function authHeader(
  ctx: ActionCtx,
  serverId: Id<"mcpServers">,
  server: ServerInfo,
  rejectedVersion?: number,
): Promise<Auth> {
  const bearer = await upstreamBearer(ctx, serverId, { rejectedVersion });
  if (bearer) {
    if (!bearer.ok) return bearer;
    return {
      ok: true,
      header: { name: "authorization", value: `Bearer ${bearer.token}` },
      oauthVersion: bearer.version,
    };
  }
  if (!server.authHeaderName) return { ok: true };
  try {
    const secrets = await ctx.runAction(internal.secrets.access.readMcpServerSecrets, {
      serverId,
      names: [AUTH_SECRET_NAME],
    });
    const value = secrets[AUTH_SECRET_NAME];
    if (typeof value !== "string" || value.length === 0) return { ok: false, code: "SECRET_NOT_SET" };
    return { ok: true, header: { name: server.authHeaderName, value } };
  } catch (e) {
    const code = e instanceof ConvexError ? (e.data as { code?: unknown })?.code : undefined;
    return {
      ok: false,
      code: code === "SECRET_DECRYPT_FAILED" || code === "SECRET_KEY_UNAVAILABLE" ? code : "SECRET_ACCESS_DENIED",
    };
  }
}

const UNAUTHORIZED = "UPSTREAM_UNAUTHORIZED";

function guardOptions(
  url: string,
  auth: Auth & { ok: true },
): Pick<GuardOptions, "url" | "authHeader" | "unauthorizedCode"> {
  return {
    url,
    authHeader: auth.header,
    ...(auth.oauthVersion !== undefined ? { unauthorizedCode: UNAUTHORIZED } : {}),
  };
}

function clampTimeout(ms: number): number {
  return Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_MS, Number.isFinite(ms) ? ms : MIN_TIMEOUT_MS));
}

const callResult = v.union(
  v.object({ ok: v.literal(true), output: v.any(), bytes: v.number() }),
  v.object({ ok: v.literal(false), code: v.string() }),
);
type CallResult = { ok: true; output: unknown; bytes: number } | { ok: false; code: string };

export const callTool = internalAction({
  args: {
    serverId: v.id("mcpServers"),
    toolName: v.string(),
    input: v.any(),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
  },
  returns: callResult,
  handler: async (ctx, a): Promise<CallResult> => {
    const deadline = Date.now() + clampTimeout(a.timeoutMs);
    const server = await ctx.runQuery(internal.mcp.outbound.servers.connectionInfo, { serverId: a.serverId });
    if (!server || (server.status !== "approved" && server.status !== "disabled"))
      return { ok: false, code: "MCP_SERVER_NOT_APPROVED" };
    if (server.status !== "approved" || !server.enabled) return { ok: false, code: "MCP_SERVER_DISABLED" };
    if (!TOOL_NAME.test(a.toolName)) return { ok: false, code: "MCP_TOOL_NOT_APPROVED" };
    const maxBytes = Math.max(1, Math.min(a.maxOutputBytes, server.maxOutputBytes));
    let auth = await authHeader(ctx, a.serverId, server);
    if (!auth.ok) return auth;

    const args =
      a.input !== null && typeof a.input === "object" && !Array.isArray(a.input)
        ? (a.input as Record<string, unknown>)
        : undefined;
    const attempt = (h: Auth & { ok: true }) =>
      withMcpClient(
        {
          ...guardOptions(server.url, h),
          deadline,
          callMaxBytes: maxBytes,
          otherMaxBytes: LIST_MAX_BYTES,
          pool: a.serverId,
        },
        (client, guard, remaining) =>
          client.callTool({ name: a.toolName, arguments: args }, undefined, {
            timeout: remaining(),
            signal: guard.signal,
          }),
      );
    let r = await attempt(auth);
    // An OAuth server refused the token (a 401 is answered before any tool runs): refresh, retry once.
    if (!r.ok && r.code === UNAUTHORIZED && auth.oauthVersion !== undefined) {
      auth = await authHeader(ctx, a.serverId, server, auth.oauthVersion);
      if (!auth.ok) return auth;
      r = await attempt(auth);
    }
    if (!r.ok) return r;
    const shaped = shapeToolResult(r.value as { content?: unknown; structuredContent?: unknown; isError?: unknown });
    // The server's own credential never comes back in a result, even if the server echoes it.
    const clean = redactValue(shaped, auth.header ? authHeaderSecrets(auth.header.value) : []);
    return { ok: true, output: convexSafe(clean), bytes: r.guard.callBytes() };
  },
});

type Listed = StoredTool;

/** Lists every tool (paged); each is redacted, capped and hashed as stored (protocol.ts:storedTool). */
async function listTools(
  ctx: ActionCtx,
  serverId: Id<"mcpServers">,
  server: ServerInfo,
): Promise<
  { ok: true; tools: Listed[]; skipped: number; latencyMs: number } | { ok: false; code: string; latencyMs: number }
> {
  const started = Date.now();
  let auth = await authHeader(ctx, serverId, server);
  if (!auth.ok) return { ...auth, latencyMs: 0 };
  const run = (h: Auth & { ok: true }) =>
    withMcpClient(
      {
        ...guardOptions(server.url, h),
        deadline: started + LIST_TIMEOUT_MS,
        callMaxBytes: LIST_MAX_BYTES,
        otherMaxBytes: LIST_MAX_BYTES,
        pool: serverId,
      },
      async (client, guard, remaining) => {
        const all: Array<{ name?: unknown; description?: unknown; inputSchema?: unknown }> = [];
        let cursor: string | undefined;
        for (let page = 0; page < 10 && all.length <= MAX_TOOLS_PER_SERVER; page++) {
          const res = await client.listTools(cursor ? { cursor } : undefined, {
            timeout: remaining(),
            signal: guard.signal,
          });
          all.push(...res.tools);
          cursor = res.nextCursor;
          if (!cursor) break;
        }
        return all;
      },
    );
  let r = await run(auth);
  if (!r.ok && r.code === UNAUTHORIZED && auth.oauthVersion !== undefined) {
    auth = await authHeader(ctx, serverId, server, auth.oauthVersion);
    if (!auth.ok) return { ...auth, latencyMs: Date.now() - started };
    r = await run(auth);
  }
  const latencyMs = Date.now() - started;
  if (!r.ok) return { ok: false, code: r.code, latencyMs };
  const tools: Listed[] = [];
  let skipped = 0;
  // The server's own credential is kept out of descriptions and schemas, as out of results.
  const secrets = secretMatcher(auth.header ? authHeaderSecrets(auth.header.value) : []);
  for (const t of r.value.slice(0, MAX_TOOLS_PER_SERVER)) {
    const tool = await storedTool(t, secrets);
    if (tool) tools.push(tool);
    else skipped++;
  }
  skipped += Math.max(0, r.value.length - MAX_TOOLS_PER_SERVER);
  return { ok: true, tools, skipped, latencyMs };
}

const refreshResult = v.object({
  ok: v.boolean(),
  code: v.optional(v.string()),
  latencyMs: v.number(),
  approved: v.optional(v.number()),
  pending: v.optional(v.number()),
  blocked: v.optional(v.number()),
  removed: v.optional(v.number()),
});
type RefreshResult = {
  ok: boolean;
  code?: string;
  latencyMs: number;
  approved?: number;
  pending?: number;
  blocked?: number;
  removed?: number;
};

/** Lists and stores the tools of an approved (or disabled) server. Also the health probe. */
export const refreshTools = internalAction({
  args: { serverId: v.id("mcpServers") },
  returns: refreshResult,
  handler: async (ctx, { serverId }): Promise<RefreshResult> => {
    const server = await ctx.runQuery(internal.mcp.outbound.servers.connectionInfo, { serverId });
    // Pending and rejected servers are never contacted.
    if (!server || (server.status !== "approved" && server.status !== "disabled")) {
      return { ok: false, code: "MCP_SERVER_NOT_APPROVED", latencyMs: 0 };
    }
    const listed = await listTools(ctx, serverId, server);
    if (!listed.ok) {
      await ctx.runMutation(internal.mcp.outbound.servers.recordListFailure, { serverId, code: listed.code });
      return { ok: false, code: listed.code, latencyMs: listed.latencyMs };
    }
    const stored = await ctx.runMutation(internal.mcp.outbound.servers.storeTools, {
      serverId,
      url: server.url,
      tools: listed.tools,
      skipped: listed.skipped,
    });
    if (!stored.stored) return { ok: false, code: "MCP_SERVER_NOT_APPROVED", latencyMs: listed.latencyMs };
    return {
      ok: true,
      latencyMs: listed.latencyMs,
      approved: stored.approved,
      pending: stored.pending,
      blocked: stored.blocked,
      removed: stored.removed,
    };
  },
});
