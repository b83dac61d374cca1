"use node";
/**
 * OAuth 2.1 to upstream MCP servers: the network side. Every request to the MCP server and to its
 * authorization server (AS) goes through safeFetch (`asFetch` below): https only, the request's
 * own host as the only allowlist entry, every resolved address vetted (public only; loopback only
 * under the test override), no redirects, 64 KiB cap, one deadline. The MCP SDK's client auth
 * helpers do the protocol work with that fetch:
 *   connect  (admin action, SyncBoard's Connect button): probe the server (401 + WWW-Authenticate
 *            resource_metadata) → RFC 9728 protected-resource metadata (its `resource` must be this
 *            server's URL) → RFC 8414 / OIDC AS metadata (issuer = the advertised AS, https
 *            endpoints, PKCE S256 supported) → pre-registered client id, or RFC 7591 registration
 *            (public client, redirect URI = <public base>/oauth/upstream/callback) → PKCE S256 +
 *            state → the authorization URL the browser opens.
 *   exchangeCode  (the callback route): state spent and checked (upstreamAuth:consumeState), code +
 *            verifier + resource (RFC 8707: the server URL) exchanged at the stored token endpoint.
 *   upstreamBearer  (client.ts, before every MCP request): the access token, refreshed first when
 *            it is expired (or when the server answered 401), the rotated refresh token stored again;
 *            a refused refresh (invalid_grant, unauthorized_client, invalid_client) = revoked grant.
 * Tokens are sealed here, before they reach any mutation, and decrypted only in actions. The access
 * token is sent to the MCP server's URL only (guardedFetch); the refresh token and code only to the
 * stored token endpoint. Nothing is logged.
 */
import { v, ConvexError } from "convex/values";
import { internalAction, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import {
  discoverOAuthServerInfo,
  exchangeAuthorization,
  extractWWWAuthenticateParams,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { InvalidClientError, InvalidGrantError, UnauthorizedClientError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { checkResourceAllowed } from "@modelcontextprotocol/sdk/shared/auth-utils.js";
import type { AuthorizationServerMetadata, OAuthClientInformation, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { adminAction } from "../access/builders";
import { fail } from "../access/principal";
import { safeFetch } from "../lib/safeFetch.node.js";
import { checkEgressUrl } from "../lib/egress";
import { issuerUrl } from "../lib/oauth";
import { randomToken, sha256Hex } from "../lib/tokens";
import { encryptSecret, SecretboxError } from "../lib/secretbox";
import { readSecrets } from "../secrets/access";
import { identityOf, keyRingOrFail, openSealed } from "../secrets/store";
import { CALLBACK_PATH, OAUTH_SECRET } from "./upstreamAuth";

const AS_MAX_BYTES = 64 * 1024;
const AS_REQUEST_MS = 10_000;
const CONNECT_BUDGET_MS = 30_000;
/** An access token this close to its expiry is refreshed first. */
const EXPIRY_SKEW_MS = 30_000;
const WAIT_FOR_REFRESH_MS = 10_000;
const SEND_HEADERS = new Set(["content-type", "accept", "authorization", "mcp-protocol-version"]);
const STATE_IDENTITY_TABLE = "mcpUpstreamAuthStates";

export class AsFailure extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = "AsFailure";
  }
}

type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * The fetch handed to the SDK's auth helpers. `only`: the exact URL allowed (the token endpoint
 * for code and refresh requests). `failure()` is the first guard refusal.
 */
export function asFetch(opts: { deadline: number; only?: string }): { fetch: FetchLike; failure: () => string | undefined } {
  let failed: string | undefined;
  const refuse = (code: string): never => {
    failed ??= code;
    throw new AsFailure(code);
  };
  const f: FetchLike = async (input, init = {}) => {
    const url = typeof input === "string" ? input : input.href;
    const method = (init.method ?? "GET").toUpperCase();
    if (method !== "GET" && method !== "POST") refuse("INPUT_INVALID");
    if (opts.only !== undefined && url !== opts.only) refuse("DOMAIN_NOT_ALLOWED");
    let host: string;
    try {
      const u = new URL(url);
      if (u.protocol !== "https:") refuse("SCHEME_NOT_ALLOWED");
      host = u.hostname.replace(/^\[|\]$/g, "");
    } catch (e) {
      if (e instanceof AsFailure) throw e;
      return refuse("URL_INVALID");
    }
    const remaining = opts.deadline - Date.now();
    if (remaining <= 0) refuse("TIMEOUT");
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      if (SEND_HEADERS.has(key.toLowerCase())) headers[key.toLowerCase()] = value;
    });
    headers["user-agent"] = "Warden-MCP/1";
    const body = init.body === undefined || init.body === null ? undefined : init.body instanceof URLSearchParams ? init.body.toString() : String(init.body);
    const r = await safeFetch(url, {
      method,
      headers,
      ...(body !== undefined && method === "POST" ? { body } : {}),
      allowlist: [host],
      timeoutMs: Math.min(remaining, AS_REQUEST_MS),
      maxBytes: AS_MAX_BYTES,
    });
    if (!r.ok) return refuse(r.code);
    const out = new Headers();
    for (const k of ["content-type", "www-authenticate"]) if (r.headers[k]) out.set(k, r.headers[k]);
    const noBody = r.status === 204 || r.status === 304;
    return new Response(noBody ? null : r.body, { status: r.status, headers: out });
  };
  return { fetch: f, failure: () => failed };
}

