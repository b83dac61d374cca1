/**
 * Per-client bearer tokens for Warden's own /mcp endpoint. Owners mint (the token is returned
 * once; only its SHA-256 and a short prefix are stored), list and revoke them; all audited.
 * Each token is scoped to a list of tool (skill) names and, in gateway mode, upstream MCP tools
 * (`mcp:<serverName>/<toolName>`, protocol.ts; each bound at mint to that server of the owner's own
 * workspace by id, so a server deleted and registered again under the same name is not in scope),
 * expires, and carries an audience: this deployment's /mcp URL (RFC 8707 resource). A token for
 * any other audience is refused.
 */
import { v } from "convex/values";
import { viewerQuery, ownerMutation } from "../../access/builders";
import { fail, getOwned } from "../../access/principal";
import { writeAudit } from "../../audit/log";
import { randomToken, sha256Hex } from "../../lib/tokens";
import { DAY } from "../../lib/time";
import { MAX_SERVERS_PER_WORKSPACE } from "../outbound/servers";
import type { Id } from "../../_generated/dataModel";
import type { QueryCtx } from "../../_generated/server";
import {
  CLIENT_TOKEN_PREFIX,
  MAX_TOOLS_PER_SERVER,
  TOKEN_PREFIX_CHARS,
  mcpResourceUrl,
  parseUpstreamScope,
  upstreamScope,
} from "../protocol";

export const MAX_TOKENS_PER_WORKSPACE = 100;
export const MAX_SCOPES = 100;
export const MAX_EXPIRY_DAYS = 365;
/** Rows read per workspace listing: static tokens plus OAuth grants. */
const MAX_ROWS_READ = 500;
const SCOPE = /^[a-z][a-z0-9_-]{1,62}$/;
const TOKEN_NAME = /^[\p{L}\p{N} ._-]{1,64}$/u;

const tokenView = v.object({
  _id: v.id("mcpClientTokens"),
  name: v.string(),
  prefix: v.string(),
  toolScopes: v.array(v.string()),
  audience: v.string(),
  expiresAt: v.number(),
  revoked: v.boolean(),
  revokedAt: v.optional(v.number()),
  lastUsedAt: v.optional(v.number()),
  createdAt: v.number(),
});

/**
 * Checks a scope list against the caller's workspace: skill names (checked on every use) and
 * upstream tools `mcp:<server>/<tool>`, each bound to that server of this workspace by id. Shared by
 * owner-minted tokens and OAuth consent (oauth.ts).
 */
export async function resolveScopes(ctx: QueryCtx, workspaceId: Id<"workspaces">, requested: string[]) {
  if (requested.length > MAX_SCOPES || !requested.every((s) => SCOPE.test(s) || parseUpstreamScope(s) !== null)) {
    fail("CONFIG_INVALID", { field: "toolScopes" });
  }
  const toolScopes = [...new Set(requested)];
  const upstreamScopes: Array<{ scope: string; serverId: Id<"mcpServers">; tool: string }> = [];
  for (const scope of toolScopes) {
    const up = parseUpstreamScope(scope);
    if (!up) continue;
    // only a server of this workspace; its tool is checked on every use, not here
    const server = await ctx.db
      .query("mcpServers")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId).eq("name", up.server))
      .first();
    if (!server) fail("CONFIG_INVALID", { field: "toolScopes" });
    upstreamScopes.push({ scope, serverId: server._id, tool: up.tool });
  }
  return { toolScopes, upstreamScopes };
}

export const mint = ownerMutation({
  args: { name: v.string(), toolScopes: v.array(v.string()), expiresInDays: v.number() },
  returns: v.object({
    tokenId: v.id("mcpClientTokens"),
    token: v.string(),
    prefix: v.string(),
    audience: v.string(),
    expiresAt: v.number(),
  }),
  handler: async (ctx, a) => {
    const p = ctx.principal;
    if (!TOKEN_NAME.test(a.name)) fail("CONFIG_INVALID", { field: "name" });
    if (
      a.toolScopes.length > MAX_SCOPES ||
      !a.toolScopes.every((s) => SCOPE.test(s) || parseUpstreamScope(s) !== null)
    ) {
      fail("CONFIG_INVALID", { field: "toolScopes" });
    }
    if (!Number.isInteger(a.expiresInDays) || a.expiresInDays < 1 || a.expiresInDays > MAX_EXPIRY_DAYS) {
      fail("CONFIG_INVALID", { field: "expiresInDays" });
    }
    const audience = mcpResourceUrl(process.env);
    if (!audience) fail("CONFIG_INVALID", { field: "WARDEN_PUBLIC_BASE_URL" });
    // OAuth grants (oauth.ts) share the table but not this budget.
    const existing = await ctx.db
      .query("mcpClientTokens")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", p.workspaceId))
      .take(MAX_ROWS_READ);
    if (existing.filter((r) => !r.oauthClientId).length >= MAX_TOKENS_PER_WORKSPACE) fail("MCP_TOKEN_LIMIT_REACHED");

    const token = randomToken(CLIENT_TOKEN_PREFIX, 32);
    const prefix = token.slice(0, TOKEN_PREFIX_CHARS);
    const now = Date.now();
    const expiresAt = now + a.expiresInDays * DAY;
    const { toolScopes, upstreamScopes } = await resolveScopes(ctx, p.workspaceId, a.toolScopes);
    const tokenId = await ctx.db.insert("mcpClientTokens", {
      workspaceId: p.workspaceId,
      name: a.name,
      tokenHash: await sha256Hex(token),
      prefix,
      toolScopes,
      ...(upstreamScopes.length ? { upstreamScopes } : {}),
      audience,
      expiresAt,
      createdBy: p.ownerId,
      createdAt: now,
    });
    await writeAudit(ctx, {
      workspaceId: p.workspaceId,
      actorId: p.ownerId,
      actorLabel: p.ownerKey,
      action: "mcp.token.mint",
      target: `${a.name} (${prefix}…)`,
      after: { name: a.name, prefix, scopes: toolScopes.join(",").slice(0, 200), audience, expiresAt },
    });
    return { tokenId, token, prefix, audience, expiresAt };
  },
});

