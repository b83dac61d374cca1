/**
 * The signed-in person's own sessions (person tier): list them, end one, end all others, sign out.
 * Only the person ends their sessions here; a workspace owner ends a member's sessions in *their*
 * workspace by deactivating or removing the membership (owners/manage.ts).
 */
import { v } from "convex/values";
import { viewerAction, viewerMutation, viewerQuery } from "../access/builders";
import type { MutationCtx } from "../_generated/server";
import { fail, type Principal } from "../access/principal";
import { writeAudit } from "../audit/log";
import { endPersonSessions, endSession, sessionBySid } from "./session";

const LIST_MAX = 50;

export const mine = viewerQuery({
  args: {},
  returns: v.array(
    v.object({
      sessionId: v.id("ownerSessions"),
      provider: v.union(v.literal("builtin"), v.literal("clerk")),
      workspaceName: v.string(),
      createdAt: v.number(),
      lastSeenAt: v.number(),
      expiresAt: v.number(),
      label: v.union(v.string(), v.null()),
      current: v.boolean(),
    }),
  ),
  handler: async (ctx) => {
    const now = Date.now();
    const rows = await ctx.db
      .query("ownerSessions")
      .withIndex("by_owner_ended", (q) => q.eq("ownerId", ctx.principal.ownerId).eq("endedAt", undefined))
      .order("desc")
      .take(LIST_MAX);
    const out = [];
    for (const r of rows) {
      if (r.expiresAt <= now) continue;
      const ws = await ctx.db.get("workspaces", r.workspaceId);
      out.push({
        sessionId: r._id,
        provider: r.provider,
        workspaceName: ws?.name ?? "",
        createdAt: r.createdAt,
        lastSeenAt: r.lastSeenAt,
        expiresAt: r.expiresAt,
        label: r.label ?? null,
        current: r.sid === ctx.principal.sessionId,
      });
    }
    return out;
  },
});

function audit(ctx: MutationCtx & { principal: Principal }, action: string, after: unknown) {
  return writeAudit(ctx, {
    workspaceId: ctx.principal.workspaceId,
    actorId: ctx.principal.ownerId,
    actorLabel: ctx.principal.ownerKey,
    action,
    target: ctx.principal.ownerKey,
    after,
  });
}

/** Ends one of the caller's own sessions (another person's session id is NOT_FOUND). */
export const end = viewerMutation({
  args: { sessionId: v.id("ownerSessions") },
  returns: v.null(),
  handler: async (ctx, { sessionId }) => {
    const row = await ctx.db.get("ownerSessions", sessionId);
    if (!row || row.ownerId !== ctx.principal.ownerId) fail("NOT_FOUND");
    if (await endSession(ctx, row, "ended_by_person"))
      await audit(ctx, "auth.sessionEnded", { provider: row.provider, current: row.sid === ctx.principal.sessionId });
    return null;
  },
});

/** Ends every session of the caller except the one making this call. */
export const endOthers = viewerMutation({
  args: {},
  returns: v.object({ ended: v.number() }),
  handler: async (ctx) => {
    const ended = await endPersonSessions(ctx, ctx.principal.ownerId, "ended_by_person", ctx.principal.sessionId);
    if (ended > 0) await audit(ctx, "auth.sessionsEnded", { ended });
    return { ended };
  },
});

/**
 * Sign-out: ends the session the caller's token belongs to, server-side, so neither this token nor
 * any token of its refresh chain works again (SESSION_ENDED). SyncBoard calls it before forgetting the token.
 */
export const signOut = viewerMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const sid = ctx.principal.sessionId;
    const row = sid ? await sessionBySid(ctx, sid) : null;
    if (row) await endSession(ctx, row, "signout");
    await audit(ctx, "auth.signout", { provider: ctx.principal.provider });
    return null;
  },
});

/**
 * SyncBoard calls this first after sign-in. The action builder does the work: a member of a linked
 * Clerk organization with just-in-time membership on gets their membership, a new Clerk session is
 * recorded and audited (`auth.signin`), and a refusal is recorded as a security event.
 */
export const hello = viewerAction({
  args: {},
  returns: v.object({ provider: v.union(v.literal("builtin"), v.literal("clerk")) }),
  handler: async (ctx) => ({ provider: ctx.principal.provider }),
});
