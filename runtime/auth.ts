// Verifies JWTs against the providers of convex/auth.config.ts (signature, issuer, audience, expiry)
// and maps verified claims to a Convex UserIdentity. Unverified claims are only used to pick the
// provider whose keys then verify the token.
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from "jose";
import type { Identity } from "./internals.js";

export type Provider =
  | { kind: "oidc"; domain: string; applicationID: string }
  | { kind: "customJwt"; issuer: string; jwks: string; algorithm: "RS256" | "ES256"; applicationID?: string };

export class AuthFailure extends Error {}

export type Verified = { identity: Identity; exp: number | null };

/** Fetch a same-origin URL (our own site port) in-process instead of over the network. */
export type LocalFetch = (url: string) => Promise<Response> | null;

// OIDC standard claims → UserIdentity fields, as Convex maps them (keybroker `UserIdentity::from_token`).
const STANDARD_CLAIMS: Record<string, string> = {
  name: "name",
  given_name: "givenName",
  family_name: "familyName",
  nickname: "nickname",
  preferred_username: "preferredUsername",
  profile: "profileUrl",
  picture: "pictureUrl",
  website: "websiteUrl",
  email: "email",
  email_verified: "emailVerified",
  gender: "gender",
  birthdate: "birthday",
  zoneinfo: "timezone",
  locale: "language",
  phone_number: "phoneNumber",
  phone_number_verified: "phoneNumberVerified",
  address: "address",
  updated_at: "updatedAt",
};
const BOOLEAN_CLAIMS = new Set(["email_verified", "phone_number_verified"]);
// Claims that describe the token, not the user: never part of the identity.
const TOKEN_CLAIMS = new Set([
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "azp",
  "auth_time",
  "nonce",
  "acr",
  "amr",
  "at_hash",
  "c_hash",
]);
// Fields derived from verified claims; a custom claim can never set or replace them.
const VERIFIED_FIELDS = new Set(["tokenIdentifier", "subject", "issuer"]);
const OIDC_FIELDS = new Set([...VERIFIED_FIELDS, ...Object.values(STANDARD_CLAIMS)]);

function standardValue(claim: string, value: unknown): unknown {
  if (BOOLEAN_CLAIMS.has(claim)) return typeof value === "boolean" ? value : undefined;
  if (claim === "address") {
    const formatted = value && typeof value === "object" ? (value as Record<string, unknown>).formatted : undefined;
    return typeof formatted === "string" ? formatted : undefined;
  }
  if (claim === "updated_at") {
    return typeof value === "number" && Number.isFinite(value)
      ? new Date(value * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00")
      : undefined;
  }
  return typeof value === "string" ? value : undefined;
}

/** Custom JWTs: nested objects become dotted keys (Convex's `extract_custom_jwt_claims`). */
function flatten(prefix: string, value: unknown, out: Array<[string, unknown]>): void {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(`${prefix}.${k}`, v, out);
  } else out.push([prefix, value]);
}

/**
 * Verified claims → UserIdentity, like Convex: `sub` → subject, `iss` → issuer, tokenIdentifier =
 * `iss|sub`; OIDC tokens also map the standard claims to camelCase fields. Every other claim is a
 * custom field that is added only under a name nothing else holds: a custom `subject`, `issuer`,
 * `tokenIdentifier` (or, for OIDC, a standard field name) is dropped, never applied.
 */
export function claimsToIdentity(claims: JWTPayload, kind: Provider["kind"] = "oidc"): Identity {
  const iss = String(claims.iss);
  const sub = String(claims.sub);
  const out: Record<string, unknown> = { tokenIdentifier: `${iss}|${sub}`, subject: sub, issuer: iss };
  const reserved = kind === "oidc" ? OIDC_FIELDS : VERIFIED_FIELDS;
  const custom: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(claims)) {
    if (v === undefined || TOKEN_CLAIMS.has(k)) continue;
    if (kind === "oidc" && k in STANDARD_CLAIMS) {
      const mapped = standardValue(k, v);
      if (mapped !== undefined) out[STANDARD_CLAIMS[k]] = mapped;
    } else if (kind === "customJwt") flatten(k, v, custom);
    else custom.push([k, v]);
  }
  for (const [k, v] of custom) {
    if (reserved.has(k) || Object.prototype.hasOwnProperty.call(out, k) || v === undefined) continue;
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true }); // safe for "__proto__"
  }
  return out as Identity;
}

