/**
 * Admission for Warden's /mcp endpoint, in one transaction per request: bearer token (hash
 * lookup, revoked, expired, audience), per-client rate limit, and session handling.
 *
 * Sessions: the SDK transport runs stateless per request (each HTTP action is a fresh isolate),
 * so Warden issues and checks `Mcp-Session-Id` itself. `initialize` opens a session — an
 * unguessable id, stored only as a hash and bound to the client token that opened it; every
 * later request (and `DELETE /mcp`, which ends it) must present it with that same token. A
 * session id is never a credential: the bearer token is checked first on every request. At most
 * MAX_SESSIONS_PER_CLIENT open sessions per token (open = not closed and seen within
 * SESSION_IDLE_MS): a new one evicts the client's least recently used session (no stream is held
 * open between requests, so every open session is idle then). `mcpSessionsPerIp` bounds new
 * sessions per minute per IP. Requests of the stateless revision (mode "stateless") carry no
 * session at all. Connections go to the private activity log; rejections are security events
 * with client, IP and time.
 *
 * Gateway mode: a token's upstream scopes (tokens.ts) come back as `upstream` (exposed name →
 * server id bound at mint + tool) on every request; tools/list shows those whose server is this
 * token's workspace's, approved and enabled, and whose tool is approved with an unchanged pin. A
 * call is decided again by the checker (callMcpTool) whatever is listed.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../../_generated/server";
import type { Doc, Id } from "../../_generated/dataModel";
import { admitAllUsers, enforceLimit } from "../../limits/enforce";
import { recordSecurityEvent } from "../../security/events";
import { parseStoredSchema } from "../../lib/jsonSchema";
import { parseUpstreamScope } from "../protocol";
import { sha256Hex } from "../../lib/tokens";
import { DAY, MINUTE } from "../../lib/time";
import { logActivity } from "../../agent/activity";
import { codeValidator, type Code } from "../../lib/codes";

export const MAX_SESSIONS_PER_CLIENT = 5;
export const SESSION_IDLE_MS = 10 * MINUTE;
/** Closed session rows are deleted this long after closing (by the health cron). */
export const SESSION_KEEP_MS = 7 * DAY;
const PRUNE_BATCH = 200;
/** lastSeenAt / lastUsedAt are refreshed at most this often (fewer write conflicts). */
const TOUCH_MS = 15_000;

const toolValidator = v.object({ name: v.string(), description: v.string(), inputSchema: v.any() });
const upstreamValidator = v.object({ name: v.string(), serverId: v.id("mcpServers"), tool: v.string() });
type Upstream = { name: string; serverId: Id<"mcpServers">; tool: string };
const admitted = v.object({
  ok: v.literal(true),
  workspaceId: v.id("workspaces"),
  tokenId: v.id("mcpClientTokens"),
  prefix: v.string(),
  scopes: v.array(v.string()),
  expiresAt: v.number(),
  tools: v.array(toolValidator),
  upstream: v.array(upstreamValidator),
});
const refused = v.object({
  ok: v.literal(false),
  status: v.number(),
  code: v.string(),
  retryAfterMs: v.optional(v.number()),
});

type Refusal = { ok: false; status: number; code: string; retryAfterMs?: number };

async function ipKey(ip: string): Promise<string> {
  return `ip:${(await sha256Hex(ip)).slice(0, 32)}`;
}

function refuse(status: number, code: string, retryAfterMs?: number): Refusal {
  return retryAfterMs === undefined ? { ok: false, status, code } : { ok: false, status, code, retryAfterMs };
}

/** Open sessions of a client, closing the idle ones found on the way. */
async function openSessions(
  ctx: MutationCtx,
  tokenId: Id<"mcpClientTokens">,
  now: number,
): Promise<Doc<"mcpSessions">[]> {
  const rows = await ctx.db
    .query("mcpSessions")
    .withIndex("by_client_closed", (q) => q.eq("clientTokenId", tokenId).eq("closedAt", undefined))
    .take(64);
  const open: Doc<"mcpSessions">[] = [];
  for (const s of rows) {
    if (s.lastSeenAt + SESSION_IDLE_MS <= now) await ctx.db.patch("mcpSessions", s._id, { closedAt: now });
    else open.push(s);
  }
  return open;
}