/** An AS endpoint Warden will call or send a browser to: https, no userinfo, a public host name. */
function httpsEndpoint(raw: unknown): string | null {
  if (typeof raw !== "string" || raw.length > 2048) return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== "https:") return null;
    const checked = checkEgressUrl(u.href, [u.hostname.replace(/^\[|\]$/g, "")]);
    return checked.ok ? checked.url.href : null;
  } catch {
    return null;
  }
}

const trimSlash = (s: string) => s.replace(/\/+$/, "");

function asMetadata(m: {
  issuer: string;
  authorizationEndpoint?: string;
  tokenEndpoint: string;
  tokenAuthMethods?: string[];
}): AuthorizationServerMetadata {
  return {
    issuer: m.issuer,
    authorization_endpoint: m.authorizationEndpoint ?? m.tokenEndpoint,
    token_endpoint: m.tokenEndpoint,
    response_types_supported: ["code"],
    ...(m.tokenAuthMethods ? { token_endpoint_auth_methods_supported: m.tokenAuthMethods } : {}),
  } as AuthorizationServerMetadata;
}

function seal(serverId: string, name: string, value: string) {
  return encryptSecret(value, identityOf("mcpServerSecrets", serverId, name), keyRingOrFail());
}

function codeOf(e: unknown, fallback: string): string {
  if (e instanceof AsFailure) return e.code;
  if (e instanceof ConvexError) {
    const c = (e.data as { code?: unknown })?.code;
    if (typeof c === "string") return c;
  }
  return fallback;
}

// ---------------------------------------------------------------------------------------------
// Connect

