/**
 * Warden's built-in OAuth 2.1 authorization server for its own /mcp (the HTTP side is
 * oauthRoutes.ts). Public clients only (no client secrets): registration by RFC 7591, authorization
 * code + PKCE S256, a consent page in SyncBoard where a signed-in owner picks the workspace's tool
 * scopes, audience-bound short-lived access tokens and rotating refresh tokens, all stored hashed.
 *
 * A consent creates a code; the code's exchange creates the grant — an `mcpClientTokens` row with
 * `oauthClientId` set, never presented as a bearer itself. Access tokens resolve to that row in
 * sessions.ts:admit, so /mcp applies the same scopes, limits, sessions and checker to OAuth clients
 * and to static owner-minted tokens. Revoking the grant (SyncBoard, RFC 7009 with a refresh token,
 * or replay of a used code or a rotated refresh token) ends every token of the chain and its sessions.
 *
 * Audit: consent approve/deny, token issuance and revocations go to the workspace's audit log;
 * replays and bad exchanges are security events; registrations are rows with a pseudonymous source.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx, type QueryCtx } from "../../_generated/server";
import type { Doc, Id } from "../../_generated/dataModel";
import { ownerMutation, ownerQuery, viewerQuery } from "../../access/builders";
import { fail, getOwned } from "../../access/principal";
import { writeAudit } from "../../audit/log";
import { enforceLimit } from "../../limits/enforce";
import { pseudonymSecret, recordSecurityEvent } from "../../security/events";
import { minimizeSource } from "../../lib/pseudonym";
import { randomToken, sha256Hex } from "../../lib/tokens";
import {
  ACCESS_TOKEN_MS,
  CODE_MS,
  GRANT_MS,
  MAX_CLIENT_NAME,
  MAX_REDIRECT_URIS,
  MAX_STATE_LENGTH,
  OAUTH_PREFIX,
  REFRESH_TOKEN_MS,
  REQUEST_MS,
  checkRedirectUri,
  isChallengeShape,
  isLoopbackRedirect,
  isOAuthShape,
  issuerUrl,
  redirectUriMatches,
  redirectWith,
  verifyPkce,
} from "../../lib/oauth";
import { TOKEN_PREFIX_CHARS, mcpResourceUrl } from "../protocol";
import { resolveScopes, skillChoices, upstreamChoicesFor } from "./tokens";
import type { Code } from "../../lib/codes";

const MAX_GRANTS_LISTED = 200;
const PRUNE_BATCH = 200;
/** Used codes and spent refresh tokens are kept this long past expiry, so a replay is recognized. */
const KEEP_AFTER_EXPIRY_MS = 24 * 3600 * 1000;

type Refusal = { ok: false; status: number; error: string; description?: string; retryAfterMs?: number };
const refusalValidator = v.object({
  ok: v.literal(false),
  status: v.number(),
  error: v.string(),
  description: v.optional(v.string()),
  retryAfterMs: v.optional(v.number()),
});
const refuse = (status: number, error: string, description?: string): Refusal => ({
  ok: false,
  status,
  error,
  ...(description ? { description } : {}),
});

async function ipTag(ip: string): Promise<string> {
  return await minimizeSource(`ip:${ip.slice(0, 64)}`, pseudonymSecret());
}

/** The per-IP budget for /oauth/authorize, /oauth/token and /oauth/revoke (fails closed). */
async function perIp(ctx: MutationCtx, ip: string): Promise<Refusal | null> {
  const r = await enforceLimit(ctx, {
    name: "oauthPerIp",
    key: `ip:${ip.slice(0, 64)}`,
    category: "oauth",
    source: `ip:${ip.slice(0, 64)}`,
  });
  return r.ok
    ? null
    : {
        ok: false,
        status: r.code === "RATE_LIMITED" ? 429 : 503,
        error: r.code === "RATE_LIMITED" ? "slow_down" : "temporarily_unavailable",
        retryAfterMs: r.retryAfterMs,
      };
}