/** The token's upstream scopes, by exposed name (only entries still in toolScopes and bound at mint). */
function upstreamOf(token: Doc<"mcpClientTokens">): Upstream[] {
  const out: Upstream[] = [];
  for (const b of (token.upstreamScopes ?? []).slice(0, 100)) {
    const parsed = parseUpstreamScope(b.scope);
    if (!parsed || parsed.tool !== b.tool || !token.toolScopes.includes(b.scope)) continue;
    out.push({ name: parsed.exposed, serverId: b.serverId, tool: b.tool });
  }
  return out;
}

/** Exposed upstream tools that may be listed now; their stored (redacted) description and schema. */
async function listableUpstream(ctx: MutationCtx, token: Doc<"mcpClientTokens">, upstream: Upstream[]) {
  const tools = [];
  for (const u of upstream) {
    const server = await ctx.db.get("mcpServers", u.serverId);
    if (!server || server.workspaceId !== token.workspaceId || server.status !== "approved" || !server.enabled)
      continue;
    const tool = await ctx.db
      .query("mcpTools")
      .withIndex("by_server_name", (q) => q.eq("serverId", server._id).eq("name", u.tool))
      .first();
    if (
      !tool ||
      tool.workspaceId !== token.workspaceId ||
      tool.status !== "approved" ||
      !tool.approvedHash ||
      tool.hash !== tool.approvedHash
    )
      continue;
    const schema = parseStoredSchema(tool.inputSchema);
    if (!schema || typeof schema !== "object" || (schema as { type?: unknown }).type !== "object") continue;
    tools.push({ name: u.name, description: tool.description, inputSchema: tool.inputSchema });
  }
  return tools;
}

async function scopedTools(ctx: MutationCtx, workspaceId: Id<"workspaces">, scopes: string[]) {
  const tools = [];
  for (const name of scopes.slice(0, 100)) {
    if (parseUpstreamScope(name)) continue;
    const skill = await ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId).eq("name", name))
      .first();
    if (!skill || skill.status !== "approved") continue;
    const schema = parseStoredSchema(skill.inputSchema);
    if (!schema || typeof schema !== "object" || (schema as { type?: unknown }).type !== "object") continue;
    tools.push({ name: skill.name, description: skill.description, inputSchema: skill.inputSchema });
  }
  return tools;
}