export const connect = adminAction({
  args: { serverId: v.id("mcpServers") },
  returns: v.object({ authorizationUrl: v.string() }),
  handler: async (ctx, { serverId }): Promise<{ authorizationUrl: string }> => {
    const p = ctx.principal;
    const target = await ctx.runQuery(internal.mcp.upstreamAuth.connectTarget, { serverId, workspaceId: p.workspaceId });
    if (!target) fail("NOT_FOUND");
    // A pending or rejected server is never contacted.
    if (target.serverStatus !== "approved" && target.serverStatus !== "disabled") fail("MCP_SERVER_NOT_APPROVED");
    const base = issuerUrl(process.env);
    if (!base) fail("CONFIG_INVALID", { field: "WARDEN_PUBLIC_BASE_URL" });
    const redirectUri = `${base}${CALLBACK_PATH}`;
    const guard = asFetch({ deadline: Date.now() + CONNECT_BUDGET_MS });
    const serverUrl = target.url;
    try {
      // 1. The server's own 401 names its protected-resource metadata (RFC 9728 §5.1).
      let resourceMetadataUrl: URL | undefined;
      let challengedScope: string | undefined;
      const probe = await guard.fetch(serverUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "warden", version: "1.0.0" } } }),
      });
      if (probe.status === 401) {
        const params = extractWWWAuthenticateParams(probe);
        // only metadata on the server's own origin is taken from the challenge
        if (params.resourceMetadataUrl && params.resourceMetadataUrl.origin === new URL(serverUrl).origin) resourceMetadataUrl = params.resourceMetadataUrl;
        challengedScope = params.scope;
      }
      await probe.body?.cancel().catch(() => undefined);

      // 2. RFC 9728 → RFC 8414 (or OIDC discovery).
      const info = await discoverOAuthServerInfo(serverUrl, { resourceMetadataUrl, fetchFn: guard.fetch });
      const prm = info.resourceMetadata;
      if (prm && !checkResourceAllowed({ requestedResource: serverUrl, configuredResource: prm.resource })) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "resource" });
      const md = info.authorizationServerMetadata;
      if (!md) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "metadata" });
      const issuer = httpsEndpoint(md.issuer);
      const authorizationEndpoint = httpsEndpoint(md.authorization_endpoint);
      const tokenEndpoint = httpsEndpoint(md.token_endpoint);
      if (!issuer || trimSlash(issuer) !== trimSlash(new URL(info.authorizationServerUrl).href)) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "issuer" });
      if (!authorizationEndpoint || !tokenEndpoint) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "endpoints" });
      if (!md.code_challenge_methods_supported?.includes("S256")) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "pkce" });
      const tokenAuthMethods = Array.isArray(md.token_endpoint_auth_methods_supported)
        ? md.token_endpoint_auth_methods_supported.filter((m): m is string => typeof m === "string").slice(0, 10)
        : undefined;
      const metadata = { ...md, issuer: md.issuer, authorization_endpoint: authorizationEndpoint, token_endpoint: tokenEndpoint } as AuthorizationServerMetadata;

      // 3. The client: pre-registered, the one registered before (same AS, same redirect), or RFC 7591.
      let client: OAuthClientInformation;
      let newSecret: string | undefined;
      if (target.preRegisteredClientId) {
        client = { client_id: target.preRegisteredClientId };
      } else if (target.clientId && target.issuer === issuer && target.redirectUri === redirectUri) {
        const s = await readSecrets(ctx, "mcpServerSecrets", serverId, [OAUTH_SECRET.clientSecret]);
        client = { client_id: target.clientId, ...(s[OAUTH_SECRET.clientSecret] ? { client_secret: s[OAUTH_SECRET.clientSecret] } : {}) };
      } else {
        const registrationEndpoint = httpsEndpoint(md.registration_endpoint);
        if (!registrationEndpoint) fail("MCP_OAUTH_CLIENT_REQUIRED");
        const registered = await registerClient(issuer, {
          metadata: { ...metadata, registration_endpoint: registrationEndpoint } as AuthorizationServerMetadata,
          clientMetadata: {
            client_name: "Warden",
            redirect_uris: [redirectUri],
            grant_types: ["authorization_code", "refresh_token"],
            response_types: ["code"],
            token_endpoint_auth_method: "none",
          },
          fetchFn: guard.fetch,
        });
        if (typeof registered.client_id !== "string" || registered.client_id.length === 0 || registered.client_id.length > 256) {
          fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "registration" });
        }
        client = { client_id: registered.client_id, ...(registered.client_secret ? { client_secret: registered.client_secret } : {}) };
        newSecret = registered.client_secret;
      }

      // 4. PKCE S256 + state, bound to this owner, server and workspace.
      const state = randomToken("wus_", 32);
      const stateHash = await sha256Hex(state);
      const scope = target.scope ?? challengedScope ?? (prm?.scopes_supported?.length ? prm.scopes_supported.join(" ") : undefined);
      const { authorizationUrl, codeVerifier } = await startAuthorization(issuer, {
        metadata,
        clientInformation: client,
        redirectUrl: redirectUri,
        scope,
        state,
        resource: new URL(serverUrl),
      });
      const ring = keyRingOrFail();
      const verifier = encryptSecret(codeVerifier, { table: STATE_IDENTITY_TABLE, ownerId: serverId, name: stateHash }, ring);
      const saved = await ctx.runMutation(internal.mcp.upstreamAuth.beginAuthorization, {
        serverId,
        workspaceId: p.workspaceId,
        ownerId: p.ownerId,
        url: serverUrl,
        issuer,
        authorizationEndpoint,
        tokenEndpoint,
        tokenAuthMethods,
        clientId: client.client_id,
        clientSecret: newSecret ? seal(serverId, OAUTH_SECRET.clientSecret, newSecret) : undefined,
        redirectUri,
        stateHash,
        verifier,
      });
      if (!saved) fail("NOT_FOUND");
      return { authorizationUrl: authorizationUrl.href };
    } catch (e) {
      if (e instanceof ConvexError) throw e;
      fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: guard.failure() ?? "upstream" });
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Callback: code → tokens

const exchangeResult = v.union(
  v.object({ ok: v.literal(true), serverName: v.string() }),
  v.object({ ok: v.literal(false), code: v.string() }),
);

