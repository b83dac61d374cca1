/**
 * The built-in owner issuer: short-lived ES256 JWTs and the JWKS that verifies them.
 * Pure (jose only); used by the sign-in route and by tests.
 */
import { SignJWT, importJWK, jwtVerify, createLocalJWKSet, type JWK, type JWTPayload } from "jose";

export const OWNER_TOKEN_AUDIENCE = "warden";
export const OWNER_TOKEN_TTL_SECONDS = 15 * 60;
/** A session may be refreshed for at most this long after the password sign-in. */
export const OWNER_SESSION_MAX_SECONDS = 12 * 60 * 60;

/** `sid`: the server-side session (owners/session.ts) every token of one sign-in carries. */
export type OwnerClaims = { sub: string; wid: string; auth_time: number; sid?: string };

export function parsePrivateJwk(raw: string | undefined): JWK {
  if (!raw) throw new Error("WARDEN_AUTH_PRIVATE_JWK is not set");
  let jwk: JWK;
  try {
    jwk = JSON.parse(raw) as JWK;
  } catch {
    throw new Error("WARDEN_AUTH_PRIVATE_JWK is not valid JSON");
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.x || !jwk.y) {
    throw new Error("WARDEN_AUTH_PRIVATE_JWK must be an EC P-256 private JWK");
  }
  return jwk;
}

export function publicJwk(priv: JWK): JWK {
  const { kty, crv, x, y, kid } = priv;
  return { kty, crv, x, y, kid: kid ?? "warden-1", alg: "ES256", use: "sig" };
}

/** JWKS served at /.well-known/jwks.json: current key plus previous public keys (rotation). */
export function jwksFromEnv(env: Record<string, string | undefined>): { keys: JWK[] } {
  const keys: JWK[] = [];
  if (env.WARDEN_AUTH_PRIVATE_JWK) keys.push(publicJwk(parsePrivateJwk(env.WARDEN_AUTH_PRIVATE_JWK)));
  if (env.WARDEN_AUTH_PREVIOUS_PUBLIC_JWKS) {
    try {
      const prev = JSON.parse(env.WARDEN_AUTH_PREVIOUS_PUBLIC_JWKS) as JWK[];
      for (const k of prev) if (k.kty === "EC" && !k.d) keys.push({ ...k, alg: "ES256", use: "sig" });
    } catch {
      // ignore malformed previous keys: they only widen acceptance
    }
  }
  return { keys };
}

export async function signOwnerToken(
  claims: OwnerClaims,
  opts: { privateJwk: JWK; issuer: string; nowSeconds?: number; ttlSeconds?: number },
): Promise<{ token: string; expiresAt: number }> {
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const ttl = Math.min(opts.ttlSeconds ?? OWNER_TOKEN_TTL_SECONDS, OWNER_TOKEN_TTL_SECONDS);
  const key = await importJWK(opts.privateJwk, "ES256");
  const exp = now + ttl;
  const token = await new SignJWT({
    wid: claims.wid,
    auth_time: claims.auth_time,
    ...(claims.sid ? { sid: claims.sid } : {}),
  })
    .setProtectedHeader({ alg: "ES256", kid: opts.privateJwk.kid ?? "warden-1", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer(opts.issuer)
    .setAudience(OWNER_TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(key);
  return { token, expiresAt: exp * 1000 };
}

/** Verifies signature, issuer, audience and expiry. Throws on any failure. */
export async function verifyOwnerToken(
  token: string,
  opts: { jwks: { keys: JWK[] }; issuer: string; nowSeconds?: number },
): Promise<JWTPayload & OwnerClaims> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(opts.jwks), {
    issuer: opts.issuer,
    audience: OWNER_TOKEN_AUDIENCE,
    algorithms: ["ES256"],
    currentDate: opts.nowSeconds ? new Date(opts.nowSeconds * 1000) : undefined,
  });
  if (
    typeof payload.sub !== "string" ||
    typeof payload.wid !== "string" ||
    typeof payload.auth_time !== "number" ||
    (payload.sid !== undefined && typeof payload.sid !== "string")
  ) {
    throw new Error("token claims missing");
  }
  return payload as JWTPayload & OwnerClaims;
}
