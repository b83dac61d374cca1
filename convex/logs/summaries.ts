import { v, type Infer } from "convex/values";
import { internalMutation, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { HOUR, hourBucket } from "../lib/time";
import { workspacePage } from "../workspaces/lib";
import { addHourTally, countIntoHour, countRow, noCounts, type HourTally } from "../security/invocationSummary";
import { legacyInvocationCountsRemain, startInvocationLogMigration } from "../security/invocationLogMigration";

/**
 * Hourly summaries.
 *
 * invocationSummary is filled by the rollup below, not by the checker: an allowed call
 * writes only its log row (and its rate-limit buckets). The rollup adds every log row older
 * than ROLLUP_LAG_MS to its hour and advances one watermark in the same transaction, so each row
 * is counted exactly once; the dashboard adds the rows at or past the watermark itself (live
 * tail), so its numbers are never stale. securityEventSummary is still bumped by its writer.
 *
 * Reconciliation recounts a closed hour from the log and SETS the totals, so a rerun never
 * changes them (no double counting). Runs hourly on its own schedule.
 */
const PAGE = 500;

/** Rows younger than this stay in the live tail (a mutation started before now has committed). */
export const ROLLUP_LAG_MS = 10_000;
const ROLLUP_PAGE = 1_000;

const countsValidator = v.object({
  total: v.number(),
  allowed: v.number(),
  denied: v.number(),
  totalDurationMs: v.number(),
});
/** A paged invocation recount's running counts, by target kind (skill, mcp …). */
const invocationTallyValidator = v.record(v.string(), countsValidator);
type Tally = Infer<typeof invocationTallyValidator>;
/** A paged security-event recount's running counts, by event code. */
const securityTallyValidator = v.record(v.string(), v.number());

/** The rollup watermark: every log row with `at` below it is in invocationSummary. */
export async function invocationRollupThrough(ctx: QueryCtx): Promise<number> {
  return (await ctx.db.query("invocationRollup").withIndex("by_creation_time").first())?.through ?? 0;
}

/**
 * Rollup step (cron every 30 s; continues itself while a backlog remains). After an upgrade it also
 * starts the move of the legacy log (security/invocationLogMigration.ts), which keeps the counts
 * exact while this step goes on rolling up.
 */
export const rollupInvocations = internalMutation({
  args: {},
  returns: v.object({ counted: v.number(), through: v.number(), more: v.boolean() }),
  handler: async (ctx) => {
    await startInvocationLogMigration(ctx);
    const state = await ctx.db.query("invocationRollup").withIndex("by_creation_time").first();
    const from = state?.through ?? 0;
    const cutoff = Date.now() - ROLLUP_LAG_MS;
    if (cutoff <= from) return { counted: 0, through: from, more: false };
    const rows = await ctx.db
      .query("invocationLog")
      .withIndex("by_at", (q) => q.gte("at", from).lt("at", cutoff))
      .take(ROLLUP_PAGE + 1);
    let through = cutoff;
    let batch = rows;
    const more = rows.length > ROLLUP_PAGE;
    if (more) {
      // Stop below the first row not taken: rows sharing its timestamp go together next step.
      through = rows[ROLLUP_PAGE].at;
      batch = rows.filter((r) => r.at < through);
      if (batch.length === 0) {
        // More than a page in one millisecond (one mutation's rows): take that millisecond whole.
        batch = await ctx.db
          .query("invocationLog")
          .withIndex("by_at", (q) => q.eq("at", through))
          .take(ROLLUP_PAGE * 8);
        through += 1;
      }
    }
    const tally: HourTally = new Map();
    for (const r of batch) countIntoHour(tally, r);
    await addHourTally(ctx, tally);
    // An idle step moves the watermark only across hour boundaries (so reconcile can pass them):
    // no write, and no dashboard refresh, every 30 s for nothing.
    if (batch.length > 0 || hourBucket(through) !== hourBucket(from)) {
      if (state) await ctx.db.patch("invocationRollup", state._id, { through });
      else await ctx.db.insert("invocationRollup", { through });
    }
    if (more) await ctx.scheduler.runAfter(0, internal.logs.summaries.rollupInvocations, {});
    return { counted: batch.length, through, more };
  },
});

export const recountInvocationHour = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    bucket: v.number(),
    cursor: v.union(v.string(), v.null()),
    tally: invocationTallyValidator,
  },
  returns: v.object({ done: v.boolean() }),
  handler: async (ctx, { workspaceId, bucket, cursor, tally }) => {
    if (bucket % HOUR !== 0 || bucket + HOUR > Date.now()) throw new Error("only closed hour buckets can be recounted");
    // An hour the rollup has not passed yet is still being added to; the rollup will finish it.
    if (bucket + HOUR > (await invocationRollupThrough(ctx))) return { done: true };
    // Rows or summaries still under the legacy names are counted but not in the new log: a recount
    // would drop them. The rollup's counts are exact meanwhile; reconcile again once they moved.
    if (await legacyInvocationCountsRemain(ctx)) return { done: true };
    const page = await ctx.db
      .query("invocationLog")
      .withIndex("by_workspace_at", (q) =>
        q
          .eq("workspaceId", workspaceId)
          .gte("at", bucket)
          .lt("at", bucket + HOUR),
      )
      .paginate({ cursor, numItems: PAGE });
    const t: Tally = { ...(tally ?? {}) };
    for (const r of page.page) countRow((t[r.targetKind] ??= noCounts()), r);
    if (!page.isDone) {
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountInvocationHour, {
        workspaceId,
        bucket,
        cursor: page.continueCursor,
        tally: t,
      });
      return { done: false };
    }
    const existing = await ctx.db
      .query("invocationSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", workspaceId).eq("bucket", bucket))
      .take(10);
    for (const row of existing) {
      const k = t[row.targetKind];
      if (!k) await ctx.db.delete("invocationSummary", row._id);
      else {
        await ctx.db.patch("invocationSummary", row._id, k);
        delete t[row.targetKind];
      }
    }
    for (const [targetKind, k] of Object.entries(t)) {
      await ctx.db.insert("invocationSummary", { workspaceId, bucket, targetKind, ...k });
    }
    return { done: true };
  },
});

