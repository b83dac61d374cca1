/** The invocation log's hourly summary rows (per workspace, target kind and hour). */
import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { hourBucket } from "../lib/time";

export type SummaryCounts = { total: number; allowed: number; denied: number; totalDurationMs: number };
export type SummaryKey = { workspaceId: Id<"workspaces">; bucket: number; targetKind: string };
/** The fields of a log row its hour's summary counts. */
type CountedRow = {
  workspaceId: Id<"workspaces">;
  at: number;
  targetKind: string;
  allowed: boolean;
  durationMs: number;
};
/** Counts per (workspace, hour, target kind), to be added to the summary by addHourTally. */
export type HourTally = Map<string, SummaryKey & SummaryCounts>;

export const noCounts = (): SummaryCounts => ({ total: 0, allowed: 0, denied: 0, totalDurationMs: 0 });

/** Counts one log row `weight` times (−1 takes it back out). */
export function countRow(k: SummaryCounts, r: { allowed: boolean; durationMs: number }, weight = 1): void {
  k.total += weight;
  if (r.allowed) k.allowed += weight;
  else k.denied += weight;
  k.totalDurationMs += weight * r.durationMs;
}

/** Counts one log row `weight` times into its hour's entry of `tally`. */
export function countIntoHour(tally: HourTally, r: CountedRow, weight = 1): void {
  const bucket = hourBucket(r.at);
  const key = `${r.workspaceId}|${bucket}|${r.targetKind}`;
  let k = tally.get(key);
  if (!k) tally.set(key, (k = { workspaceId: r.workspaceId, bucket, targetKind: r.targetKind, ...noCounts() }));
  countRow(k, r, weight);
}

/** Adds every entry of `tally` to its hour's summary row. */
export async function addHourTally(ctx: MutationCtx, tally: HourTally): Promise<void> {
  for (const { workspaceId, bucket, targetKind, ...c } of tally.values())
    await addToSummary(ctx, { workspaceId, bucket, targetKind }, c);
}

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
