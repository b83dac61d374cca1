/**
 * OAuth 2.1 to upstream MCP servers: the database side (queries and mutations). The network side
 * (discovery, registration, code exchange, refresh — all through the egress guard) is in
 * upstreamOAuth.ts ("use node"); the browser's return is GET /oauth/upstream/callback
 * (upstreamAuthRoutes.ts).
 *
 * - An admin turns OAuth on for a registered server (`configure`, optionally with a pre-registered
 *   client id and a scope), then presses Connect (upstreamOAuth:connect) once the server is approved.
 * - A state is random (256 bits), stored as its SHA-256 only, bound to the server, its workspace and
 *   the owner who pressed Connect, single use (spent before the code is exchanged, whatever happens
 *   next) and valid STATE_TTL_MS. Its PKCE verifier is sealed with the key ring.
 * - Tokens and a client secret are mcpServerSecrets rows (encrypted, rotated with every other
 *   secret); nothing here returns them. SyncBoard sees status, issuer and expiry only.
 * - A refused refresh (the upstream grant was revoked) disables the server, deletes its tokens,
 *   records MCP_OAUTH_REVOKED and notifies the workspace.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "../../_generated/server";
import type { Doc, Id } from "../../_generated/dataModel";
import { internal } from "../../_generated/api";
import { adminMutation, viewerQuery } from "../../access/builders";
import { fail, getOwned, type Principal } from "../../access/principal";
import { writeAudit } from "../../audit/log";
import { recordSecurityEvent } from "../../security/events";
import { findSecret, putMcpServerSecret } from "../../secrets/store";
import { enforceLimit } from "../../limits/enforce";
import { notify } from "../../notifications/notify";

/** Where the owner's browser comes back from the upstream authorization server (site port). */
export const CALLBACK_PATH = "/oauth/upstream/callback";

export const STATE_TTL_MS = 10 * 60 * 1000;
/** A refresh claim lasts at most this long (a crashed refresher does not block the next one). */
export const REFRESH_CLAIM_MS = 30_000;
export const OAUTH_SECRET = {
  access: "OAUTH_ACCESS_TOKEN",
  refresh: "OAUTH_REFRESH_TOKEN",
  clientSecret: "OAUTH_CLIENT_SECRET",
} as const;
const TOKEN_NAMES = [OAUTH_SECRET.access, OAUTH_SECRET.refresh];

const CLIENT_ID_RE = /^[\x21-\x7e]{1,256}$/;
/** RFC 6749 scope-token characters, space separated. */
const SCOPE_RE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

const sealed = v.object({ ciphertext: v.string(), keyVersion: v.string(), last4: v.string() });

async function authRow(
  ctx: { db: QueryCtx["db"] },
  serverId: Id<"mcpServers">,
): Promise<Doc<"mcpUpstreamAuth"> | null> {
  return await ctx.db
    .query("mcpUpstreamAuth")
    .withIndex("by_server", (q) => q.eq("serverId", serverId))
    .unique();
}

async function audit(
  ctx: MutationCtx,
  p: Principal,
  action: string,
  target: string,
  before?: unknown,
  after?: unknown,
) {
  await writeAudit(ctx, {
    workspaceId: p.workspaceId,
    actorId: p.ownerId,
    actorLabel: p.ownerKey,
    action,
    target,
    before,
    after,
  });
}

const putSecret = putMcpServerSecret;

async function deleteTokens(ctx: MutationCtx, serverId: Id<"mcpServers">) {
  for (const name of TOKEN_NAMES) {
    const row = await findSecret(ctx.db, "mcpServerSecrets", serverId, name);
    if (row) await ctx.db.delete("mcpServerSecrets", row._id as Id<"mcpServerSecrets">);
  }
}

// ---------------------------------------------------------------------------------------------
// SyncBoard

const statusView = v.object({
  configured: v.boolean(),
  status: v.optional(v.string()),
  issuer: v.optional(v.string()),
  preRegisteredClientId: v.optional(v.string()),
  clientRegistered: v.boolean(),
  scope: v.optional(v.string()),
  connectedAt: v.optional(v.number()),
  accessExpiresAt: v.optional(v.number()),
  lastRefreshAt: v.optional(v.number()),
});

export const status = viewerQuery({
  args: { serverId: v.id("mcpServers") },
  returns: statusView,
  handler: async (ctx, { serverId }) => {
    await getOwned(await ctx.db.get("mcpServers", serverId), ctx.principal);
    const row = await authRow(ctx, serverId);
    if (!row) return { configured: false, clientRegistered: false };
    return {
      configured: true,
      status: row.status,
      issuer: row.issuer,
      preRegisteredClientId: row.preRegisteredClientId,
      clientRegistered: row.clientId !== undefined,
      scope: row.scope,
      connectedAt: row.connectedAt,
      accessExpiresAt: row.accessExpiresAt,
      lastRefreshAt: row.lastRefreshAt,
    };
  },
});

