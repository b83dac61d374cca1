/**
 * Pure OAuth 2.1 helpers for Warden's built-in authorization server (convex/mcp/inbound/oauth*.ts):
 * PKCE S256 (RFC 7636; `plain` is never accepted), constant-time comparison, redirect URI rules,
 * token shapes and the RFC 8414 metadata document. No Convex imports, no Node built-ins.
 */

export const OAUTH_PATHS = {
  metadata: "/.well-known/oauth-authorization-server",
  authorize: "/oauth/authorize",
  token: "/oauth/token",
  register: "/oauth/register",
  revoke: "/oauth/revoke",
} as const;

/** Token and id prefixes: each random part is 32 bytes, base64url (43 characters). */
export const OAUTH_PREFIX = {
  client: "wdn_oc_",
  request: "wdn_oar_",
  code: "wdn_oac_",
  access: "wdn_oat_",
  refresh: "wdn_ort_",
} as const;
export type OAuthTokenKind = keyof typeof OAUTH_PREFIX;

const SHAPES: Record<OAuthTokenKind, RegExp> = {
  client: /^wdn_oc_[A-Za-z0-9_-]{43}$/,
  request: /^wdn_oar_[A-Za-z0-9_-]{43}$/,
  code: /^wdn_oac_[A-Za-z0-9_-]{43}$/,
  access: /^wdn_oat_[A-Za-z0-9_-]{43}$/,
  refresh: /^wdn_ort_[A-Za-z0-9_-]{43}$/,
};

export function isOAuthShape(kind: OAuthTokenKind, value: string): boolean {
  return SHAPES[kind].test(value);
}

/** Lifetimes. Access tokens are short; refresh tokens rotate on every use; a grant ends after GRANT_MS. */
export const ACCESS_TOKEN_MS = 15 * 60 * 1000;
export const REFRESH_TOKEN_MS = 30 * 24 * 3600 * 1000;
export const GRANT_MS = 90 * 24 * 3600 * 1000;
export const CODE_MS = 60 * 1000;
export const REQUEST_MS = 10 * 60 * 1000;

export const MAX_REDIRECT_URIS = 5;
export const MAX_REDIRECT_URI_LENGTH = 512;
export const MAX_CLIENT_NAME = 100;
export const MAX_STATE_LENGTH = 512;

// ---------------------------------------------------------------------------------------------
// PKCE (RFC 7636)

/** code_verifier = 43–128 characters of [A-Z a-z 0-9 - . _ ~] (§4.1). */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** S256 code_challenge = base64url(SHA-256) without padding: exactly 43 characters. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isVerifierShape(v: string): boolean {
  return VERIFIER.test(v);
}
export function isChallengeShape(c: string): boolean {
  return CHALLENGE.test(c);
}

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** BASE64URL(SHA256(ASCII(code_verifier))) — RFC 7636 §4.2, S256. */
export async function pkceS256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Compares two strings in time that depends only on their lengths (never on where they differ). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** True when the verifier is well formed and its S256 challenge equals the stored one. */
export async function verifyPkce(verifier: string, challenge: string): Promise<boolean> {
  if (!isVerifierShape(verifier) || !isChallengeShape(challenge)) return false;
  return constantTimeEqual(await pkceS256(verifier), challenge);
}

// ---------------------------------------------------------------------------------------------
// redirect URIs (OAuth 2.1 §2.3.1, RFC 8252 §7.3)

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

export type RedirectCheck = { ok: true; uri: string } | { ok: false; reason: string };

/**
 * A registrable redirect URI: absolute https, or http on a loopback host (native apps, any port);
 * no fragment, no user info, at most MAX_REDIRECT_URI_LENGTH characters. Custom schemes are refused.
 */
export function checkRedirectUri(raw: unknown): RedirectCheck {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_REDIRECT_URI_LENGTH)
    return { ok: false, reason: "length" };
  if (raw.includes("#")) return { ok: false, reason: "fragment" };
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { ok: false, reason: "characters" };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reason: "parse" };
  }
  if (u.username || u.password) return { ok: false, reason: "userinfo" };
  if (u.protocol === "https:") return u.hostname ? { ok: true, uri: raw } : { ok: false, reason: "host" };
  if (u.protocol === "http:" && LOOPBACK_HOSTS.has(u.hostname)) return { ok: true, uri: raw };
  return { ok: false, reason: "scheme" };
}

/** Is the URI a loopback one (shown to the owner as "a program on this computer")? */
export function isLoopbackRedirect(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.protocol === "http:" && LOOPBACK_HOSTS.has(u.hostname);
  } catch {
    return false;
  }
}

/**
 * Exact match against the registered URIs, except that a loopback URI may use any port
 * (RFC 8252 §7.3: native apps pick an ephemeral port at the time of the request).
 */
export function redirectUriMatches(registered: readonly string[], presented: string): boolean {
  for (const r of registered) {
    if (constantTimeEqual(r, presented)) return true;
    if (isLoopbackRedirect(r) && isLoopbackRedirect(presented)) {
      const a = new URL(r);
      const b = new URL(presented);
      if (a.hostname === b.hostname && a.pathname === b.pathname && a.search === b.search) return true;
    }
  }
  return false;
}

/** Appends query parameters to a redirect URI (keeping its own query). */
export function redirectWith(uri: string, params: Record<string, string | undefined>): string {
  const u = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

// ---------------------------------------------------------------------------------------------
// issuer and metadata (RFC 8414)

/** The authorization server's issuer: this deployment's public base URL (`${WARDEN_PUBLIC_BASE_URL || CONVEX_SITE_URL}`). */
export function issuerUrl(env: Record<string, string | undefined>): string | null {
  const raw = (env.WARDEN_PUBLIC_BASE_URL ?? "").trim() || (env.CONVEX_SITE_URL ?? "").trim();
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.username || u.password || u.search || u.hash)
    return null;
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

/** Where the consent page lives: WARDEN_SYNCBOARD_URL, else the first configured allowed origin (SyncBoard). */
export function syncBoardUrl(env: Record<string, string | undefined>): string | null {
  const raw = (env.WARDEN_SYNCBOARD_URL ?? "").trim() || (env.WARDEN_ALLOWED_ORIGINS ?? "").split(",")[0]?.trim() || "";
  if (!raw) return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== "https:" && u.protocol !== "http:") return null;
    return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return null;
  }
}

export const CONSENT_PATH = "/oauth/consent";

export function authorizationServerMetadata(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}${OAUTH_PATHS.authorize}`,
    token_endpoint: `${issuer}${OAUTH_PATHS.token}`,
    registration_endpoint: `${issuer}${OAUTH_PATHS.register}`,
    revocation_endpoint: `${issuer}${OAUTH_PATHS.revoke}`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: false,
    // The owner picks tool scopes on the consent page; nothing is requested by scope name.
    scopes_supported: [] as string[],
  };
}

/** RFC 6749 §5.2 error body (plus the fixed description; never anything the caller sent). */
export function oauthError(error: string, description?: string) {
  return { error, ...(description ? { error_description: description } : {}) };
}
