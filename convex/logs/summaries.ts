import { v } from "convex/values";
import { internalMutation } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { HOUR, hourBucket } from "../lib/time";

/**
 * Reconciliation of the hourly summaries with the logs. The writers bump summaries in the same
 * transaction as the log row; this job recounts a closed hour from the log and SETS the totals,
 * so a rerun never changes them (no double counting). Runs hourly on its own schedule.
 */
const PAGE = 500;

type Tally = Record<string, { total: number; allowed: number; denied: number; totalDurationMs: number }>;

export const recountInvocationHour = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    bucket: v.number(),
    cursor: v.union(v.string(), v.null()),
    tally: v.any(),
  },
  returns: v.object({ done: v.boolean() }),
  handler: async (ctx, { workspaceId, bucket, cursor, tally }) => {
    if (bucket % HOUR !== 0 || bucket + HOUR > Date.now()) throw new Error("only closed hour buckets can be recounted");
    const page = await ctx.db
      .query("skillInvocationLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", workspaceId).gte("at", bucket).lt("at", bucket + HOUR))
      .paginate({ cursor, numItems: PAGE });
    const t: Tally = { ...(tally ?? {}) };
    for (const r of page.page) {
      const k = (t[r.targetKind] ??= { total: 0, allowed: 0, denied: 0, totalDurationMs: 0 });
      k.total++;
      if (r.allowed) k.allowed++;
      else k.denied++;
      k.totalDurationMs += r.durationMs;
    }
    if (!page.isDone) {
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountInvocationHour, { workspaceId, bucket, cursor: page.continueCursor, tally: t });
      return { done: false };
    }
    const existing = await ctx.db
      .query("skillInvocationSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", workspaceId).eq("bucket", bucket))
      .take(10);
    for (const row of existing) {
      const k = t[row.targetKind];
      if (!k) await ctx.db.delete(row._id);
      else {
        await ctx.db.patch(row._id, k);
        delete t[row.targetKind];
      }
    }
    for (const [targetKind, k] of Object.entries(t)) {
      await ctx.db.insert("skillInvocationSummary", { workspaceId, bucket, targetKind, ...k });
    }
    return { done: true };
  },
});

export const recountSecurityHour = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    bucket: v.number(),
    cursor: v.union(v.string(), v.null()),
    tally: v.any(),
  },
  returns: v.object({ done: v.boolean() }),
  handler: async (ctx, { workspaceId, bucket, cursor, tally }) => {
    if (bucket % HOUR !== 0 || bucket + HOUR > Date.now()) throw new Error("only closed hour buckets can be recounted");
    const page = await ctx.db
      .query("securityEvents")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", workspaceId).gte("at", bucket).lt("at", bucket + HOUR))
      .paginate({ cursor, numItems: PAGE });
    const t: Record<string, number> = { ...(tally ?? {}) };
    for (const e of page.page) t[e.code] = (t[e.code] ?? 0) + 1;
    if (!page.isDone) {
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountSecurityHour, { workspaceId, bucket, cursor: page.continueCursor, tally: t });
      return { done: false };
    }
    const existing = await ctx.db
      .query("securityEventSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", workspaceId).eq("bucket", bucket))
      .take(500);
    for (const row of existing) {
      if (t[row.code] === undefined) await ctx.db.delete(row._id);
      else {
        await ctx.db.patch(row._id, { count: t[row.code] });
        delete t[row.code];
      }
    }
    for (const [code, count] of Object.entries(t)) await ctx.db.insert("securityEventSummary", { workspaceId, bucket, code, count });
    return { done: true };
  },
});

/** Hourly cron: reconcile the previous hour for every workspace, one workspace per step. */
export const reconcilePreviousHour = internalMutation({
  args: { cursor: v.optional(v.union(v.string(), v.null())), bucket: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, args) => {
    const bucket = args.bucket ?? hourBucket(Date.now()) - HOUR;
    const page = await ctx.db.query("workspaces").paginate({ cursor: args.cursor ?? null, numItems: 1 });
    for (const ws of page.page) {
      const workspaceId: Id<"workspaces"> = ws._id;
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountInvocationHour, { workspaceId, bucket, cursor: null, tally: {} });
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountSecurityHour, { workspaceId, bucket, cursor: null, tally: {} });
    }
    if (!page.isDone) {
      await ctx.scheduler.runAfter(1_000, internal.logs.summaries.reconcilePreviousHour, { cursor: page.continueCursor, bucket });
    }
    return null;
  },
});
