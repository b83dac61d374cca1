import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { sessionMutation, adminMutation } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { enforceLimit } from "../limits/enforce";
import { randomToken, sha256Hex } from "../lib/tokens";
import { ipLimitKey } from "../lib/clientIp";
import { DAY } from "../lib/time";
import { logActivity, publicWorkspaceId } from "../agent/activity";

export const SESSION_TOKEN_PREFIX = "wcs_";
export const DEFAULT_SESSION_DAYS = 30;

export const startResult = v.union(
  v.object({ ok: v.literal(true), token: v.string(), expiresAt: v.number() }),
  v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() }),
);

function sessionTtlMs(): number {
  const days = Number(process.env.WARDEN_CHAT_SESSION_DAYS);
  return (Number.isInteger(days) && days >= 1 && days <= 365 ? days : DEFAULT_SESSION_DAYS) * DAY;
}

/** The per-source key of a client IP: a hash of the address (its /64 for IPv6), never the address. */
export async function ipSourceKey(ip: string): Promise<string> {
  return `ip:${(await sha256Hex(ipLimitKey(ip))).slice(0, 32)}`;
}

/**
 * Mints an anonymous session for the public workspace: 256 random bits, only the SHA-256 stored,
 * the token returned once. Rate-limit denials are returned (not thrown) so their log survives.
 * The only way in is POST /chat/session, so every session is counted against its source.
 */
async function mint(ctx: MutationCtx, ipKey: string) {
  const workspaceId = await publicWorkspaceId(ctx);
  if (!workspaceId) fail("NOT_FOUND");
  const perIp = await enforceLimit(ctx, { workspaceId, name: "chatSessionsPerIp", key: ipKey, category: "chat", source: "chat/session" });
  if (!perIp.ok) return { ok: false as const, code: perIp.code, retryAfterMs: perIp.retryAfterMs };
  const global = await enforceLimit(ctx, { workspaceId, name: "chatSessionsGlobal", key: "all", category: "chat", source: "chat/session" });
  if (!global.ok) return { ok: false as const, code: global.code, retryAfterMs: global.retryAfterMs };
  const token = randomToken(SESSION_TOKEN_PREFIX, 32);
  const now = Date.now();
  const expiresAt = now + sessionTtlMs();
  await ctx.db.insert("chatSessions", { workspaceId, tokenHash: await sha256Hex(token), createdAt: now, expiresAt, lastSeenAt: now });
  return { ok: true as const, token, expiresAt };
}

/** POST /chat/session (the only minter): per-IP limit, the IP hashed before it is used as a key. */
export const startFromHttp = internalMutation({
  args: { ip: v.string() },
  returns: startResult,
  handler: async (ctx, { ip }) => await mint(ctx, await ipSourceKey(ip)),
});

/** The session ends itself (e.g. "forget me"). */
export const revoke = sessionMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    await ctx.db.patch(ctx.session._id, { revokedAt: Date.now() });
    return null;
  },
});

/** Admins block an abusive session; audited. */
export const block = adminMutation({
  args: { sessionId: v.id("chatSessions") },
  returns: v.null(),
  handler: async (ctx, { sessionId }) => {
    const s = await getOwned(await ctx.db.get(sessionId), ctx.principal);
    if (s.blocked) return null;
    await ctx.db.patch(sessionId, { blocked: true });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "chat.session.block",
      target: sessionId,
      before: { blocked: false },
      after: { blocked: true },
    });
    await logActivity(ctx, { workspaceId: ctx.principal.workspaceId, kind: "chat.session_blocked", meta: { sessionId } });
    return null;
  },
});