/** Turns OAuth on for a server (or changes its pre-registered client id / scope). */
export const configure = adminMutation({
  args: {
    serverId: v.id("mcpServers"),
    clientId: v.optional(v.union(v.string(), v.null())),
    scope: v.optional(v.union(v.string(), v.null())),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const server = await getOwned(await ctx.db.get("mcpServers", a.serverId), ctx.principal);
    if (a.clientId != null && !CLIENT_ID_RE.test(a.clientId)) fail("CONFIG_INVALID", { field: "clientId" });
    if (a.scope != null && (a.scope.length > 512 || !SCOPE_RE.test(a.scope)))
      fail("CONFIG_INVALID", { field: "scope" });
    const now = Date.now();
    const row = await authRow(ctx, server._id);
    const patch = {
      ...(a.clientId !== undefined ? { preRegisteredClientId: a.clientId ?? undefined } : {}),
      ...(a.scope !== undefined ? { scope: a.scope ?? undefined } : {}),
    };
    if (row) {
      // Another client id means another client: the discovered one is forgotten (Connect again).
      const clientChanged = a.clientId !== undefined && (a.clientId ?? undefined) !== row.preRegisteredClientId;
      await ctx.db.patch("mcpUpstreamAuth", row._id, {
        ...patch,
        ...(clientChanged ? { clientId: undefined } : {}),
        updatedAt: now,
      });
    } else {
      await ctx.db.insert("mcpUpstreamAuth", {
        workspaceId: server.workspaceId,
        serverId: server._id,
        status: "not_connected",
        ...patch,
        tokenVersion: 0,
        updatedAt: now,
      });
    }
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.oauth.configure",
      server.name,
      row ? { clientId: row.preRegisteredClientId, scope: row.scope } : undefined,
      {
        clientId: a.clientId ?? row?.preRegisteredClientId,
        scope: a.scope ?? row?.scope,
      },
    );
    return null;
  },
});

/** Forgets the server's tokens (the upstream grant itself is the AS's business). */
export const disconnect = adminMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const server = await getOwned(await ctx.db.get("mcpServers", serverId), ctx.principal);
    const row = await authRow(ctx, serverId);
    if (!row) fail("NOT_FOUND");
    await deleteTokens(ctx, serverId);
    await ctx.db.patch("mcpUpstreamAuth", row._id, {
      status: "not_connected",
      accessExpiresAt: undefined,
      tokenVersion: row.tokenVersion + 1,
      refreshingUntil: undefined,
      updatedAt: Date.now(),
    });
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.oauth.disconnect",
      server.name,
      { status: row.status },
      { status: "not_connected" },
    );
    return null;
  },
});

// ---------------------------------------------------------------------------------------------
// internal: used by upstreamOAuth.ts (Node) and client.ts

const targetView = v.object({
  serverId: v.id("mcpServers"),
  workspaceId: v.id("workspaces"),
  name: v.string(),
  url: v.string(),
  serverStatus: v.string(),
  preRegisteredClientId: v.optional(v.string()),
  scope: v.optional(v.string()),
  issuer: v.optional(v.string()),
  clientId: v.optional(v.string()),
  redirectUri: v.optional(v.string()),
});

/** What Connect needs, for a server of `workspaceId` with OAuth configured; null otherwise. */
export const connectTarget = internalQuery({
  args: { serverId: v.id("mcpServers"), workspaceId: v.id("workspaces") },
  returns: v.union(targetView, v.null()),
  handler: async (ctx, { serverId, workspaceId }) => {
    const server = await ctx.db.get("mcpServers", serverId);
    if (!server || server.workspaceId !== workspaceId) return null;
    const row = await authRow(ctx, serverId);
    if (!row) return null;
    return {
      serverId,
      workspaceId,
      name: server.name,
      url: server.url,
      serverStatus: server.status,
      preRegisteredClientId: row.preRegisteredClientId,
      scope: row.scope,
      issuer: row.issuer,
      clientId: row.clientId,
      redirectUri: row.redirectUri,
    };
  },
});

