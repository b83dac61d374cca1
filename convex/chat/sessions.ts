import { v } from "convex/values";
import { internalMutation, type MutationCtx, type QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { recordSecurityEvent } from "../security/events";
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

/** The live block on a source, if any. */
export async function sourceBlock(ctx: QueryCtx, workspaceId: Id<"workspaces">, sourceKey: string) {
  const b = await ctx.db
    .query("chatSourceBlocks")
    .withIndex("by_workspace_source", (q) => q.eq("workspaceId", workspaceId).eq("sourceKey", sourceKey))
    .unique();
  return b && b.until > Date.now() ? b : null;
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
  const block = await sourceBlock(ctx, workspaceId, ipKey);
  if (block) {
    await recordSecurityEvent(ctx, {
      workspaceId,
      code: "SOURCE_BLOCKED",
      category: "chat",
      source: ipKey,
      detail: "new session from a blocked source",
    });
    return { ok: false as const, code: "SOURCE_BLOCKED", retryAfterMs: block.until - Date.now() };
  }
  const perIp = await enforceLimit(ctx, {
    workspaceId,
    name: "chatSessionsPerIp",
    key: ipKey,
    category: "chat",
    source: "chat/session",
  });
  if (!perIp.ok) return { ok: false as const, code: perIp.code, retryAfterMs: perIp.retryAfterMs };
  const global = await enforceLimit(ctx, {
    workspaceId,
    name: "chatSessionsGlobal",
    key: "all",
    category: "chat",
    source: "chat/session",
  });
  if (!global.ok) return { ok: false as const, code: global.code, retryAfterMs: global.retryAfterMs };
  const token = randomToken(SESSION_TOKEN_PREFIX, 32);
  const now = Date.now();
  const expiresAt = now + sessionTtlMs();
  await ctx.db.insert("chatSessions", {
    workspaceId,
    tokenHash: await sha256Hex(token),
    createdAt: now,
    expiresAt,
    lastSeenAt: now,
    sourceKey: ipKey,
  });
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
    await ctx.db.patch("chatSessions", ctx.session._id, { revokedAt: Date.now() });
    return null;
  },
});

export const MAX_BLOCK_HOURS = 24 * 30;
export const DEFAULT_BLOCK_HOURS = 24;

/**
 * Admins block an abusive session; audited. The block also holds against new sessions from the same
 * source (hashed client IP) for `hours` (owner's choice, 1 h – 30 days), so "Start a new
 * conversation" does not undo it.
 */
export const block = adminMutation({
  args: { sessionId: v.id("chatSessions"), hours: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, { sessionId, hours }) => {
    const s = await getOwned(await ctx.db.get("chatSessions", sessionId), ctx.principal);
    const h = hours ?? DEFAULT_BLOCK_HOURS;
    if (!Number.isFinite(h) || h < 1 || h > MAX_BLOCK_HOURS) fail("CONFIG_INVALID", { field: "hours" });
    const until = Date.now() + Math.round(h * 3600_000);
    if (!s.blocked) await ctx.db.patch("chatSessions", sessionId, { blocked: true });
    if (s.sourceKey) {
      const existing = await ctx.db
        .query("chatSourceBlocks")
        .withIndex("by_workspace_source", (q) => q.eq("workspaceId", s.workspaceId).eq("sourceKey", s.sourceKey!))
        .unique();
      if (existing) await ctx.db.patch("chatSourceBlocks", existing._id, { until });
      else
        await ctx.db.insert("chatSourceBlocks", {
          workspaceId: s.workspaceId,
          sourceKey: s.sourceKey,
          until,
          createdAt: Date.now(),
        });
    }
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "chat.session.block",
      target: sessionId,
      before: { blocked: s.blocked === true },
      after: { blocked: true, sourceBlockedUntil: s.sourceKey ? until : null },
    });
    await logActivity(ctx, {
      workspaceId: ctx.principal.workspaceId,
      kind: "chat.session_blocked",
      meta: { sessionId },
    });
    return null;
  },
});