export const list = viewerQuery({
  args: {},
  returns: v.array(tokenView),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("mcpClientTokens")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(MAX_ROWS_READ);
    return rows
      .filter((r) => !r.oauthClientId)
      .map((r) => ({
        _id: r._id,
        name: r.name,
        prefix: r.prefix,
        toolScopes: r.toolScopes,
        audience: r.audience,
        expiresAt: r.expiresAt,
        revoked: r.revokedAt !== undefined,
        revokedAt: r.revokedAt,
        lastUsedAt: r.lastUsedAt,
        createdAt: r.createdAt,
      }));
  },
});

/** Revocation takes effect on the next request; the token's open sessions are closed too. */
export const revoke = ownerMutation({
  args: { tokenId: v.id("mcpClientTokens") },
  returns: v.null(),
  handler: async (ctx, { tokenId }) => {
    const row = await getOwned(await ctx.db.get("mcpClientTokens", tokenId), ctx.principal);
    if (row.oauthClientId) fail("NOT_FOUND"); // OAuth grants: oauth:revokeGrantByOwner ends their token chain too
    if (row.revokedAt !== undefined) return null;
    const now = Date.now();
    await ctx.db.patch("mcpClientTokens", tokenId, { revokedAt: now });
    const open = await ctx.db
      .query("mcpSessions")
      .withIndex("by_client_closed", (q) => q.eq("clientTokenId", tokenId).eq("closedAt", undefined))
      .take(200);
    for (const s of open) await ctx.db.patch("mcpSessions", s._id, { closedAt: now });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "mcp.token.revoke",
      target: `${row.name} (${row.prefix}…)`,
      before: { revoked: false },
      after: { revoked: true, revokedAt: now },
    });
    return null;
  },
});

/** Gateway mode: the upstream tools an owner can put in a scope (approved, enabled servers; approved tools with an unchanged pin). */
export async function upstreamChoicesFor(ctx: QueryCtx, workspaceId: Id<"workspaces">) {
  const servers = await ctx.db
    .query("mcpServers")
    .withIndex("by_workspace", (q) => q.eq("workspaceId", workspaceId))
    .take(MAX_SERVERS_PER_WORKSPACE);
  const out = [];
  for (const server of servers) {
    if (server.status !== "approved" || !server.enabled) continue;
    const tools = await ctx.db
      .query("mcpTools")
      .withIndex("by_server", (q) => q.eq("serverId", server._id))
      .take(MAX_TOOLS_PER_SERVER);
    for (const t of tools) {
      if (t.status !== "approved" || t.hash !== t.approvedHash) continue;
      const parsed = parseUpstreamScope(upstreamScope(server.name, t.name));
      if (!parsed) continue; // exposed name would exceed 128 characters
      out.push({
        scope: upstreamScope(server.name, t.name),
        exposedName: parsed.exposed,
        server: server.name,
        tool: t.name,
        description: t.description.slice(0, 200),
      });
    }
  }
  return out;
}

/** The workspace's approved skills an owner can put in a scope (consent page). */
export async function skillChoices(ctx: QueryCtx, workspaceId: Id<"workspaces">) {
  const skills = await ctx.db
    .query("skillRegistry")
    .withIndex("by_workspace_status", (q) => q.eq("workspaceId", workspaceId).eq("status", "approved"))
    .take(MAX_SCOPES);
  return skills
    .filter((s) => SCOPE.test(s.name))
    .map((s) => ({ name: s.name, description: s.description.slice(0, 200) }));
}

export const upstreamChoices = viewerQuery({
  args: {},
  returns: v.array(
    v.object({
      scope: v.string(),
      exposedName: v.string(),
      server: v.string(),
      tool: v.string(),
      description: v.string(),
    }),
  ),
  handler: async (ctx) => await upstreamChoicesFor(ctx, ctx.principal.workspaceId),
});