/** Records the discovered authorization server and the client in use, and opens a state. */
export const beginAuthorization = internalMutation({
  args: {
    serverId: v.id("mcpServers"),
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    url: v.string(),
    issuer: v.string(),
    authorizationEndpoint: v.string(),
    tokenEndpoint: v.string(),
    tokenAuthMethods: v.optional(v.array(v.string())),
    clientId: v.string(),
    clientSecret: v.optional(sealed),
    redirectUri: v.string(),
    stateHash: v.string(),
    verifier: sealed,
  },
  returns: v.boolean(),
  handler: async (ctx, a) => {
    const server = await ctx.db.get("mcpServers", a.serverId);
    const row = await authRow(ctx, a.serverId);
    if (!server || !row || server.workspaceId !== a.workspaceId || server.url !== a.url) return false;
    const now = Date.now();
    const otherAs = row.issuer !== undefined && row.issuer !== a.issuer;
    await ctx.db.patch("mcpUpstreamAuth", row._id, {
      issuer: a.issuer,
      authorizationEndpoint: a.authorizationEndpoint,
      tokenEndpoint: a.tokenEndpoint,
      tokenAuthMethods: a.tokenAuthMethods,
      clientId: a.clientId,
      redirectUri: a.redirectUri,
      updatedAt: now,
    });
    if (a.clientSecret) await putSecret(ctx, server, OAUTH_SECRET.clientSecret, a.clientSecret);
    else if (otherAs || a.clientId === row.preRegisteredClientId) {
      const stale = await findSecret(ctx.db, "mcpServerSecrets", server._id, OAUTH_SECRET.clientSecret);
      if (stale) await ctx.db.delete("mcpServerSecrets", stale._id as Id<"mcpServerSecrets">);
    }
    await ctx.db.insert("mcpUpstreamAuthStates", {
      stateHash: a.stateHash,
      serverId: a.serverId,
      workspaceId: a.workspaceId,
      ownerId: a.ownerId,
      verifierCiphertext: a.verifier.ciphertext,
      verifierKeyVersion: a.verifier.keyVersion,
      issuer: a.issuer,
      clientId: a.clientId,
      redirectUri: a.redirectUri,
      resource: a.url,
      createdAt: now,
      expiresAt: now + STATE_TTL_MS,
    });
    // old states of any server are dropped a few at a time
    const old = await ctx.db
      .query("mcpUpstreamAuthStates")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", now - STATE_TTL_MS))
      .take(20);
    for (const s of old) await ctx.db.delete("mcpUpstreamAuthStates", s._id);
    return true;
  },
});

const consumed = v.union(
  v.object({
    ok: v.literal(true),
    serverId: v.id("mcpServers"),
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    serverName: v.string(),
    verifier: v.object({ ciphertext: v.string(), keyVersion: v.string() }),
    issuer: v.string(),
    tokenEndpoint: v.string(),
    tokenAuthMethods: v.optional(v.array(v.string())),
    clientId: v.string(),
    redirectUri: v.string(),
    resource: v.string(),
    tokenVersion: v.number(),
  }),
  v.object({ ok: v.literal(false), code: v.string(), workspaceId: v.optional(v.id("workspaces")) }),
);

/**
 * Spends a state (whatever the outcome) and checks what it is bound to still holds: same server,
 * same workspace, same URL, same authorization server and client, and the owner who started it
 * still an active admin or owner of that workspace.
 */