export function parseProviders(config: { providers?: unknown[] } | null): Provider[] {
  const out: Provider[] = [];
  for (const p of config?.providers ?? []) {
    const x = p as Record<string, any>;
    if (x?.type === "customJwt") {
      if (typeof x.issuer !== "string" || typeof x.jwks !== "string")
        throw new Error("auth.config.ts: customJwt provider needs issuer and jwks");
      if (x.algorithm !== "RS256" && x.algorithm !== "ES256")
        throw new Error("auth.config.ts: customJwt algorithm must be RS256 or ES256");
      out.push({
        kind: "customJwt",
        issuer: x.issuer,
        jwks: x.jwks,
        algorithm: x.algorithm,
        applicationID: x.applicationID,
      });
    } else if (typeof x?.domain === "string" && typeof x?.applicationID === "string") {
      out.push({ kind: "oidc", domain: x.domain.replace(/\/+$/, ""), applicationID: x.applicationID });
    } else throw new Error(`auth.config.ts: unsupported provider ${JSON.stringify(x)}`);
  }
  return out;
}

type CachedJwks = { keys: ReturnType<typeof createLocalJWKSet>; fetchedAt: number };

export class AuthVerifier {
  private cache = new Map<string, CachedJwks>();
  private inflight = new Map<string, Promise<CachedJwks>>();

  constructor(
    readonly providers: Provider[],
    private readonly localFetch: LocalFetch,
    private readonly opts: { timeoutMs?: number; ttlMs?: number; refetchAfterMs?: number } = {},
  ) {}

  /** Throws AuthFailure with a client-safe message. */
  async verify(token: string): Promise<Verified> {
    let unverified: JWTPayload;
    let alg: string | undefined;
    try {
      unverified = decodeJwt(token);
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthFailure("Could not parse JWT");
    }
    const iss = unverified.iss;
    const provider = this.providers.find((p) =>
      p.kind === "customJwt" ? p.issuer === iss : iss === p.domain || iss === `${p.domain}/`,
    );
    if (!provider || typeof iss !== "string") throw new AuthFailure("No auth provider found matching the given token");
    const jwksUrl = provider.kind === "customJwt" ? provider.jwks : `${provider.domain}/.well-known/jwks.json`;
    const algorithms = provider.kind === "customJwt" ? [provider.algorithm] : ["RS256", "ES256"];
    if (!alg || !algorithms.includes(alg))
      throw new AuthFailure(`Token algorithm ${alg} is not allowed for this provider`);
    const audience = provider.applicationID;
    const attempt = async (force: boolean) => {
      const jwks = await this.jwks(jwksUrl, force);
      return await jwtVerify(token, jwks.keys, { issuer: iss, audience, algorithms, requiredClaims: ["sub", "exp"] });
    };
    let payload: JWTPayload;
    try {
      try {
        payload = (await attempt(false)).payload;
      } catch (e: any) {
        if (e?.code !== "ERR_JWKS_NO_MATCHING_KEY") throw e;
        payload = (await attempt(true)).payload; // keys may have rotated
      }
    } catch (e: any) {
      if (e instanceof AuthFailure) throw e;
      const code = e?.code as string | undefined;
      if (code === "ERR_JWT_EXPIRED") throw new AuthFailure("Token expired");
      if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") throw new AuthFailure("Token signature is invalid");
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") throw new AuthFailure(`Token claim check failed: ${e.claim}`);
      if (code === "ERR_JWKS_NO_MATCHING_KEY") throw new AuthFailure("Token signed by an unknown key");
      throw new AuthFailure("Could not verify token");
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw new AuthFailure("Token has no subject");
    return {
      identity: claimsToIdentity(payload, provider.kind),
      exp: typeof payload.exp === "number" ? payload.exp : null,
    };
  }

  private async jwks(url: string, force: boolean): Promise<CachedJwks> {
    const ttl = this.opts.ttlMs ?? 10 * 60_000;
    const refetchAfter = this.opts.refetchAfterMs ?? 10_000;
    const hit = this.cache.get(url);
    const now = Date.now();
    if (hit && now - hit.fetchedAt < (force ? refetchAfter : ttl)) return hit;
    let p = this.inflight.get(url);
    if (!p) {
      p = this.fetchJwks(url).finally(() => this.inflight.delete(url));
      this.inflight.set(url, p);
    }
    try {
      return await p;
    } catch (e) {
      if (hit) return hit; // keep using the last good keys when the provider is unreachable
      throw e;
    }
  }

  private async fetchJwks(url: string): Promise<CachedJwks> {
    let res: Response;
    try {
      const local = this.localFetch(url);
      res = local
        ? await local
        : await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 3000), redirect: "error" });
    } catch {
      throw new AuthFailure("Could not fetch the provider's signing keys");
    }
    if (!res.ok) throw new AuthFailure(`Could not fetch the provider's signing keys (HTTP ${res.status})`);
    let json: JSONWebKeySet;
    try {
      json = (await res.json()) as JSONWebKeySet;
      const keys = createLocalJWKSet(json);
      const entry = { keys, fetchedAt: Date.now() };
      this.cache.set(url, entry);
      return entry;
    } catch {
      throw new AuthFailure("The provider's signing keys are malformed");
    }
  }
}
