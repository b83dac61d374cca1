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
export const signIn = endpoint("none", async (ctx, { req, body, ip }) => {
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
    const reason = !cred
      ? "unknown_account"
      : !passwordOk
        ? "bad_password"
        : !cred.active
          ? "inactive"
          : "no_workspace";
    await ctx.runMutation(internal.owners.signin.recordFailure, { ownerKey: parsed.ownerKey, ip, reason });
    return errorResponse("SIGNIN_FAILED", 401);
  }
  const authTime = Math.floor(Date.now() / 1000);
  // The session the whole refresh chain belongs to; sign-out and revocation end it (owners/session.ts).
  const sid = await ctx.runMutation(internal.owners.session.startBuiltin, {
    ownerId: cred.ownerId,
    workspaceId: cred.workspaceId,
    authTime,
    label: req.headers.get("user-agent") ?? undefined,
  });
  const issued = await issue(cred.ownerId, cred.workspaceId, authTime, sid);
  await ctx.runMutation(internal.owners.signin.recordSuccess, {
    ownerId: cred.ownerId,
    workspaceId: cred.workspaceId,
    ip,
    method: "password",
  });
  return jsonResponse(issued);
});

async function issue(ownerId: string, workspaceId: string, authTime: number, sid: string) {
  const issuer = builtinIssuer(process.env);
  if (!issuer) throw new Error("issuer not configured");
  return await signOwnerToken(
    { sub: ownerId, wid: workspaceId, auth_time: authTime, sid },
    { privateJwk: parsePrivateJwk(process.env.WARDEN_AUTH_PRIVATE_JWK), issuer },
  );
}

/** The verified claims of the Bearer token of a built-in route, within the 12-hour sign-in limit; null = refused. */
async function bearerClaims(req: Request) {
  const auth = req.headers.get("authorization") ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  const issuer = builtinIssuer(process.env);
  if (!token || !issuer) return null;
  let claims;
  try {
    claims = await verifyOwnerToken(token, { jwks: jwksFromEnv(process.env), issuer });
  } catch {
    return null;
  }
  const now = Math.floor(Date.now() / 1000);
  if (now - claims.auth_time > OWNER_SESSION_MAX_SECONDS) return null;
  // Tokens without a session id (issued before sessions existed) cannot be refreshed or switched.
  if (!claims.sid) return null;
  return { ...claims, sid: claims.sid };
}

/**
 * POST /auth/refresh — a still-valid token buys a new one, up to 12 h after the password sign-in, and
 * only while its server-side session is open (sign-out, revocation and deactivation end it).
 */
export const refresh = endpoint("owner", async (ctx, { req, ip }) => {
  if (!builtinEnabled()) return errorResponse("NOT_FOUND", 404);
  const claims = await bearerClaims(req);
  if (!claims) return errorResponse("UNAUTHENTICATED", 401);
  const ok = await ctx.runMutation(internal.owners.session.renew, {
    sid: claims.sid,
    ownerId: claims.sub,
    workspaceId: claims.wid,
  });
  if (!ok) return errorResponse("UNAUTHENTICATED", 401);
  const issued = await issue(claims.sub, claims.wid, claims.auth_time, claims.sid);
  await ctx.runMutation(internal.owners.signin.recordSuccess, {
    ownerId: ok.ownerId,
    workspaceId: ok.workspaceId,
    ip,
    method: "refresh",
  });
  return jsonResponse(issued);
});

const SwitchBody = z.object({ workspaceId: z.string().min(1).max(64) });

/**
 * POST /auth/switch {workspaceId} — a person in several workspaces moves their session to another one.
 * The server checks an active membership there once and answers a token naming it; afterwards the
 * workspace comes only from that signed token, never from a call's arguments. Same session, same
 * 12-hour limit; the old workspace's token chain stops refreshing. Audited in both workspaces.
 */
export const switchWorkspace = endpoint("owner", async (ctx, { req, body }) => {
  if (!builtinEnabled()) return errorResponse("NOT_FOUND", 404);
  const claims = await bearerClaims(req);
  if (!claims) return errorResponse("UNAUTHENTICATED", 401);
  let parsed;
  try {
    parsed = SwitchBody.parse(JSON.parse(body));
  } catch {
    return errorResponse("BAD_REQUEST", 400);
  }
  const ok = await ctx.runMutation(internal.owners.session.switchTo, {
    sid: claims.sid,
    ownerId: claims.sub,
    fromWorkspaceId: claims.wid,
    toWorkspaceId: parsed.workspaceId,
  });
  if (ok === "session") return errorResponse("UNAUTHENTICATED", 401);
  if (ok === "membership") {
    await ctx.runMutation(internal.owners.session.recordDenial, {
      ownerId: claims.sub,
      workspaceId: claims.wid,
      detail: "switch workspace: not an active member there",
    });
    return errorResponse("FORBIDDEN", 403);
  }
  return jsonResponse(await issue(ok.ownerId, ok.workspaceId, claims.auth_time, claims.sid));
});

/** GET /.well-known/jwks.json — public keys of the built-in issuer. */
export const jwks = endpoint("none", async () => {
  return jsonResponse(jwksFromEnv(process.env), 200, { "Cache-Control": "public, max-age=300" });
});