export const recountSecurityHour = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    bucket: v.number(),
    cursor: v.union(v.string(), v.null()),
    tally: securityTallyValidator,
  },
  returns: v.object({ done: v.boolean() }),
  handler: async (ctx, { workspaceId, bucket, cursor, tally }) => {
    if (bucket % HOUR !== 0 || bucket + HOUR > Date.now()) throw new Error("only closed hour buckets can be recounted");
    const page = await ctx.db
      .query("securityEvents")
      .withIndex("by_workspace_at", (q) =>
        q
          .eq("workspaceId", workspaceId)
          .gte("at", bucket)
          .lt("at", bucket + HOUR),
      )
      .paginate({ cursor, numItems: PAGE });
    const t: Record<string, number> = { ...(tally ?? {}) };
    for (const e of page.page) t[e.code] = (t[e.code] ?? 0) + 1;
    if (!page.isDone) {
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountSecurityHour, {
        workspaceId,
        bucket,
        cursor: page.continueCursor,
        tally: t,
      });
      return { done: false };
    }
    const existing = await ctx.db
      .query("securityEventSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", workspaceId).eq("bucket", bucket))
      .take(500);
    for (const row of existing) {
      if (t[row.code] === undefined) await ctx.db.delete("securityEventSummary", row._id);
      else {
        await ctx.db.patch("securityEventSummary", row._id, { count: t[row.code] });
        delete t[row.code];
      }
    }
    for (const [code, count] of Object.entries(t))
      await ctx.db.insert("securityEventSummary", { workspaceId, bucket, code, count });
    return { done: true };
  },
});

/** Hourly cron: reconcile the previous hour for every workspace, one workspace per step. */
export const reconcilePreviousHour = internalMutation({
  args: { cursor: v.optional(v.union(v.string(), v.null())), bucket: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, args) => {
    const bucket = args.bucket ?? hourBucket(Date.now()) - HOUR;
    const page = await workspacePage(ctx, args.cursor ?? null, 1);
    for (const ws of page.page) {
      const workspaceId: Id<"workspaces"> = ws._id;
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountInvocationHour, {
        workspaceId,
        bucket,
        cursor: null,
        tally: {},
      });
      await ctx.scheduler.runAfter(0, internal.logs.summaries.recountSecurityHour, {
        workspaceId,
        bucket,
        cursor: null,
        tally: {},
      });
    }
    if (!page.isDone) {
      await ctx.scheduler.runAfter(1_000, internal.logs.summaries.reconcilePreviousHour, {
        cursor: page.continueCursor,
        bucket,
      });
    }
    return null;
  },
});
