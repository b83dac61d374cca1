/**
 * HTTP side of the built-in OAuth 2.1 authorization server (decisions live in oauth.ts):
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
 *   POST /oauth/register                           RFC 7591 dynamic registration (per-IP budget)
 *   GET  /oauth/authorize                          code + PKCE S256 → SyncBoard's consent page
 *   POST /oauth/token                              authorization_code / refresh_token
 *   POST /oauth/revoke                             RFC 7009
 * Errors use the RFC 6749 shape `{ error, error_description }` with fixed descriptions.
 */
import { internal } from "../../_generated/api";
import { endpoint } from "../../access/http";
import { errorResponse, jsonResponse } from "../../lib/httpSecurity";
import {
  CONSENT_PATH,
  OAUTH_PATHS,
  authorizationServerMetadata,
  issuerUrl,
  oauthError,
  syncBoardUrl,
} from "../../lib/oauth";
import type { RouteSpec } from "../../routes";
import { mcpResourceUrl } from "../protocol";

const MAX_FORM_BYTES = 16 * 1024;
const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

function oauthJson(status: number, error: string, description?: string, retryAfterMs?: number): Response {
  const headers: Record<string, string> = { ...NO_STORE };
  if (retryAfterMs !== undefined && (status === 429 || status === 503))
    headers["Retry-After"] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return jsonResponse(oauthError(error, description), status, headers);
}

function redirect(location: string): Response {
  return new Response(null, { status: 302, headers: { Location: location, ...NO_STORE } });
}

/** Form parameters; null when a parameter is repeated (RFC 6749 §3.1) or the content type is wrong. */
function formParams(req: Request, body: string): URLSearchParams | null {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return null;
  const p = new URLSearchParams(body);
  return singleValued(p) ? p : null;
}

