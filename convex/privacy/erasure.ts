/**
 * Erasure on request: an owner erases one person (a channel user or a web-chat session) with
 * everything derived from them (privacy/cascade:eraseDerived). The person is cut off at once
 * (channel user blocked and stripped of name/contact/reply target; session revoked), then the
 * data goes in bounded, self-continuing batches. The audit log names the person by id only.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { ownerMutation } from "../access/builders";
import { getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { RETENTION_SPACING_MS } from "../logs/retention";
import { eraseDerived, finishSubject, subjectRow, type Subject } from "./cascade";

export const ERASE_BATCH = 100;

const subjectValidator = v.union(
  v.object({ kind: v.literal("channelUser"), id: v.id("channelUsers") }),
  v.object({ kind: v.literal("chatSession"), id: v.id("chatSessions") }),
);

/** Cuts the person off now and schedules the batches. */
async function begin(
  ctx: MutationCtx,
  subject: Subject,
  opts: {
    workspaceId: Id<"workspaces">;
    actorId?: Id<"owners">;
    actorLabel: string;
    keepBlocked: boolean;
    batchSize: number;
  },
): Promise<void> {
  if (subject.kind === "channelUser") {
    await ctx.db.patch("channelUsers", subject.id, {
      blocked: true,
      displayName: undefined,
      contact: undefined,
      replyTarget: undefined,
      replyTargetExpiresAt: undefined,
      trust: undefined,
      linkedOwnerId: undefined,
    });
  } else {
    await ctx.db.patch("chatSessions", subject.id, { revokedAt: Date.now(), blocked: true });
  }
  await writeAudit(ctx, {
    workspaceId: opts.workspaceId,
    actorId: opts.actorId,
    actorLabel: opts.actorLabel,
    action: "privacy.erase",
    target: subject.id,
    after: { kind: subject.kind, keepBlocked: opts.keepBlocked },
  });
  await ctx.scheduler.runAfter(0, internal.privacy.erasure.step, {
    subject,
    workspaceId: opts.workspaceId,
    keepBlocked: opts.keepBlocked,
    batchSize: opts.batchSize,
    deleted: 0,
  });
}

/**
 * Erases one channel user and everything derived from them. With `block`, a tombstone (platform
 * id + block) stays so they cannot write again; without, the row goes too.
 */
export const eraseChannelUser = ownerMutation({
  args: { channelUserId: v.id("channelUsers"), block: v.optional(v.boolean()) },
  returns: v.null(),
  handler: async (ctx, { channelUserId, block }) => {
    const u = await getOwned(await ctx.db.get("channelUsers", channelUserId), ctx.principal);
    await begin(
      ctx,
      { kind: "channelUser", id: u._id },
      {
        workspaceId: ctx.principal.workspaceId,
        actorId: ctx.principal.ownerId,
        actorLabel: ctx.principal.ownerKey,
        keepBlocked: block === true,
        batchSize: ERASE_BATCH,
      },
    );
    return null;
  },
});

/** Erases one web-chat session (visitor) and everything derived from it. */
export const eraseChatSession = ownerMutation({
  args: { sessionId: v.id("chatSessions") },
  returns: v.null(),
  handler: async (ctx, { sessionId }) => {
    const s = await getOwned(await ctx.db.get("chatSessions", sessionId), ctx.principal);
    await begin(
      ctx,
      { kind: "chatSession", id: s._id },
      {
        workspaceId: ctx.principal.workspaceId,
        actorId: ctx.principal.ownerId,
        actorLabel: ctx.principal.ownerKey,
        keepBlocked: false,
        batchSize: ERASE_BATCH,
      },
    );
    return null;
  },
});

/** Operator/test entry point with an explicit batch size. */
export const start = internalMutation({
  args: { subject: subjectValidator, keepBlocked: v.boolean(), batchSize: v.number() },
  returns: v.null(),
  handler: async (ctx, { subject, keepBlocked, batchSize }) => {
    const row = await subjectRow(ctx, subject);
    if (!row) return null;
    await begin(ctx, subject, { workspaceId: row.workspaceId, actorLabel: "operator", keepBlocked, batchSize });
    return null;
  },
});

/** One batch; continues itself until nothing derived is left, then removes the person's row. */
export const step = internalMutation({
  args: {
    subject: subjectValidator,
    workspaceId: v.id("workspaces"),
    keepBlocked: v.boolean(),
    batchSize: v.number(),
    /** rows deleted by earlier steps (for the closing audit entry) */
    deleted: v.number(),
  },
  returns: v.object({ deleted: v.number(), done: v.boolean() }),
  handler: async (ctx, args) => {
    const size = Math.max(1, Math.min(ERASE_BATCH * 5, Math.floor(args.batchSize)));
    const budget = { left: size };
    const finished = await eraseDerived(ctx, args.subject, budget);
    const deleted = size - budget.left;
    if (!finished) {
      await ctx.scheduler.runAfter(RETENTION_SPACING_MS, internal.privacy.erasure.step, {
        ...args,
        deleted: args.deleted + deleted,
      });
      return { deleted, done: false };
    }
    await finishSubject(ctx, args.subject, args.keepBlocked);
    await writeAudit(ctx, {
      workspaceId: args.workspaceId,
      actorLabel: "system",
      action: "privacy.erase.done",
      target: args.subject.id,
      after: { kind: args.subject.kind, rowsDeleted: args.deleted + deleted, keptBlocked: args.keepBlocked },
    });
    return { deleted, done: true };
  },
});