export const consumeState = internalMutation({
  args: { stateHash: v.string(), iss: v.optional(v.string()), ip: v.string() },
  returns: consumed,
  handler: async (ctx, { stateHash, iss, ip }) => {
    // the callback shares the per-IP budget of Warden's own /oauth endpoints (fails closed)
    const limited = await enforceLimit(ctx, {
      name: "oauthPerIp",
      key: `ip:${ip.slice(0, 64)}`,
      category: "oauth",
      source: `ip:${ip.slice(0, 64)}`,
    });
    if (!limited.ok) return { ok: false as const, code: limited.code };
    const st = await ctx.db
      .query("mcpUpstreamAuthStates")
      .withIndex("by_hash", (q) => q.eq("stateHash", stateHash))
      .unique();
    const now = Date.now();
    const refuse = async (reason: string, workspaceId?: Id<"workspaces">) => {
      await recordSecurityEvent(ctx, {
        workspaceId,
        code: "MCP_OAUTH_STATE_INVALID",
        category: "mcp",
        source: st ? `mcpServer:${st.serverId}` : "oauth-upstream-callback",
        detail: `reason=${reason}`,
      });
      return { ok: false as const, code: "MCP_OAUTH_STATE_INVALID", workspaceId };
    };
    if (!st) return await refuse("unknown");
    if (st.usedAt !== undefined) return await refuse("replayed", st.workspaceId);
    await ctx.db.patch("mcpUpstreamAuthStates", st._id, { usedAt: now });
    if (st.expiresAt <= now) return await refuse("expired", st.workspaceId);
    if (iss !== undefined && iss !== st.issuer) return await refuse("issuer_mismatch", st.workspaceId);
    const server = await ctx.db.get("mcpServers", st.serverId);
    const row = await authRow(ctx, st.serverId);
    if (!server || !row || server.workspaceId !== st.workspaceId || row.workspaceId !== st.workspaceId)
      return await refuse("server_moved", st.workspaceId);
    if (server.url !== st.resource || row.issuer !== st.issuer || row.clientId !== st.clientId || !row.tokenEndpoint) {
      return await refuse("config_changed", st.workspaceId);
    }
    const owner = await ctx.db.get("owners", st.ownerId);
    const m = await ctx.db
      .query("memberships")
      .withIndex("by_owner_workspace", (q) => q.eq("ownerId", st.ownerId).eq("workspaceId", st.workspaceId))
      .first();
    if (!owner || !owner.active || !m || m.active === false || m.role === "viewer")
      return await refuse("owner_not_allowed", st.workspaceId);
    return {
      ok: true as const,
      serverId: st.serverId,
      workspaceId: st.workspaceId,
      ownerId: st.ownerId,
      serverName: server.name,
      verifier: { ciphertext: st.verifierCiphertext, keyVersion: st.verifierKeyVersion },
      issuer: st.issuer,
      tokenEndpoint: row.tokenEndpoint,
      tokenAuthMethods: row.tokenAuthMethods,
      clientId: st.clientId,
      redirectUri: st.redirectUri,
      resource: st.resource,
      tokenVersion: row.tokenVersion,
    };
  },
});

const tokenInfoView = v.object({
  workspaceId: v.id("workspaces"),
  status: v.string(),
  url: v.string(),
  issuer: v.optional(v.string()),
  tokenEndpoint: v.optional(v.string()),
  tokenAuthMethods: v.optional(v.array(v.string())),
  clientId: v.optional(v.string()),
  resource: v.optional(v.string()),
  accessExpiresAt: v.optional(v.number()),
  tokenVersion: v.number(),
  refreshingUntil: v.optional(v.number()),
});

/** null: the server does not use OAuth. */
export const tokenInfo = internalQuery({
  args: { serverId: v.id("mcpServers") },
  returns: v.union(tokenInfoView, v.null()),
  handler: async (ctx, { serverId }) => {
    const server = await ctx.db.get("mcpServers", serverId);
    const row = await authRow(ctx, serverId);
    if (!server || !row) return null;
    return {
      workspaceId: server.workspaceId,
      status: row.status,
      url: server.url,
      issuer: row.issuer,
      tokenEndpoint: row.tokenEndpoint,
      tokenAuthMethods: row.tokenAuthMethods,
      clientId: row.clientId,
      resource: row.resource,
      accessExpiresAt: row.accessExpiresAt,
      tokenVersion: row.tokenVersion,
      refreshingUntil: row.refreshingUntil,
    };
  },
});

/**
 * Writes freshly issued tokens (sealed by the caller). `fromVersion`: only if nobody wrote tokens
 * since (a refresh); `connect`: a code exchange (audited, status → connected).
 */
export const storeTokens = internalMutation({
  args: {
    serverId: v.id("mcpServers"),
    fromVersion: v.number(),
    resource: v.string(),
    access: sealed,
    refresh: v.optional(sealed),
    expiresAt: v.optional(v.number()),
    connect: v.optional(v.object({ ownerId: v.id("owners") })),
  },
  returns: v.boolean(),
  handler: async (ctx, a) => {
    const server = await ctx.db.get("mcpServers", a.serverId);
    const row = await authRow(ctx, a.serverId);
    if (!server || !row || server.url !== a.resource) return false;
    if (!a.connect && (row.tokenVersion !== a.fromVersion || row.status !== "connected")) return false;
    await putSecret(ctx, server, OAUTH_SECRET.access, a.access);
    if (a.refresh) await putSecret(ctx, server, OAUTH_SECRET.refresh, a.refresh);
    else if (a.connect) {
      const stale = await findSecret(ctx.db, "mcpServerSecrets", server._id, OAUTH_SECRET.refresh);
      if (stale) await ctx.db.delete("mcpServerSecrets", stale._id as Id<"mcpServerSecrets">);
    }
    const now = Date.now();
    await ctx.db.patch("mcpUpstreamAuth", row._id, {
      status: "connected",
      resource: a.resource,
      accessExpiresAt: a.expiresAt,
      tokenVersion: row.tokenVersion + 1,
      refreshingUntil: undefined,
      ...(a.connect ? { connectedAt: now, connectedBy: a.connect.ownerId } : { lastRefreshAt: now }),
      updatedAt: now,
    });
    if (a.connect) {
      // the tools are listed at once with the new token (an approved server only)
      if (server.status === "approved")
        await ctx.scheduler.runAfter(0, internal.mcp.outbound.client.refreshTools, { serverId: server._id });
      const owner = await ctx.db.get("owners", a.connect.ownerId);
      await writeAudit(ctx, {
        workspaceId: server.workspaceId,
        actorId: a.connect.ownerId,
        actorLabel: owner?.ownerKey ?? "owner",
        action: "mcp.server.oauth.connect",
        target: server.name,
        before: { status: row.status },
        after: { status: "connected", issuer: row.issuer },
      });
    }
    return true;
  },
});