function singleValued(p: URLSearchParams): boolean {
  const seen = new Set<string>();
  for (const k of p.keys()) {
    if (seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

const opt = (p: URLSearchParams, k: string) => p.get(k) ?? undefined;

export const authorizationServer = endpoint("none", async () => {
  const issuer = issuerUrl(process.env);
  if (!issuer || !mcpResourceUrl(process.env)) return errorResponse("NOT_FOUND", 404);
  return jsonResponse(authorizationServerMetadata(issuer), 200, { "Cache-Control": "public, max-age=300" });
});

export const registerClient = endpoint(
  "none",
  async (ctx, { req, body, ip }) => {
    const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    let metadata: unknown = null;
    if (type === "application/json") {
      try {
        metadata = JSON.parse(body);
      } catch {
        metadata = null;
      }
    }
    const r = await ctx.runMutation(internal.mcp.inbound.oauth.register, { ip, metadata });
    if (!r.ok) return oauthJson(r.status, r.error, r.description, r.retryAfterMs);
    return jsonResponse(
      {
        client_id: r.client_id,
        client_id_issued_at: r.client_id_issued_at,
        client_name: r.client_name,
        redirect_uris: r.redirect_uris,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      },
      201,
      NO_STORE,
    );
  },
  { maxBodyBytes: MAX_FORM_BYTES },
);

export const authorize = endpoint("none", async (ctx, { url, ip }) => {
  const audience = mcpResourceUrl(process.env);
  const board = syncBoardUrl(process.env);
  if (!audience || !board) return errorResponse("NOT_FOUND", 404);
  const p = url.searchParams;
  const clientId = p.get("client_id");
  const redirectUri = p.get("redirect_uri");
  if (!singleValued(p) || !clientId || !redirectUri)
    return oauthJson(400, "invalid_request", "client_id and redirect_uri are required once each");
  const r = await ctx.runMutation(internal.mcp.inbound.oauth.startAuthorization, {
    ip,
    audience,
    clientId: clientId.slice(0, 200),
    redirectUri: redirectUri.slice(0, 1024),
    responseType: (p.get("response_type") ?? "").slice(0, 50),
    codeChallenge: (p.get("code_challenge") ?? "").slice(0, 200),
    codeChallengeMethod: (p.get("code_challenge_method") ?? "").slice(0, 20),
    resource: opt(p, "resource")?.slice(0, 1024),
    state: opt(p, "state")?.slice(0, 1024),
  });
  if (!r.ok)
    return "redirect" in r && r.redirect
      ? redirect(r.redirect)
      : oauthJson(r.status, r.error, r.description, "retryAfterMs" in r ? r.retryAfterMs : undefined);
  return redirect(`${board}${CONSENT_PATH}?request=${encodeURIComponent(r.requestId)}`);
});

export const token = endpoint(
  "none",
  async (ctx, { req, body, ip }) => {
    const audience = mcpResourceUrl(process.env);
    if (!audience) return errorResponse("NOT_FOUND", 404);
    const p = formParams(req, body);
    if (!p) return oauthJson(400, "invalid_request", "one application/x-www-form-urlencoded value per parameter");
    // Public clients identify themselves with client_id (no secret, no Basic auth).
    const clientId = p.get("client_id");
    if (!clientId) return oauthJson(401, "invalid_client", "client_id is required");
    const grant = p.get("grant_type");
    const resource = opt(p, "resource")?.slice(0, 1024);
    let r;
    if (grant === "authorization_code") {
      const code = p.get("code");
      const verifier = p.get("code_verifier");
      const redirectUri = p.get("redirect_uri");
      if (!code || !redirectUri) return oauthJson(400, "invalid_request", "code and redirect_uri are required");
      // No verifier (or a plain-method verifier that does not hash to the S256 challenge) never passes.
      if (!verifier) return oauthJson(400, "invalid_request", "code_verifier is required (PKCE S256)");
      r = await ctx.runMutation(internal.mcp.inbound.oauth.exchangeCode, {
        ip,
        audience,
        clientId: clientId.slice(0, 200),
        code: code.slice(0, 200),
        codeVerifier: verifier.slice(0, 200),
        redirectUri: redirectUri.slice(0, 1024),
        resource,
      });
    } else if (grant === "refresh_token") {
      const refreshToken = p.get("refresh_token");
      if (!refreshToken) return oauthJson(400, "invalid_request", "refresh_token is required");
      r = await ctx.runMutation(internal.mcp.inbound.oauth.refresh, {
        ip,
        audience,
        clientId: clientId.slice(0, 200),
        refreshToken: refreshToken.slice(0, 200),
        resource,
      });
    } else {
      return oauthJson(400, "unsupported_grant_type");
    }
    if (!r.ok) return oauthJson(r.status, r.error, r.description, r.retryAfterMs);
    const { ok: _ok, ...tokens } = r;
    return jsonResponse(tokens, 200, NO_STORE);
  },
  { maxBodyBytes: MAX_FORM_BYTES },
);

export const revoke = endpoint(
  "none",
  async (ctx, { req, body, ip }) => {
    const p = formParams(req, body);
    if (!p) return oauthJson(400, "invalid_request");
    const value = p.get("token");
    if (!value) return oauthJson(400, "invalid_request", "token is required");
    const r = await ctx.runMutation(internal.mcp.inbound.oauth.revokeToken, {
      ip,
      clientId: opt(p, "client_id")?.slice(0, 200),
      token: value.slice(0, 200),
    });
    if (!r.ok) return oauthJson(r.status, r.error, r.description, r.retryAfterMs);
    return new Response(null, { status: 200, headers: NO_STORE });
  },
  { maxBodyBytes: MAX_FORM_BYTES },
);

export const oauthRoutes: RouteSpec[] = [
  { path: OAUTH_PATHS.metadata, method: "GET", handler: authorizationServer },
  { path: OAUTH_PATHS.register, method: "POST", handler: registerClient },
  { path: OAUTH_PATHS.authorize, method: "GET", handler: authorize },
  { path: OAUTH_PATHS.token, method: "POST", handler: token },
  { path: OAUTH_PATHS.revoke, method: "POST", handler: revoke },
];