async function clientByPublicId(ctx: MutationCtx, clientId: string) {
  if (!isOAuthShape("client", clientId)) return null;
  return await ctx.db
    .query("oauthClients")
    .withIndex("by_clientId", (q) => q.eq("clientId", clientId))
    .unique();
}

async function event(ctx: MutationCtx, code: Code, detail: string, ip: string, workspaceId?: Id<"workspaces">) {
  await recordSecurityEvent(ctx, {
    workspaceId,
    code,
    category: "oauth",
    source: `ip:${ip.slice(0, 64)}`,
    detail: `oauth: ${detail}; ip=${ip.slice(0, 64)}`,
  });
}

// ---------------------------------------------------------------------------------------------
// registration (RFC 7591)

export const register = internalMutation({
  args: { ip: v.string(), metadata: v.any() },
  returns: v.union(
    v.object({
      ok: v.literal(true),
      client_id: v.string(),
      client_name: v.string(),
      redirect_uris: v.array(v.string()),
      client_id_issued_at: v.number(),
    }),
    refusalValidator,
  ),
  handler: async (ctx, { ip, metadata }) => {
    // Counted before anything else: a flood of invalid registrations spends the budget too.
    const limited = await enforceLimit(ctx, {
      name: "oauthRegisterPerIp",
      key: `ip:${ip.slice(0, 64)}`,
      category: "oauth",
      source: `ip:${ip.slice(0, 64)}`,
    });
    if (!limited.ok) {
      return {
        ok: false as const,
        status: limited.code === "RATE_LIMITED" ? 429 : 503,
        error: limited.code === "RATE_LIMITED" ? "slow_down" : "temporarily_unavailable",
        retryAfterMs: limited.retryAfterMs,
      };
    }
    const m =
      metadata && typeof metadata === "object" && !Array.isArray(metadata)
        ? (metadata as Record<string, unknown>)
        : null;
    if (!m) return refuse(400, "invalid_client_metadata");
    const uris = m.redirect_uris;
    if (!Array.isArray(uris) || uris.length === 0 || uris.length > MAX_REDIRECT_URIS)
      return refuse(400, "invalid_redirect_uri", "1 to 5 redirect_uris");
    const redirectUris: string[] = [];
    for (const u of uris) {
      const c = checkRedirectUri(u);
      if (!c.ok) return refuse(400, "invalid_redirect_uri", "https, or http on a loopback host; no fragment");
      if (!redirectUris.includes(c.uri)) redirectUris.push(c.uri);
    }
    // Public clients only: the authorization code grant (+ refresh), response type code, no secret.
    const grants = m.grant_types === undefined ? ["authorization_code"] : m.grant_types;
    if (
      !Array.isArray(grants) ||
      !grants.every((g) => g === "authorization_code" || g === "refresh_token") ||
      !grants.includes("authorization_code")
    ) {
      return refuse(400, "invalid_client_metadata", "grant_types: authorization_code, refresh_token");
    }
    const responses = m.response_types === undefined ? ["code"] : m.response_types;
    if (!Array.isArray(responses) || !responses.every((r) => r === "code"))
      return refuse(400, "invalid_client_metadata", "response_types: code");
    const rawName = typeof m.client_name === "string" ? m.client_name : "";
    const clientName =
      rawName
        // eslint-disable-next-line no-control-regex
        .replace(/[\u0000-\u001f\u007f<>]/g, "")
        .trim()
        .slice(0, MAX_CLIENT_NAME) || "Unnamed MCP client";
    const now = Date.now();
    const clientId = randomToken(OAUTH_PREFIX.client, 32);
    await ctx.db.insert("oauthClients", {
      clientId,
      clientName,
      redirectUris,
      sourceTag: await ipTag(ip),
      createdAt: now,
    });
    return {
      ok: true as const,
      client_id: clientId,
      client_name: clientName,
      redirect_uris: redirectUris,
      client_id_issued_at: Math.floor(now / 1000),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// authorization request (/oauth/authorize)

export const startAuthorization = internalMutation({
  args: {
    ip: v.string(),
    audience: v.string(),
    clientId: v.string(),
    redirectUri: v.string(),
    responseType: v.string(),
    codeChallenge: v.string(),
    codeChallengeMethod: v.string(),
    resource: v.optional(v.string()),
    state: v.optional(v.string()),
  },
  returns: v.union(
    v.object({ ok: v.literal(true), requestId: v.string() }),
    // redirect: the error goes back to the (verified) redirect URI; otherwise it is shown here
    v.object({
      ok: v.literal(false),
      status: v.number(),
      error: v.string(),
      description: v.optional(v.string()),
      redirect: v.optional(v.string()),
      retryAfterMs: v.optional(v.number()),
    }),
  ),
  handler: async (ctx, a) => {
    const limited = await perIp(ctx, a.ip);
    if (limited) return limited;
    const client = await clientByPublicId(ctx, a.clientId);
    if (!client) return refuse(400, "invalid_client", "unknown client_id");
    // The redirect URI is checked before any error is sent to it.
    if (!redirectUriMatches(client.redirectUris, a.redirectUri)) {
      await event(
        ctx,
        "OAUTH_REQUEST_INVALID",
        `redirect_uri not registered for client ${client.clientId.slice(0, TOKEN_PREFIX_CHARS)}`,
        a.ip,
      );
      return refuse(400, "invalid_request", "redirect_uri does not match a registered one");
    }
    const back = (error: string, description: string) => ({
      ok: false as const,
      status: 302,
      error,
      description,
      redirect: redirectWith(a.redirectUri, {
        error,
        error_description: description,
        state: a.state,
        iss: issuerUrl(process.env) ?? undefined,
      }),
    });
    if (a.responseType !== "code") return back("unsupported_response_type", "only response_type=code");
    // PKCE is mandatory and only S256: plain (or none) is refused.
    if (a.codeChallengeMethod !== "S256") return back("invalid_request", "code_challenge_method must be S256");
    if (!isChallengeShape(a.codeChallenge))
      return back("invalid_request", "code_challenge must be a base64url SHA-256");
    if (a.resource !== undefined && a.resource !== a.audience)
      return back("invalid_target", "resource must be this server's /mcp URL");
    if (a.state !== undefined && a.state.length > MAX_STATE_LENGTH) return back("invalid_request", "state too long");
    const requestId = randomToken(OAUTH_PREFIX.request, 32);
    const now = Date.now();
    await ctx.db.insert("oauthRequests", {
      requestIdHash: await sha256Hex(requestId),
      clientRef: client._id,
      redirectUri: a.redirectUri,
      codeChallenge: a.codeChallenge,
      ...(a.state !== undefined ? { state: a.state } : {}),
      resource: a.audience,
      createdAt: now,
      expiresAt: now + REQUEST_MS,
    });
    return { ok: true as const, requestId };
  },
});

async function pendingRequest(ctx: { db: QueryCtx["db"] }, requestId: string) {
  if (!isOAuthShape("request", requestId)) return null;
  const hash = await sha256Hex(requestId);
  return await ctx.db
    .query("oauthRequests")
    .withIndex("by_hash", (q) => q.eq("requestIdHash", hash))
    .unique();
}

const consentView = v.object({
  clientName: v.string(),
  clientId: v.string(),
  redirectUri: v.string(),
  redirectOrigin: v.string(),
  loopback: v.boolean(),
  resource: v.string(),
  expiresAt: v.number(),
  workspaceName: v.string(),
  skills: v.array(v.object({ name: v.string(), description: v.string() })),
  upstream: v.array(v.object({ scope: v.string(), exposedName: v.string(), description: v.string() })),
});

/** The consent page's data: who asks, where the code goes, and the workspace's tools to pick from. */
export const consentRequest = ownerQuery({
  args: { requestId: v.string() },
  returns: v.union(
    consentView,
    v.object({ invalid: v.union(v.literal("unknown"), v.literal("expired"), v.literal("decided")) }),
  ),
  handler: async (ctx, { requestId }) => {
    const req = await pendingRequest(ctx, requestId);
    if (!req) return { invalid: "unknown" as const };
    if (req.decidedAt !== undefined) return { invalid: "decided" as const };
    if (req.expiresAt <= Date.now()) return { invalid: "expired" as const };
    const client = await ctx.db.get("oauthClients", req.clientRef);
    if (!client) return { invalid: "unknown" as const };
    const ws = await ctx.db.get("workspaces", ctx.principal.workspaceId);
    return {
      clientName: client.clientName,
      clientId: client.clientId,
      redirectUri: req.redirectUri,
      redirectOrigin: new URL(req.redirectUri).origin,
      loopback: isLoopbackRedirect(req.redirectUri),
      resource: req.resource,
      expiresAt: req.expiresAt,
      workspaceName: ws?.name || "Workspace",
      skills: await skillChoices(ctx, ctx.principal.workspaceId),
      upstream: (await upstreamChoicesFor(ctx, ctx.principal.workspaceId)).map((u) => ({
        scope: u.scope,
        exposedName: u.exposedName,
        description: u.description,
      })),
    };
  },
});

async function decidable(ctx: MutationCtx, requestId: string) {
  const req = await pendingRequest(ctx, requestId);
  if (!req || req.decidedAt !== undefined) fail("OAUTH_REQUEST_INVALID");
  if (req.expiresAt <= Date.now()) fail("OAUTH_REQUEST_INVALID", { reason: "expired" });
  const client = await ctx.db.get("oauthClients", req.clientRef);
  if (!client) fail("OAUTH_REQUEST_INVALID");
  return { req, client };
}

/** The owner approves: a single-use code for the scopes picked, sent back to the client's redirect URI. */
export const approve = ownerMutation({
  args: { requestId: v.string(), toolScopes: v.array(v.string()) },
  returns: v.object({ redirectTo: v.string() }),
  handler: async (ctx, a) => {
    const p = ctx.principal;
    const { req, client } = await decidable(ctx, a.requestId);
    const { toolScopes, upstreamScopes } = await resolveScopes(ctx, p.workspaceId, a.toolScopes);
    const now = Date.now();
    await ctx.db.patch("oauthRequests", req._id, { decidedAt: now });
    const code = randomToken(OAUTH_PREFIX.code, 32);
    await ctx.db.insert("oauthCodes", {
      codeHash: await sha256Hex(code),
      clientRef: client._id,
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      resource: req.resource,
      workspaceId: p.workspaceId,
      ownerId: p.ownerId,
      toolScopes,
      ...(upstreamScopes.length ? { upstreamScopes } : {}),
      createdAt: now,
      expiresAt: now + CODE_MS,
    });
    await writeAudit(ctx, {
      workspaceId: p.workspaceId,
      actorId: p.ownerId,
      actorLabel: p.ownerKey,
      action: "mcp.oauth.approve",
      target: `${client.clientName} (${client.clientId.slice(0, TOKEN_PREFIX_CHARS)}…)`,
      after: {
        client: client.clientName,
        redirect: new URL(req.redirectUri).origin,
        scopes: toolScopes.join(",").slice(0, 200),
        resource: req.resource,
      },
    });
    return {
      redirectTo: redirectWith(req.redirectUri, { code, state: req.state, iss: issuerUrl(process.env) ?? undefined }),
    };
  },
});

export const deny = ownerMutation({
  args: { requestId: v.string() },
  returns: v.object({ redirectTo: v.string() }),
  handler: async (ctx, a) => {
    const p = ctx.principal;
    const { req, client } = await decidable(ctx, a.requestId);
    await ctx.db.patch("oauthRequests", req._id, { decidedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: p.workspaceId,
      actorId: p.ownerId,
      actorLabel: p.ownerKey,
      action: "mcp.oauth.deny",
      target: `${client.clientName} (${client.clientId.slice(0, TOKEN_PREFIX_CHARS)}…)`,
    });
    return {
      redirectTo: redirectWith(req.redirectUri, {
        error: "access_denied",
        error_description: "the owner denied the request",
        state: req.state,
        iss: issuerUrl(process.env) ?? undefined,
      }),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// token endpoint

const tokenResult = v.union(
  v.object({
    ok: v.literal(true),
    access_token: v.string(),
    token_type: v.literal("Bearer"),
    expires_in: v.number(),
    refresh_token: v.string(),
    scope: v.string(),
  }),
  refusalValidator,
);

async function issuePair(ctx: MutationCtx, grant: Doc<"mcpClientTokens">, clientRef: Id<"oauthClients">, now: number) {
  const access = randomToken(OAUTH_PREFIX.access, 32);
  const refresh = randomToken(OAUTH_PREFIX.refresh, 32);
  const accessExpires = Math.min(now + ACCESS_TOKEN_MS, grant.expiresAt);
  await ctx.db.insert("oauthTokens", {
    tokenHash: await sha256Hex(access),
    kind: "access",
    grantId: grant._id,
    workspaceId: grant.workspaceId,
    clientRef,
    createdAt: now,
    expiresAt: accessExpires,
  });
  await ctx.db.insert("oauthTokens", {
    tokenHash: await sha256Hex(refresh),
    kind: "refresh",
    grantId: grant._id,
    workspaceId: grant.workspaceId,
    clientRef,
    createdAt: now,
    expiresAt: Math.min(now + REFRESH_TOKEN_MS, grant.expiresAt),
  });
  return {
    ok: true as const,
    access_token: access,
    token_type: "Bearer" as const,
    expires_in: Math.max(1, Math.floor((accessExpires - now) / 1000)),
    refresh_token: refresh,
    scope: grant.toolScopes.join(" "),
  };
}

/** Ends a grant: the grant row, every token of its chain, and its open /mcp sessions. */
export async function revokeGrant(
  ctx: MutationCtx,
  grant: Doc<"mcpClientTokens">,
  reason: string,
  actor: { actorId?: Id<"owners">; actorLabel: string },
): Promise<void> {
  const now = Date.now();
  if (grant.revokedAt === undefined)
    await ctx.db.patch("mcpClientTokens", grant._id, { revokedAt: now, revokedReason: reason });
  const tokens = await ctx.db
    .query("oauthTokens")
    .withIndex("by_grant", (q) => q.eq("grantId", grant._id))
    .take(1000);
  for (const t of tokens) if (t.revokedAt === undefined) await ctx.db.patch("oauthTokens", t._id, { revokedAt: now });
  const open = await ctx.db
    .query("mcpSessions")
    .withIndex("by_client_closed", (q) => q.eq("clientTokenId", grant._id).eq("closedAt", undefined))
    .take(200);
  for (const s of open) await ctx.db.patch("mcpSessions", s._id, { closedAt: now });
  await writeAudit(ctx, {
    workspaceId: grant.workspaceId,
    ...actor,
    action: "mcp.oauth.revoke",
    target: `${grant.name} (${grant.prefix}…)`,
    before: { revoked: grant.revokedAt !== undefined },
    after: { revoked: true, reason },
  });
}

export const exchangeCode = internalMutation({
  args: {
    ip: v.string(),
    audience: v.string(),
    clientId: v.string(),
    code: v.string(),
    codeVerifier: v.string(),
    redirectUri: v.string(),
    resource: v.optional(v.string()),
  },
  returns: tokenResult,
  handler: async (ctx, a) => {
    const limited = await perIp(ctx, a.ip);
    if (limited) return limited;
    const client = await clientByPublicId(ctx, a.clientId);
    if (!client) return refuse(401, "invalid_client");
    if (!isOAuthShape("code", a.code)) return refuse(400, "invalid_grant");
    const codeHash = await sha256Hex(a.code);
    const code = await ctx.db
      .query("oauthCodes")
      .withIndex("by_hash", (q) => q.eq("codeHash", codeHash))
      .unique();
    if (!code) return refuse(400, "invalid_grant");
    if (code.clientRef !== client._id) {
      await event(ctx, "OAUTH_GRANT_INVALID", "code presented by another client", a.ip, code.workspaceId);
      return refuse(400, "invalid_grant");
    }
    const now = Date.now();
    if (code.usedAt !== undefined) {
      // RFC 6749 §4.1.2: a code used twice revokes what was issued from it.
      const grant = code.grantId ? await ctx.db.get("mcpClientTokens", code.grantId) : null;
      if (grant) await revokeGrant(ctx, grant, "code_reuse", { actorLabel: "oauth: code replay" });
      await event(
        ctx,
        "OAUTH_GRANT_REPLAYED",
        `authorization code used again; grant ${grant ? "revoked" : "not issued"}`,
        a.ip,
        code.workspaceId,
      );
      return refuse(400, "invalid_grant");
    }
    // Spent by this attempt whatever its outcome: a code allows one try.
    await ctx.db.patch("oauthCodes", code._id, { usedAt: now });
    if (code.expiresAt <= now) return refuse(400, "invalid_grant", "code expired");
    if (code.redirectUri !== a.redirectUri) {
      await event(
        ctx,
        "OAUTH_GRANT_INVALID",
        "redirect_uri differs from the authorization request",
        a.ip,
        code.workspaceId,
      );
      return refuse(400, "invalid_grant");
    }
    if ((a.resource !== undefined && a.resource !== code.resource) || code.resource !== a.audience)
      return refuse(400, "invalid_target");
    if (!(await verifyPkce(a.codeVerifier, code.codeChallenge))) {
      await event(ctx, "OAUTH_GRANT_INVALID", "PKCE code_verifier does not match", a.ip, code.workspaceId);
      return refuse(400, "invalid_grant");
    }
    const grantId = await ctx.db.insert("mcpClientTokens", {
      workspaceId: code.workspaceId,
      name: client.clientName.slice(0, 64),
      // No bearer hashes to this: the grant is reached only through its access tokens.
      tokenHash: await sha256Hex(randomToken("wdn_grant_", 32)),
      prefix: client.clientId.slice(0, TOKEN_PREFIX_CHARS),
      toolScopes: code.toolScopes,
      ...(code.upstreamScopes ? { upstreamScopes: code.upstreamScopes } : {}),
      audience: code.resource,
      expiresAt: now + GRANT_MS,
      createdBy: code.ownerId,
      createdAt: now,
      oauthClientId: client._id,
    });
    await ctx.db.patch("oauthCodes", code._id, { grantId });
    await ctx.db.patch("oauthClients", client._id, { lastUsedAt: now });
    const grant = (await ctx.db.get("mcpClientTokens", grantId))!;
    await writeAudit(ctx, {
      workspaceId: code.workspaceId,
      actorLabel: `oauth:${client.clientId.slice(0, TOKEN_PREFIX_CHARS)}`,
      action: "mcp.oauth.grant",
      target: `${client.clientName} (${grant.prefix}…)`,
      after: { scopes: code.toolScopes.join(",").slice(0, 200), audience: code.resource, expiresAt: grant.expiresAt },
    });
    return await issuePair(ctx, grant, client._id, now);
  },
});

export const refresh = internalMutation({
  args: {
    ip: v.string(),
    audience: v.string(),
    clientId: v.string(),
    refreshToken: v.string(),
    resource: v.optional(v.string()),
  },
  returns: tokenResult,
  handler: async (ctx, a) => {
    const limited = await perIp(ctx, a.ip);
    if (limited) return limited;
    const client = await clientByPublicId(ctx, a.clientId);
    if (!client) return refuse(401, "invalid_client");
    if (!isOAuthShape("refresh", a.refreshToken)) return refuse(400, "invalid_grant");
    const hash = await sha256Hex(a.refreshToken);
    const row = await ctx.db
      .query("oauthTokens")
      .withIndex("by_hash", (q) => q.eq("tokenHash", hash))
      .unique();
    if (!row || row.kind !== "refresh") return refuse(400, "invalid_grant");
    if (row.clientRef !== client._id) {
      await event(ctx, "OAUTH_GRANT_INVALID", "refresh token presented by another client", a.ip, row.workspaceId);
      return refuse(400, "invalid_grant");
    }
    const grant = await ctx.db.get("mcpClientTokens", row.grantId);
    if (!grant || grant.revokedAt !== undefined) return refuse(400, "invalid_grant");
    const now = Date.now();
    if (row.rotatedAt !== undefined) {
      // A rotated refresh token came back: someone holds a copy. End the whole chain.
      await revokeGrant(ctx, grant, "refresh_reuse", { actorLabel: "oauth: refresh replay" });
      await event(
        ctx,
        "OAUTH_GRANT_REPLAYED",
        `rotated refresh token used again; grant ${grant.prefix} revoked`,
        a.ip,
        grant.workspaceId,
      );
      return refuse(400, "invalid_grant");
    }
    if (row.revokedAt !== undefined || row.expiresAt <= now || grant.expiresAt <= now)
      return refuse(400, "invalid_grant");
    if ((a.resource !== undefined && a.resource !== grant.audience) || grant.audience !== a.audience)
      return refuse(400, "invalid_target");
    await ctx.db.patch("oauthTokens", row._id, { rotatedAt: now });
    await ctx.db.patch("oauthClients", client._id, { lastUsedAt: now });
    return await issuePair(ctx, grant, client._id, now);
  },
});

/** RFC 7009: always "ok" to the caller; a refresh token ends its grant, an access token only itself. */
export const revokeToken = internalMutation({
  args: { ip: v.string(), clientId: v.optional(v.string()), token: v.string() },
  returns: v.union(v.object({ ok: v.literal(true) }), refusalValidator),
  handler: async (ctx, a) => {
    const limited = await perIp(ctx, a.ip);
    if (limited) return limited;
    if (!isOAuthShape("access", a.token) && !isOAuthShape("refresh", a.token)) return { ok: true as const };
    const hash = await sha256Hex(a.token);
    const row = await ctx.db
      .query("oauthTokens")
      .withIndex("by_hash", (q) => q.eq("tokenHash", hash))
      .unique();
    if (!row) return { ok: true as const };
    const client = await ctx.db.get("oauthClients", row.clientRef);
    // A client may revoke only its own tokens (when it names itself, it must be the owner of the token).
    if (!client || (a.clientId !== undefined && a.clientId !== client.clientId)) return { ok: true as const };
    const grant = await ctx.db.get("mcpClientTokens", row.grantId);
    if (!grant) return { ok: true as const };
    if (row.kind === "refresh")
      await revokeGrant(ctx, grant, "client", { actorLabel: `oauth:${client.clientId.slice(0, TOKEN_PREFIX_CHARS)}` });
    else if (row.revokedAt === undefined) {
      await ctx.db.patch("oauthTokens", row._id, { revokedAt: Date.now() });
      await writeAudit(ctx, {
        workspaceId: grant.workspaceId,
        actorLabel: `oauth:${client.clientId.slice(0, TOKEN_PREFIX_CHARS)}`,
        action: "mcp.oauth.revoke_access_token",
        target: `${grant.name} (${grant.prefix}…)`,
      });
    }
    return { ok: true as const };
  },
});

// ---------------------------------------------------------------------------------------------
// SyncBoard: grants next to static tokens

/** What SyncBoard's connection snippets need: this deployment's /mcp URL and the issuer. */
export const connectInfo = viewerQuery({
  args: {},
  returns: v.object({ mcpUrl: v.union(v.string(), v.null()), issuer: v.union(v.string(), v.null()) }),
  handler: async () => ({ mcpUrl: mcpResourceUrl(process.env), issuer: issuerUrl(process.env) }),
});

export const listGrants = viewerQuery({
  args: {},
  returns: v.array(
    v.object({
      _id: v.id("mcpClientTokens"),
      clientName: v.string(),
      clientId: v.string(),
      redirectOrigins: v.array(v.string()),
      toolScopes: v.array(v.string()),
      approvedBy: v.optional(v.string()),
      createdAt: v.number(),
      expiresAt: v.number(),
      lastUsedAt: v.optional(v.number()),
      revoked: v.boolean(),
      revokedReason: v.optional(v.string()),
    }),
  ),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("mcpClientTokens")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .order("desc")
      .take(MAX_GRANTS_LISTED * 2);
    const out = [];
    for (const r of rows) {
      if (!r.oauthClientId) continue;
      const client = await ctx.db.get("oauthClients", r.oauthClientId);
      const owner = r.createdBy ? await ctx.db.get("owners", r.createdBy) : null;
      out.push({
        _id: r._id,
        clientName: r.name,
        clientId: client?.clientId.slice(0, TOKEN_PREFIX_CHARS) ?? r.prefix,
        redirectOrigins: [...new Set((client?.redirectUris ?? []).map((u) => new URL(u).origin))],
        toolScopes: r.toolScopes,
        approvedBy: owner?.ownerKey,
        createdAt: r.createdAt,
        expiresAt: r.expiresAt,
        lastUsedAt: r.lastUsedAt,
        revoked: r.revokedAt !== undefined,
        revokedReason: r.revokedReason,
      });
      if (out.length >= MAX_GRANTS_LISTED) break;
    }
    return out;
  },
});

export const revokeGrantByOwner = ownerMutation({
  args: { grantId: v.id("mcpClientTokens") },
  returns: v.null(),
  handler: async (ctx, { grantId }) => {
    const grant = await getOwned(await ctx.db.get("mcpClientTokens", grantId), ctx.principal);
    if (!grant.oauthClientId) fail("NOT_FOUND");
    if (grant.revokedAt !== undefined) return null;
    await revokeGrant(ctx, grant, "owner", { actorId: ctx.principal.ownerId, actorLabel: ctx.principal.ownerKey });
    return null;
  },
});

/** Bounded housekeeping (health cron): expired requests, old codes and tokens past their replay window. */
export const pruneOAuth = internalMutation({
  args: {},
  returns: v.object({ deleted: v.number() }),
  handler: async (ctx) => {
    const now = Date.now();
    let deleted = 0;
    const reqs = await ctx.db
      .query("oauthRequests")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", now))
      .take(PRUNE_BATCH);
    for (const r of reqs) await ctx.db.delete("oauthRequests", r._id);
    const codes = await ctx.db
      .query("oauthCodes")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", now - KEEP_AFTER_EXPIRY_MS))
      .take(PRUNE_BATCH);
    for (const c of codes) await ctx.db.delete("oauthCodes", c._id);
    const tokens = await ctx.db
      .query("oauthTokens")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", now - KEEP_AFTER_EXPIRY_MS))
      .take(PRUNE_BATCH);
    for (const t of tokens) await ctx.db.delete("oauthTokens", t._id);
    deleted = reqs.length + codes.length + tokens.length;
    return { deleted };
  },
});
