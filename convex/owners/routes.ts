import { z } from "zod";
import { internal } from "../_generated/api";
import { endpoint } from "../access/http";
import { errorResponse, jsonResponse } from "../lib/httpSecurity";
import { verifyPassword } from "../lib/password";
import {
  jwksFromEnv,
  parsePrivateJwk,
  signOwnerToken,
  verifyOwnerToken,
  OWNER_SESSION_MAX_SECONDS,
} from "../lib/ownerJwt";
import { authModeFrom, builtinIssuer } from "../lib/authMode";

const SignInBody = z.object({
  ownerKey: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
  workspaceId: z.string().max(64).optional(),
});

function builtinEnabled(): boolean {
  const m = authModeFrom(process.env);
  return m === "builtin" || m === "both";
}

/** POST /auth/signin — built-in owner sign-in; answers a ≤15-minute ES256 JWT. */
export const signIn = endpoint("none", async (ctx, { body, ip }) => {
  if (!builtinEnabled()) return errorResponse("NOT_FOUND", 404);
  let parsed;
  try {
    parsed = SignInBody.parse(JSON.parse(body));
  } catch {
    return errorResponse("BAD_REQUEST", 400);
  }
  const pre = await ctx.runMutation(internal.owners.signin.precheck, { ownerKey: parsed.ownerKey, ip });
  if (!pre.ok) {
    return errorResponse("RATE_LIMITED", 429, { "Retry-After": String(Math.ceil(pre.retryAfterMs / 1000)) });
  }
  const cred = await ctx.runQuery(internal.owners.signin.credential, {
    ownerKey: parsed.ownerKey,
    workspaceId: parsed.workspaceId,
  });
  const passwordOk = await verifyPassword(parsed.password, cred?.passwordHash);
  if (!cred || !passwordOk || !cred.active || !cred.workspaceId) {
    const reason = !cred ? "unknown_account" : !passwordOk ? "bad_password" : !cred.active ? "inactive" : "no_workspace";
    await ctx.runMutation(internal.owners.signin.recordFailure, { ownerKey: parsed.ownerKey, ip, reason });
    return errorResponse("SIGNIN_FAILED", 401);
  }
  const issued = await issue(cred.ownerId, cred.workspaceId, Math.floor(Date.now() / 1000));
  await ctx.runMutation(internal.owners.signin.recordSuccess, {
    ownerId: cred.ownerId,
    workspaceId: cred.workspaceId,
    ip,
    method: "password",
  });
  return jsonResponse(issued);
});

async function issue(ownerId: string, workspaceId: string, authTime: number) {
  const issuer = builtinIssuer(process.env);
  if (!issuer) throw new Error("issuer not configured");
  return await signOwnerToken(
    { sub: ownerId, wid: workspaceId, auth_time: authTime },
    { privateJwk: parsePrivateJwk(process.env.WARDEN_AUTH_PRIVATE_JWK), issuer },
  );
}

/** POST /auth/refresh — a still-valid token buys a new one, up to 12 h after the password sign-in. */
export const refresh = endpoint("owner", async (ctx, { req, ip }) => {
  if (!builtinEnabled()) return errorResponse("NOT_FOUND", 404);
  const auth = req.headers.get("authorization") ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  const issuer = builtinIssuer(process.env);
  if (!token || !issuer) return errorResponse("UNAUTHENTICATED", 401);
  let claims;
  try {
    claims = await verifyOwnerToken(token, { jwks: jwksFromEnv(process.env), issuer });
  } catch {
    return errorResponse("UNAUTHENTICATED", 401);
  }
  const now = Math.floor(Date.now() / 1000);
  if (now - claims.auth_time > OWNER_SESSION_MAX_SECONDS) return errorResponse("UNAUTHENTICATED", 401);
  const ok = await ctx.runQuery(internal.owners.session.stillMember, { ownerId: claims.sub, workspaceId: claims.wid });
  if (!ok) return errorResponse("UNAUTHENTICATED", 401);
  const issued = await issue(claims.sub, claims.wid, claims.auth_time);
  await ctx.runMutation(internal.owners.signin.recordSuccess, {
    ownerId: ok.ownerId,
    workspaceId: ok.workspaceId,
    ip,
    method: "refresh",
  });
  return jsonResponse(issued);
});

/** GET /.well-known/jwks.json — public keys of the built-in issuer. */
export const jwks = endpoint("none", async () => {
  return jsonResponse(jwksFromEnv(process.env), 200, { "Cache-Control": "public, max-age=300" });
});
