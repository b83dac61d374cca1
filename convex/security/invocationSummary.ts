/** The invocation log's hourly summary rows (per workspace, target kind and hour). */
import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";

export type SummaryCounts = { total: number; allowed: number; denied: number; totalDurationMs: number };
export type SummaryKey = { workspaceId: Id<"workspaces">; bucket: number; targetKind: string };

/** Adds counts (possibly negative) to one hour's summary row, creating it if absent. */
export async function addToSummary(ctx: MutationCtx, k: SummaryKey, c: SummaryCounts): Promise<void> {
  const row = await ctx.db
    .query("invocationSummary")
    .withIndex("by_workspace_kind_bucket", (q) =>
      q.eq("workspaceId", k.workspaceId).eq("targetKind", k.targetKind).eq("bucket", k.bucket),
    )
    .first();
  if (row) {
    await ctx.db.patch("invocationSummary", row._id, {
      total: row.total + c.total,
      allowed: row.allowed + c.allowed,
      denied: row.denied + c.denied,
      totalDurationMs: row.totalDurationMs + c.totalDurationMs,
    });
  } else {
    await ctx.db.insert("invocationSummary", {
      workspaceId: k.workspaceId,
      bucket: k.bucket,
      targetKind: k.targetKind,
      total: c.total,
      allowed: c.allowed,
      denied: c.denied,
      totalDurationMs: c.totalDurationMs,
    });
  }
}
