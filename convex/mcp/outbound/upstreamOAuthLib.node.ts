"use node";
/**
 * NODE ONLY. Helpers of the upstream OAuth actions (mcp/outbound/upstreamOAuth.ts): the guarded fetch for the
 * authorization server, metadata checks, sealing, and upstreamBearer (client.ts). No Convex
 * functions here (two dots in the name); see upstreamOAuth.ts for the flow.
 */
import { ConvexError } from "convex/values";
import { type ActionCtx } from "../../_generated/server";
import { internal } from "../../_generated/api";
import type { Id } from "../../_generated/dataModel";
import { refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import {
  InvalidClientError,
  InvalidGrantError,
  UnauthorizedClientError,
} from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { AuthorizationServerMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { safeFetch } from "../../lib/safeFetch.node.js";
import { checkEgressUrl } from "../../lib/egress";
import { encryptSecret } from "../../lib/secretbox";
import { readSecrets } from "../../secrets/access";
import { identityOf, keyRingOrFail } from "../../secrets/store";
import { OAUTH_SECRET } from "./upstreamAuth";

export const AS_MAX_BYTES = 64 * 1024;
export const AS_REQUEST_MS = 10_000;
export const CONNECT_BUDGET_MS = 30_000;
/** An access token this close to its expiry is refreshed first. */
export const EXPIRY_SKEW_MS = 30_000;
export const WAIT_FOR_REFRESH_MS = 10_000;
export const SEND_HEADERS = new Set(["content-type", "accept", "authorization", "mcp-protocol-version"]);
export const STATE_IDENTITY_TABLE = "mcpUpstreamAuthStates";

export class AsFailure extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = "AsFailure";
  }
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * The fetch handed to the SDK's auth helpers. `only`: the exact URL allowed (the token endpoint
 * for code and refresh requests). `failure()` is the first guard refusal.
 */
export function asFetch(opts: { deadline: number; only?: string }): {
  fetch: FetchLike;
  failure: () => string | undefined;
} {
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
    const body =
      init.body === undefined || init.body === null
        ? undefined
        : init.body instanceof URLSearchParams
          ? init.body.toString()
          : String(init.body);
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
export function httpsEndpoint(raw: unknown): string | null {
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

export const trimSlash = (s: string) => s.replace(/\/+$/, "");

export function asMetadata(m: {
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

export function seal(serverId: string, name: string, value: string) {
  return encryptSecret(value, identityOf("mcpServerSecrets", serverId, name), keyRingOrFail());
}

export function codeOf(e: unknown, fallback: string): string {
  if (e instanceof AsFailure) return e.code;
  if (e instanceof ConvexError) {
    const c = (e.data as { code?: unknown })?.code;
    if (typeof c === "string") return c;
  }
  return fallback;
}

// ---------------------------------------------------------------------------------------------
// Connect

export function checkTokens(t: OAuthTokens): { access: string; refresh?: string; expiresAt?: number } | null {
  if (typeof t.access_token !== "string" || t.access_token.length === 0 || t.access_token.length > 8192) return null;
  if (typeof t.token_type !== "string" || t.token_type.toLowerCase() !== "bearer") return null;
  const refresh =
    typeof t.refresh_token === "string" && t.refresh_token.length > 0 && t.refresh_token.length <= 8192
      ? t.refresh_token
      : undefined;
  const expiresAt =
    typeof t.expires_in === "number" && Number.isFinite(t.expires_in) && t.expires_in > 0
      ? Date.now() + Math.min(t.expires_in, 365 * 86400) * 1000
      : undefined;
  return { access: t.access_token, refresh, expiresAt };
}

// ---------------------------------------------------------------------------------------------
// The bearer for an MCP request (client.ts)

export type Bearer = { ok: true; token: string; version: number } | { ok: false; code: string };

/**
 * null: the server does not use OAuth. `rejectedVersion`: the server answered 401 to the token of
 * that version — refresh (unless someone already did).
 */
export async function upstreamBearer(
  ctx: ActionCtx,
  serverId: Id<"mcpServers">,
  opts: { rejectedVersion?: number } = {},
): Promise<Bearer | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = await ctx.runQuery(internal.mcp.outbound.upstreamAuth.tokenInfo, { serverId });
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
    if (
      await ctx.runMutation(internal.mcp.outbound.upstreamAuth.claimRefresh, { serverId, version: info.tokenVersion })
    ) {
      return await refreshTokens(ctx, serverId, info);
    }
    // Someone else is refreshing this version: wait for the new one.
    const until = Date.now() + WAIT_FOR_REFRESH_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 150));
      const now = await ctx.runQuery(internal.mcp.outbound.upstreamAuth.tokenInfo, { serverId });
      if (!now || now.tokenVersion !== info.tokenVersion || now.refreshingUntil === undefined) break;
    }
  }
  return { ok: false, code: "MCP_OAUTH_REQUIRED" };
}

export async function readToken(
  ctx: ActionCtx,
  serverId: Id<"mcpServers">,
  name: string,
): Promise<{ ok: true; value: string } | { ok: false; code: string }> {
  try {
    const s = await readSecrets(ctx, "mcpServerSecrets", serverId, [name]);
    const value = s[name];
    if (typeof value !== "string" || value.length === 0) return { ok: false, code: "MCP_OAUTH_REQUIRED" };
    return { ok: true, value };
  } catch (e) {
    const code = codeOf(e, "SECRET_ACCESS_DENIED");
    return {
      ok: false,
      code: code === "SECRET_DECRYPT_FAILED" || code === "SECRET_KEY_UNAVAILABLE" ? code : "SECRET_ACCESS_DENIED",
    };
  }
}

export type Info = {
  url: string;
  issuer?: string;
  tokenEndpoint?: string;
  tokenAuthMethods?: string[];
  clientId?: string;
  resource?: string;
  tokenVersion: number;
};

export async function refreshTokens(ctx: ActionCtx, serverId: Id<"mcpServers">, info: Info): Promise<Bearer> {
  const version = info.tokenVersion;
  const release = async () => {
    await ctx.runMutation(internal.mcp.outbound.upstreamAuth.releaseRefresh, { serverId, version });
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
    await ctx.runMutation(internal.mcp.outbound.upstreamAuth.markRevoked, { serverId, version });
    return { ok: false, code: "MCP_OAUTH_REVOKED" };
  }
  const guard = asFetch({ deadline: Date.now() + AS_REQUEST_MS, only: info.tokenEndpoint });
  let tokens: OAuthTokens;
  try {
    tokens = await refreshAuthorization(info.issuer, {
      metadata: asMetadata({
        issuer: info.issuer,
        tokenEndpoint: info.tokenEndpoint,
        tokenAuthMethods: info.tokenAuthMethods,
      }),
      clientInformation: {
        client_id: info.clientId,
        ...(secrets[OAUTH_SECRET.clientSecret] ? { client_secret: secrets[OAUTH_SECRET.clientSecret] } : {}),
      },
      refreshToken,
      resource: new URL(info.url),
      fetchFn: guard.fetch,
    });
  } catch (e) {
    if (e instanceof InvalidGrantError || e instanceof UnauthorizedClientError || e instanceof InvalidClientError) {
      await ctx.runMutation(internal.mcp.outbound.upstreamAuth.markRevoked, { serverId, version });
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
  const stored = await ctx.runMutation(internal.mcp.outbound.upstreamAuth.storeTokens, {
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