export const exchangeCode = internalAction({
  args: { state: v.string(), code: v.string(), iss: v.optional(v.string()), ip: v.string() },
  returns: exchangeResult,
  handler: async (ctx, a): Promise<{ ok: true; serverName: string } | { ok: false; code: string }> => {
    if (a.state.length < 16 || a.state.length > 256 || a.code.length < 1 || a.code.length > 2048) return { ok: false, code: "MCP_OAUTH_STATE_INVALID" };
    const c = await ctx.runMutation(internal.mcp.upstreamAuth.consumeState, { stateHash: await sha256Hex(a.state), iss: a.iss, ip: a.ip });
    if (!c.ok) return { ok: false, code: c.code };
    let codeVerifier: string;
    try {
      codeVerifier = openSealed(
        { ciphertext: c.verifier.ciphertext, keyVersion: c.verifier.keyVersion },
        { table: STATE_IDENTITY_TABLE, ownerId: c.serverId, name: await sha256Hex(a.state) },
      );
    } catch (e) {
      if (e instanceof SecretboxError || e instanceof ConvexError) return { ok: false, code: "SECRET_DECRYPT_FAILED" };
      throw e;
    }
    const guard = asFetch({ deadline: Date.now() + AS_REQUEST_MS * 2, only: c.tokenEndpoint });
    let tokens: OAuthTokens;
    try {
      const s = await readSecrets(ctx, "mcpServerSecrets", c.serverId, [OAUTH_SECRET.clientSecret]);
      tokens = await exchangeAuthorization(c.issuer, {
        metadata: asMetadata({ issuer: c.issuer, tokenEndpoint: c.tokenEndpoint, tokenAuthMethods: c.tokenAuthMethods }),
        clientInformation: { client_id: c.clientId, ...(s[OAUTH_SECRET.clientSecret] ? { client_secret: s[OAUTH_SECRET.clientSecret] } : {}) },
        authorizationCode: a.code,
        codeVerifier,
        redirectUri: c.redirectUri,
        resource: new URL(c.resource),
        fetchFn: guard.fetch,
      });
    } catch (e) {
      // the AS's own words never leave this function: a guard refusal code, else one fixed code
      return { ok: false, code: guard.failure() ?? codeOf(e, "MCP_OAUTH_EXCHANGE_FAILED") };
    }
    const checked = checkTokens(tokens);
    if (!checked) return { ok: false, code: "MCP_OAUTH_EXCHANGE_FAILED" };
    const stored = await ctx.runMutation(internal.mcp.upstreamAuth.storeTokens, {
      serverId: c.serverId,
      fromVersion: c.tokenVersion,
      resource: c.resource,
      access: seal(c.serverId, OAUTH_SECRET.access, checked.access),
      refresh: checked.refresh ? seal(c.serverId, OAUTH_SECRET.refresh, checked.refresh) : undefined,
      expiresAt: checked.expiresAt,
      connect: { ownerId: c.ownerId },
    });
    if (!stored) return { ok: false, code: "MCP_OAUTH_STATE_INVALID" };
    return { ok: true, serverName: c.serverName };
  },
});

function checkTokens(t: OAuthTokens): { access: string; refresh?: string; expiresAt?: number } | null {
  if (typeof t.access_token !== "string" || t.access_token.length === 0 || t.access_token.length > 8192) return null;
  if (typeof t.token_type !== "string" || t.token_type.toLowerCase() !== "bearer") return null;
  const refresh = typeof t.refresh_token === "string" && t.refresh_token.length > 0 && t.refresh_token.length <= 8192 ? t.refresh_token : undefined;
  const expiresAt = typeof t.expires_in === "number" && Number.isFinite(t.expires_in) && t.expires_in > 0 ? Date.now() + Math.min(t.expires_in, 365 * 86400) * 1000 : undefined;
  return { access: t.access_token, refresh, expiresAt };
}

// ---------------------------------------------------------------------------------------------
// The bearer for an MCP request (client.ts)

export type Bearer = { ok: true; token: string; version: number } | { ok: false; code: string };

/**
 * null: the server does not use OAuth. `rejectedVersion`: the server answered 401 to the token of
 * that version — refresh (unless someone already did).
 */
export async function upstreamBearer(ctx: ActionCtx, serverId: Id<"mcpServers">, opts: { rejectedVersion?: number } = {}): Promise<Bearer | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = await ctx.runQuery(internal.mcp.upstreamAuth.tokenInfo, { serverId });
    if (!info) return null;
    if (info.status === "revoked") return { ok: false, code: "MCP_OAUTH_REVOKED" };
    if (info.status !== "connected") return { ok: false, code: "MCP_OAUTH_REQUIRED" };
    const expired = info.accessExpiresAt !== undefined && info.accessExpiresAt - EXPIRY_SKEW_MS <= Date.now();
    const rejected = opts.rejectedVersion !== undefined && opts.rejectedVersion === info.tokenVersion;
    if (!expired && !rejected) {
      const s = await readToken(ctx, serverId, OAUTH_SECRET.access);
      if (!s.ok) return s;
      return { ok: true, token: s.value, version: info.tokenVersion };
    }
    if (await ctx.runMutation(internal.mcp.upstreamAuth.claimRefresh, { serverId, version: info.tokenVersion })) {
      return await refreshTokens(ctx, serverId, info);
    }
    // Someone else is refreshing this version: wait for the new one.
    const until = Date.now() + WAIT_FOR_REFRESH_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 150));
      const now = await ctx.runQuery(internal.mcp.upstreamAuth.tokenInfo, { serverId });
      if (!now || now.tokenVersion !== info.tokenVersion || now.refreshingUntil === undefined) break;
    }
  }
  return { ok: false, code: "MCP_OAUTH_REQUIRED" };
}