/** One refresher per token version; others wait for the new version. */
export const claimRefresh = internalMutation({
  args: { serverId: v.id("mcpServers"), version: v.number() },
  returns: v.boolean(),
  handler: async (ctx, { serverId, version }) => {
    const row = await authRow(ctx, serverId);
    const now = Date.now();
    if (!row || row.status !== "connected" || row.tokenVersion !== version) return false;
    if (row.refreshingUntil !== undefined && row.refreshingUntil > now) return false;
    await ctx.db.patch("mcpUpstreamAuth", row._id, { refreshingUntil: now + REFRESH_CLAIM_MS });
    return true;
  },
});

export const releaseRefresh = internalMutation({
  args: { serverId: v.id("mcpServers"), version: v.number() },
  returns: v.null(),
  handler: async (ctx, { serverId, version }) => {
    const row = await authRow(ctx, serverId);
    if (row && row.tokenVersion === version)
      await ctx.db.patch("mcpUpstreamAuth", row._id, { refreshingUntil: undefined });
    return null;
  },
});

/**
 * The authorization server refused the refresh token (invalid_grant / unauthorized_client): the
 * grant is gone. Tokens deleted, server disabled (re-enabling is an owner action, after Connect),
 * security event + notification.
 */
export const markRevoked = internalMutation({
  args: { serverId: v.id("mcpServers"), version: v.number() },
  returns: v.null(),
  handler: async (ctx, { serverId, version }) => {
    const server = await ctx.db.get("mcpServers", serverId);
    const row = await authRow(ctx, serverId);
    if (!server || !row || row.tokenVersion !== version || row.status !== "connected") return null;
    const now = Date.now();
    await deleteTokens(ctx, serverId);
    await ctx.db.patch("mcpUpstreamAuth", row._id, {
      status: "revoked",
      accessExpiresAt: undefined,
      tokenVersion: row.tokenVersion + 1,
      refreshingUntil: undefined,
      updatedAt: now,
    });
    if (server.status === "approved") {
      await ctx.db.patch("mcpServers", serverId, {
        status: "disabled",
        enabled: false,
        disabledReason: "oauth_revoked",
        lastErrorCode: "MCP_OAUTH_REVOKED",
        updatedAt: now,
      });
    }
    await recordSecurityEvent(ctx, {
      workspaceId: server.workspaceId,
      code: "MCP_OAUTH_REVOKED",
      category: "mcp",
      source: `mcpServer:${serverId}`,
      detail: `server=${server.name}`,
    });
    await notify(
      ctx,
      {
        workspaceId: server.workspaceId,
        kind: "mcp_oauth_revoked",
        title: `MCP server "${server.name}" lost its OAuth authorization`,
        body: "The upstream authorization server refused to renew Warden's access (the grant was revoked or expired). The server is disabled. Connect it again, then enable it.",
      },
      now,
    );
    await writeAudit(ctx, {
      workspaceId: server.workspaceId,
      actorLabel: "system",
      action: "mcp.server.oauth.revoked",
      target: server.name,
      before: { status: server.status, enabled: server.enabled },
      after: { status: "disabled", enabled: false, disabledReason: "oauth_revoked" },
    });
    return null;
  },
});

/** A deleted server's OAuth row and pending states (its tokens go with its secrets). */
export const purgeServer = internalMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const row = await authRow(ctx, serverId);
    if (row) await ctx.db.delete("mcpUpstreamAuth", row._id);
    const states = await ctx.db
      .query("mcpUpstreamAuthStates")
      .withIndex("by_expiresAt", (q) => q.gt("expiresAt", Date.now() - STATE_TTL_MS))
      .take(200);
    for (const s of states) if (s.serverId === serverId) await ctx.db.delete("mcpUpstreamAuthStates", s._id);
    return null;
  },
});