export const admit = internalMutation({
  args: {
    /** sha256 of a well-formed bearer token; absent when the header is missing or malformed */
    tokenHash: v.optional(v.string()),
    /** sha256 of a well-formed OAuth access token (oauth.ts); it resolves to its grant's row */
    accessTokenHash: v.optional(v.string()),
    /** this deployment's /mcp URL; the token's audience must equal it */
    audience: v.string(),
    ip: v.string(),
    /** initialize: open a session; session: use one; end: DELETE it; stateless: no session (2026-07-28 revision) */
    mode: v.union(v.literal("initialize"), v.literal("session"), v.literal("end"), v.literal("stateless")),
    /** hash of the presented Mcp-Session-Id ("" when present but malformed) */
    sessionIdHash: v.optional(v.string()),
    /** hash of the id to issue (initialize only) */
    newSessionIdHash: v.optional(v.string()),
    wantTools: v.boolean(),
  },
  returns: v.union(admitted, refused),
  handler: async (ctx, a) => {
    const now = Date.now();
    const ip = a.ip.slice(0, 64);
    const unauthenticated = async (detail: string, workspaceId?: Id<"workspaces">) => {
      await recordSecurityEvent(ctx, {
        workspaceId,
        code: "UNAUTHENTICATED",
        category: "mcp",
        source: `ip:${ip}`,
        detail: `mcp: ${detail}; ip=${ip}`,
      });
      return refuse(401, "UNAUTHENTICATED");
    };

    // 1. the bearer token, on every request: an owner-minted client token, or an OAuth access
    //    token standing for its grant (same row kind, so everything below applies to both)
    let token: Doc<"mcpClientTokens"> | null = null;
    let accessExpiresAt = Infinity;
    if (a.accessTokenHash) {
      const access = await ctx.db
        .query("oauthTokens")
        .withIndex("by_hash", (q) => q.eq("tokenHash", a.accessTokenHash!))
        .unique();
      if (!access || access.kind !== "access") return await unauthenticated("unknown oauth token");
      if (access.revokedAt !== undefined) return await unauthenticated("revoked oauth token", access.workspaceId);
      if (access.expiresAt <= now) return await unauthenticated("expired oauth token", access.workspaceId);
      token = await ctx.db.get("mcpClientTokens", access.grantId);
      if (!token || !token.oauthClientId || token.workspaceId !== access.workspaceId)
        return await unauthenticated("oauth token without grant");
      accessExpiresAt = access.expiresAt;
    } else {
      if (!a.tokenHash) return await unauthenticated("missing or malformed token");
      token = await ctx.db
        .query("mcpClientTokens")
        .withIndex("by_tokenHash", (q) => q.eq("tokenHash", a.tokenHash!))
        .unique();
      if (!token) return await unauthenticated("unknown token");
    }
    const client = `client=${token.prefix}`;
    if (token.revokedAt !== undefined)
      return await unauthenticated(
        `revoked ${token.oauthClientId ? "oauth grant" : "token"} ${client}`,
        token.workspaceId,
      );
    if (token.expiresAt <= now) return await unauthenticated(`expired token ${client}`, token.workspaceId);
    if (token.audience !== a.audience)
      return await unauthenticated(`token for another audience ${client}`, token.workspaceId);

    const source = `mcpClient:${token._id}`;
    const event = async (code: Code, detail: string) =>
      await recordSecurityEvent(ctx, {
        workspaceId: token.workspaceId,
        code,
        category: "mcp",
        source,
        detail: `${detail}; ${client} ip=${ip}`,
      });

    // 2. per-client rate limit (every request)
    const perClient = await enforceLimit(ctx, {
      workspaceId: token.workspaceId,
      name: "mcpPerClient",
      key: `mcpClient:${token._id}`,
      category: "mcp",
      source,
    });
    if (!perClient.ok)
      return refuse(perClient.code === "RATE_LIMITED" ? 429 : 503, perClient.code, perClient.retryAfterMs);
    // 2b. the workspace's budget for all users combined (chat, channels, MCP)
    const all = await admitAllUsers(ctx, { workspaceId: token.workspaceId, category: "mcp", source });
    if (!all.ok) return refuse(all.code === "RATE_LIMITED" ? 429 : 503, all.code, all.retryAfterMs);

    // 3. sessions
    if (a.mode === "initialize") {
      if (!a.newSessionIdHash) return refuse(500, "INTERNAL");
      // Rate-limited before anything is evicted.
      const perIp = await enforceLimit(ctx, {
        workspaceId: token.workspaceId,
        name: "mcpSessionsPerIp",
        key: await ipKey(ip),
        category: "mcp",
        source: `ip:${ip}`,
      });
      if (!perIp.ok) return refuse(perIp.code === "RATE_LIMITED" ? 429 : 503, perIp.code, perIp.retryAfterMs);
      const open = await openSessions(ctx, token._id, now);
      // At the cap: end this client's least recently used sessions (never another client's).
      open.sort((x, y) => x.lastSeenAt - y.lastSeenAt || x.createdAt - y.createdAt);
      for (const old of open.slice(0, Math.max(0, open.length - MAX_SESSIONS_PER_CLIENT + 1))) {
        await ctx.db.patch("mcpSessions", old._id, { closedAt: now });
        await logActivity(ctx, {
          workspaceId: token.workspaceId,
          kind: "mcp.session_evicted",
          meta: { client: token.prefix, ip },
        });
      }
      await ctx.db.insert("mcpSessions", {
        workspaceId: token.workspaceId,
        clientTokenId: token._id,
        sessionIdHash: a.newSessionIdHash,
        ip,
        createdAt: now,
        lastSeenAt: now,
      });
      await logActivity(ctx, {
        workspaceId: token.workspaceId,
        kind: "mcp.client_connected",
        meta: { client: token.prefix, clientName: token.name.slice(0, 64), ip },
      });
    } else if (a.mode !== "stateless") {
      if (a.sessionIdHash === undefined) return refuse(400, "BAD_REQUEST");
      const session = a.sessionIdHash
        ? await ctx.db
            .query("mcpSessions")
            .withIndex("by_sessionIdHash", (q) => q.eq("sessionIdHash", a.sessionIdHash!))
            .unique()
        : null;
      if (session && session.clientTokenId !== token._id) {
        // Someone else's session id: indistinguishable from an unknown one for the caller.
        await event(
          "MCP_SESSION_MISMATCH",
          a.mode === "end" ? "mcp: DELETE of another client's session" : "mcp: session id of another client",
        );
        return refuse(404, "NOT_FOUND");
      }
      if (!session || session.closedAt !== undefined) return refuse(404, "NOT_FOUND");
      if (session.lastSeenAt + SESSION_IDLE_MS <= now) {
        await ctx.db.patch("mcpSessions", session._id, { closedAt: now });
        return refuse(404, "NOT_FOUND");
      }
      if (a.mode === "end") {
        await ctx.db.patch("mcpSessions", session._id, { closedAt: now });
        await logActivity(ctx, {
          workspaceId: token.workspaceId,
          kind: "mcp.client_disconnected",
          meta: { client: token.prefix, ip },
        });
      } else if (now - session.lastSeenAt > TOUCH_MS)
        await ctx.db.patch("mcpSessions", session._id, { lastSeenAt: now });
    }

    if (token.lastUsedAt === undefined || now - token.lastUsedAt > TOUCH_MS)
      await ctx.db.patch("mcpClientTokens", token._id, { lastUsedAt: now });
    const upstream = upstreamOf(token);
    return {
      ok: true as const,
      workspaceId: token.workspaceId,
      tokenId: token._id,
      prefix: token.prefix,
      scopes: token.toolScopes,
      expiresAt: Math.min(token.expiresAt, accessExpiresAt),
      tools: a.wantTools
        ? [
            ...(await scopedTools(ctx, token.workspaceId, token.toolScopes)),
            ...(await listableUpstream(ctx, token, upstream)),
          ]
        : [],
      upstream,
    };
  },
});

