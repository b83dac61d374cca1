/**
 * Retention for conversation data: per workspace, the "conversations" setting (logs/retention,
 * default 90 days) bounds how long threads, messages, queued replies, voice sessions, chat
 * sessions, channel users and webhook delivery ids are kept. Runs after the log retention each
 * day (logs/retention:start) in bounded, self-continuing batches, one workspace at a time.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id, TableNames } from "../_generated/dataModel";
import { CONVERSATIONS, DELIVERY_RETENTION_DAYS, RETENTION_SPACING_MS, retentionDays } from "../logs/retention";
import { DAY } from "../lib/time";
import { deleteThread, drop, eraseDerived, finishSubject, type Budget } from "./cascade";
import { workspacePage } from "../workspaces/lib";

export const CONVERSATION_BATCH = 100;

/** Order matters: messages before their threads, threads before the people they belong to. */
export const PHASES = [
  "messages",
  "threads",
  "outbox",
  "voiceSessions",
  "chatSessions",
  "channelUsers",
  "webhookDeliveries",
] as const;

type Ctx = MutationCtx;
type PhaseResult = { more: boolean; cursor: string | null };
const done: PhaseResult = { more: false, cursor: null };

async function dropAll<T extends TableNames>(ctx: Ctx, table: T, ids: Id<T>[], budget: Budget): Promise<PhaseResult> {
  await drop(ctx, table, ids, budget);
  return budget.left <= 0 ? { more: true, cursor: null } : done;
}

/** One bounded batch of one phase for one workspace. `more` = call again (with `cursor`). */
async function runPhase(
  ctx: Ctx,
  phase: (typeof PHASES)[number],
  ws: Id<"workspaces">,
  cutoff: number,
  now: number,
  cursor: string | null,
  budget: Budget,
): Promise<PhaseResult> {
  switch (phase) {
    case "messages": {
      const rows = await ctx.db
        .query("messages")
        .withIndex("by_workspace_created", (q) => q.eq("workspaceId", ws).lt("createdAt", cutoff))
        .take(budget.left);
      return dropAll(
        ctx,
        "messages",
        rows.map((r) => r._id),
        budget,
      );
    }
    case "threads": {
      // every message of such a thread is older than the cutoff too (updatedAt ≥ each createdAt)
      for (;;) {
        const th = await ctx.db
          .query("threads")
          .withIndex("by_workspace", (q) => q.eq("workspaceId", ws).lt("updatedAt", cutoff))
          .first();
        if (!th) return done;
        if (!(await deleteThread(ctx, th, budget, { invocations: false }))) return { more: true, cursor: null };
      }
    }
    case "outbox": {
      const rows = await ctx.db
        .query("channelOutbox")
        .withIndex("by_workspace_created", (q) => q.eq("workspaceId", ws).lt("createdAt", cutoff))
        .take(budget.left);
      return dropAll(
        ctx,
        "channelOutbox",
        rows.map((r) => r._id),
        budget,
      );
    }
    case "voiceSessions": {
      const rows = await ctx.db
        .query("voiceSessions")
        .withIndex("by_workspace", (q) => q.eq("workspaceId", ws).lt("startedAt", cutoff))
        .take(budget.left);
      return dropAll(
        ctx,
        "voiceSessions",
        rows.map((r) => r._id),
        budget,
      );
    }
    case "chatSessions":
    case "channelUsers": {
      // people idle since the cutoff, with whatever is still derived from them; a blocked channel
      // user stays as a tombstone, so this phase pages with a cursor instead of re-reading
      const page =
        phase === "chatSessions"
          ? await ctx.db
              .query("chatSessions")
              .withIndex("by_workspace_lastSeen", (q) => q.eq("workspaceId", ws).lt("lastSeenAt", cutoff))
              .paginate({ cursor, numItems: Math.max(1, budget.left) })
          : await ctx.db
              .query("channelUsers")
              .withIndex("by_workspace_lastSeen", (q) => q.eq("workspaceId", ws).lt("lastSeenAt", cutoff))
              .paginate({ cursor, numItems: Math.max(1, budget.left) });
      const after: PhaseResult = page.isDone ? done : { more: true, cursor: page.continueCursor };
      for (let i = 0; i < page.page.length; i++) {
        const p = page.page[i];
        const subject =
          phase === "chatSessions"
            ? { kind: "chatSession" as const, id: p._id as Id<"chatSessions"> }
            : { kind: "channelUser" as const, id: p._id as Id<"channelUsers"> };
        // an unexpired session stays (its visitor may come back); its old data went above
        if (phase === "chatSessions" && (p as { expiresAt: number }).expiresAt > now) continue;
        // out of budget inside this page: the same page again (what is done is gone from it)
        if (!(await eraseDerived(ctx, subject, budget))) return { more: true, cursor };
        await finishSubject(ctx, subject, p.blocked === true);
        budget.left--;
        if (budget.left <= 0) return i === page.page.length - 1 ? after : { more: true, cursor };
      }
      return after;
    }
    case "webhookDeliveries": {
      // dedupe ids need only outlive vendor retries: never kept past DELIVERY_RETENTION_DAYS
      const c = Math.max(cutoff, now - DELIVERY_RETENTION_DAYS * DAY);
      const rows = await ctx.db
        .query("webhookDeliveries")
        .withIndex("by_workspace_receivedAt", (q) => q.eq("workspaceId", ws).lt("receivedAt", c))
        .take(budget.left);
      return dropAll(
        ctx,
        "webhookDeliveries",
        rows.map((r) => r._id),
        budget,
      );
    }
  }
}

/** One step: a batch of one phase for one workspace; schedules the next step until all are done. */
export const step = internalMutation({
  args: {
    workspaceCursor: v.union(v.string(), v.null()),
    workspaceId: v.union(v.id("workspaces"), v.null()),
    phase: v.number(),
    /** page cursor inside the chatSessions / channelUsers phases */
    cursor: v.union(v.string(), v.null()),
    now: v.number(),
    /** deletions per step (default CONVERSATION_BATCH) */
    batchSize: v.optional(v.number()),
  },
  returns: v.object({ deleted: v.number(), done: v.boolean() }),
  handler: async (ctx, args) => {
    const size = Math.max(1, Math.min(CONVERSATION_BATCH * 5, Math.floor(args.batchSize ?? CONVERSATION_BATCH)));
    let { workspaceId, workspaceCursor } = args;
    if (workspaceId === null) {
      const page = await workspacePage(ctx, workspaceCursor, 1);
      if (page.page.length === 0) return { deleted: 0, done: true };
      workspaceId = page.page[0]._id;
      workspaceCursor = page.continueCursor;
    }
    const cutoff = args.now - (await retentionDays(ctx, workspaceId, CONVERSATIONS)) * DAY;
    const budget = { left: size };
    const r = await runPhase(ctx, PHASES[args.phase], workspaceId, cutoff, args.now, args.cursor, budget);
    const deleted = size - budget.left;
    const base = { now: args.now, batchSize: args.batchSize, workspaceCursor };
    const next = r.more
      ? { ...base, workspaceId, phase: args.phase, cursor: r.cursor }
      : args.phase + 1 < PHASES.length
        ? { ...base, workspaceId, phase: args.phase + 1, cursor: null }
        : { ...base, workspaceId: null, phase: 0, cursor: null };
    // full batches are spaced out so deletion never competes with live traffic
    await ctx.scheduler.runAfter(r.more ? RETENTION_SPACING_MS : 0, internal.privacy.retention.step, next);
    return { deleted, done: false };
  },
});
