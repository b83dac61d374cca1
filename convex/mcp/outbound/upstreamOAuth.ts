"use node";
/**
 * OAuth 2.1 to upstream MCP servers: the network side. Every request to the MCP server and to its
 * authorization server (AS) goes through safeFetch (`asFetch`, upstreamOAuthLib.node.ts): https only, the request's
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
import { internalAction } from "../../_generated/server";
import { internal } from "../../_generated/api";
import {
  discoverOAuthServerInfo,
  exchangeAuthorization,
  extractWWWAuthenticateParams,
  registerClient,
  startAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { checkResourceAllowed } from "@modelcontextprotocol/sdk/shared/auth-utils.js";
import type {
  AuthorizationServerMetadata,
  OAuthClientInformation,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { adminAction } from "../../access/builders";
import { fail } from "../../access/principal";
import { issuerUrl } from "../../lib/oauth";
import { randomToken, sha256Hex } from "../../lib/tokens";
import { encryptSecret, SecretboxError } from "../../lib/secretbox";
import { readSecrets } from "../../secrets/access";
import { keyRingOrFail, openSealed } from "../../secrets/store";
import { CALLBACK_PATH, OAUTH_SECRET } from "./upstreamAuth";
import {
  AS_REQUEST_MS,
  CONNECT_BUDGET_MS,
  STATE_IDENTITY_TABLE,
  asFetch,
  asMetadata,
  checkTokens,
  codeOf,
  httpsEndpoint,
  seal,
  trimSlash,
} from "./upstreamOAuthLib.node.js";

export const connect = adminAction({
  args: { serverId: v.id("mcpServers") },
  returns: v.object({ authorizationUrl: v.string() }),
  handler: async (ctx, { serverId }): Promise<{ authorizationUrl: string }> => {
    const p = ctx.principal;
    const target = await ctx.runQuery(internal.mcp.outbound.upstreamAuth.connectTarget, {
      serverId,
      workspaceId: p.workspaceId,
    });
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
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 0,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "warden", version: "1.0.0" } },
        }),
      });
      if (probe.status === 401) {
        const params = extractWWWAuthenticateParams(probe);
        // only metadata on the server's own origin is taken from the challenge
        if (params.resourceMetadataUrl && params.resourceMetadataUrl.origin === new URL(serverUrl).origin)
          resourceMetadataUrl = params.resourceMetadataUrl;
        challengedScope = params.scope;
      }
      await probe.body?.cancel().catch(() => undefined);

      // 2. RFC 9728 → RFC 8414 (or OIDC discovery).
      const info = await discoverOAuthServerInfo(serverUrl, { resourceMetadataUrl, fetchFn: guard.fetch });
      const prm = info.resourceMetadata;
      if (prm && !checkResourceAllowed({ requestedResource: serverUrl, configuredResource: prm.resource }))
        fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "resource" });
      const md = info.authorizationServerMetadata;
      if (!md) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "metadata" });
      const issuer = httpsEndpoint(md.issuer);
      const authorizationEndpoint = httpsEndpoint(md.authorization_endpoint);
      const tokenEndpoint = httpsEndpoint(md.token_endpoint);
      if (!issuer || trimSlash(issuer) !== trimSlash(new URL(info.authorizationServerUrl).href))
        fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "issuer" });
      if (!authorizationEndpoint || !tokenEndpoint) fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "endpoints" });
      if (!md.code_challenge_methods_supported?.includes("S256"))
        fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "pkce" });
      const tokenAuthMethods = Array.isArray(md.token_endpoint_auth_methods_supported)
        ? md.token_endpoint_auth_methods_supported.filter((m): m is string => typeof m === "string").slice(0, 10)
        : undefined;
      const metadata = {
        ...md,
        issuer: md.issuer,
        authorization_endpoint: authorizationEndpoint,
        token_endpoint: tokenEndpoint,
      } as AuthorizationServerMetadata;

      // 3. The client: pre-registered, the one registered before (same AS, same redirect), or RFC 7591.
      let client: OAuthClientInformation;
      let newSecret: string | undefined;
      if (target.preRegisteredClientId) {
        client = { client_id: target.preRegisteredClientId };
      } else if (target.clientId && target.issuer === issuer && target.redirectUri === redirectUri) {
        const s = await readSecrets(ctx, "mcpServerSecrets", serverId, [OAUTH_SECRET.clientSecret]);
        client = {
          client_id: target.clientId,
          ...(s[OAUTH_SECRET.clientSecret] ? { client_secret: s[OAUTH_SECRET.clientSecret] } : {}),
        };
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
        if (
          typeof registered.client_id !== "string" ||
          registered.client_id.length === 0 ||
          registered.client_id.length > 256
        ) {
          fail("MCP_OAUTH_DISCOVERY_FAILED", { reason: "registration" });
        }
        client = {
          client_id: registered.client_id,
          ...(registered.client_secret ? { client_secret: registered.client_secret } : {}),
        };
        newSecret = registered.client_secret;
      }

      // 4. PKCE S256 + state, bound to this owner, server and workspace.
      const state = randomToken("wus_", 32);
      const stateHash = await sha256Hex(state);
      const scope =
        target.scope ?? challengedScope ?? (prm?.scopes_supported?.length ? prm.scopes_supported.join(" ") : undefined);
      const { authorizationUrl, codeVerifier } = await startAuthorization(issuer, {
        metadata,
        clientInformation: client,
        redirectUrl: redirectUri,
        scope,
        state,
        resource: new URL(serverUrl),
      });
      const ring = keyRingOrFail();
      const verifier = encryptSecret(
        codeVerifier,
        { table: STATE_IDENTITY_TABLE, ownerId: serverId, name: stateHash },
        ring,
      );
      const saved = await ctx.runMutation(internal.mcp.outbound.upstreamAuth.beginAuthorization, {
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
    if (a.state.length < 16 || a.state.length > 256 || a.code.length < 1 || a.code.length > 2048)
      return { ok: false, code: "MCP_OAUTH_STATE_INVALID" };
    const c = await ctx.runMutation(internal.mcp.outbound.upstreamAuth.consumeState, {
      stateHash: await sha256Hex(a.state),
      iss: a.iss,
      ip: a.ip,
    });
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
        metadata: asMetadata({
          issuer: c.issuer,
          tokenEndpoint: c.tokenEndpoint,
          tokenAuthMethods: c.tokenAuthMethods,
        }),
        clientInformation: {
          client_id: c.clientId,
          ...(s[OAUTH_SECRET.clientSecret] ? { client_secret: s[OAUTH_SECRET.clientSecret] } : {}),
        },
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
    const stored = await ctx.runMutation(internal.mcp.outbound.upstreamAuth.storeTokens, {
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