/** An initialize whose response was not 200 leaves no open session behind. */
export const discardSession = internalMutation({
  args: { sessionIdHash: v.string() },
  returns: v.null(),
  handler: async (ctx, { sessionIdHash }) => {
    const s = await ctx.db
      .query("mcpSessions")
      .withIndex("by_sessionIdHash", (q) => q.eq("sessionIdHash", sessionIdHash))
      .unique();
    if (s && s.closedAt === undefined) await ctx.db.patch("mcpSessions", s._id, { closedAt: Date.now() });
    return null;
  },
});

/** Rejections before any token is looked at (e.g. a foreign Origin). */
export const logRejection = internalMutation({
  args: { code: codeValidator, ip: v.string(), detail: v.string() },
  returns: v.null(),
  handler: async (ctx, a) => {
    const ip = a.ip.slice(0, 64);
    await recordSecurityEvent(ctx, {
      code: a.code,
      category: "mcp",
      source: `ip:${ip}`,
      detail: `${a.detail}; ip=${ip}`,
    });
    return null;
  },
});

/** A tools/call outside the token's scopes. */
export const logScopeDenial = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    tokenId: v.id("mcpClientTokens"),
    prefix: v.string(),
    tool: v.string(),
    ip: v.string(),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    await recordSecurityEvent(ctx, {
      workspaceId: a.workspaceId,
      code: "MCP_TOOL_OUT_OF_SCOPE",
      category: "mcp",
      source: `mcpClient:${a.tokenId}`,
      detail: `mcp: tool=${a.tool.slice(0, 128)} not in scope; client=${a.prefix} ip=${a.ip.slice(0, 64)}`,
    });
    return null;
  },
});

/** Bounded housekeeping (run by the health cron): close idle sessions, delete long-closed ones. */
export const pruneSessions = internalMutation({
  args: {},
  returns: v.object({ closed: v.number(), deleted: v.number() }),
  handler: async (ctx) => {
    const now = Date.now();
    const idle = await ctx.db
      .query("mcpSessions")
      .withIndex("by_closed_lastSeen", (q) => q.eq("closedAt", undefined).lt("lastSeenAt", now - SESSION_IDLE_MS))
      .take(PRUNE_BATCH);
    for (const s of idle) await ctx.db.patch("mcpSessions", s._id, { closedAt: now });
    const old = await ctx.db
      .query("mcpSessions")
      .withIndex("by_closed_lastSeen", (q) => q.gt("closedAt", 0).lt("closedAt", now - SESSION_KEEP_MS))
      .take(PRUNE_BATCH);
    for (const s of old) await ctx.db.delete("mcpSessions", s._id);
    return { closed: idle.length, deleted: old.length };
  },
});