async function readToken(ctx: ActionCtx, serverId: Id<"mcpServers">, name: string): Promise<{ ok: true; value: string } | { ok: false; code: string }> {
  try {
    const s = await readSecrets(ctx, "mcpServerSecrets", serverId, [name]);
    const value = s[name];
    if (typeof value !== "string" || value.length === 0) return { ok: false, code: "MCP_OAUTH_REQUIRED" };
    return { ok: true, value };
  } catch (e) {
    const code = codeOf(e, "SECRET_ACCESS_DENIED");
    return { ok: false, code: code === "SECRET_DECRYPT_FAILED" || code === "SECRET_KEY_UNAVAILABLE" ? code : "SECRET_ACCESS_DENIED" };
  }
}

type Info = {
  url: string;
  issuer?: string;
  tokenEndpoint?: string;
  tokenAuthMethods?: string[];
  clientId?: string;
  resource?: string;
  tokenVersion: number;
};

async function refreshTokens(ctx: ActionCtx, serverId: Id<"mcpServers">, info: Info): Promise<Bearer> {
  const version = info.tokenVersion;
  const release = async () => {
    await ctx.runMutation(internal.mcp.upstreamAuth.releaseRefresh, { serverId, version });
  };
  if (!info.issuer || !info.tokenEndpoint || !info.clientId || info.resource !== info.url) {
    await release();
    return { ok: false, code: "MCP_OAUTH_REQUIRED" };
  }
  let secrets: Record<string, string>;
  try {
    secrets = await readSecrets(ctx, "mcpServerSecrets", serverId, [OAUTH_SECRET.refresh, OAUTH_SECRET.clientSecret]);
  } catch (e) {
    await release();
    return { ok: false, code: codeOf(e, "SECRET_ACCESS_DENIED") };
  }
  const refreshToken = secrets[OAUTH_SECRET.refresh];
  if (!refreshToken) {
    // expired and nothing to renew it with: the owner connects again
    await ctx.runMutation(internal.mcp.upstreamAuth.markRevoked, { serverId, version });
    return { ok: false, code: "MCP_OAUTH_REVOKED" };
  }
  const guard = asFetch({ deadline: Date.now() + AS_REQUEST_MS, only: info.tokenEndpoint });
  let tokens: OAuthTokens;
  try {
    tokens = await refreshAuthorization(info.issuer, {
      metadata: asMetadata({ issuer: info.issuer, tokenEndpoint: info.tokenEndpoint, tokenAuthMethods: info.tokenAuthMethods }),
      clientInformation: { client_id: info.clientId, ...(secrets[OAUTH_SECRET.clientSecret] ? { client_secret: secrets[OAUTH_SECRET.clientSecret] } : {}) },
      refreshToken,
      resource: new URL(info.url),
      fetchFn: guard.fetch,
    });
  } catch (e) {
    if (e instanceof InvalidGrantError || e instanceof UnauthorizedClientError || e instanceof InvalidClientError) {
      await ctx.runMutation(internal.mcp.upstreamAuth.markRevoked, { serverId, version });
      return { ok: false, code: "MCP_OAUTH_REVOKED" };
    }
    await release();
    return { ok: false, code: guard.failure() ?? "UPSTREAM_ERROR" };
  }
  const checked = checkTokens(tokens);
  if (!checked) {
    await release();
    return { ok: false, code: "UPSTREAM_ERROR" };
  }
  const stored = await ctx.runMutation(internal.mcp.upstreamAuth.storeTokens, {
    serverId,
    fromVersion: version,
    resource: info.url,
    access: seal(serverId, OAUTH_SECRET.access, checked.access),
    refresh: checked.refresh ? seal(serverId, OAUTH_SECRET.refresh, checked.refresh) : undefined,
    expiresAt: checked.expiresAt,
  });
  if (!stored) return { ok: false, code: "MCP_OAUTH_REQUIRED" };
  return { ok: true, token: checked.access, version: version + 1 };
}
