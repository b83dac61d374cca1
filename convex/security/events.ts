import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { hourBucket } from "../lib/time";

export type SecurityEventInput = {
  workspaceId?: Id<"workspaces">;
  code: string;
  category: string;
  source?: string;
  detail?: string;
};

const MAX_DETAIL = 512;

/** Appends a security event and bumps the hourly summaries in the same transaction. */
export async function recordSecurityEvent(ctx: MutationCtx, e: SecurityEventInput): Promise<void> {
  const at = Date.now();
  await ctx.db.insert("securityEvents", {
    workspaceId: e.workspaceId,
    code: e.code,
    category: e.category,
    source: e.source?.slice(0, 200),
    detail: e.detail?.slice(0, MAX_DETAIL),
    at,
  });
  const bucket = hourBucket(at);
  const existing = await ctx.db
    .query("securityEventSummary")
    .withIndex("by_workspace_code_bucket", (q) =>
      q.eq("workspaceId", e.workspaceId).eq("code", e.code).eq("bucket", bucket),
    )
    .unique();
  if (existing) await ctx.db.patch(existing._id, { count: existing.count + 1 });
  else await ctx.db.insert("securityEventSummary", { workspaceId: e.workspaceId, code: e.code, bucket, count: 1 });
}

export async function recordRateLimitHit(
  ctx: MutationCtx,
  e: { workspaceId?: Id<"workspaces">; limitName: string; source?: string; category: string },
): Promise<void> {
  await recordSecurityEvent(ctx, {
    workspaceId: e.workspaceId,
    code: "RATE_LIMITED",
    category: e.category,
    source: e.source,
    detail: `limit=${e.limitName}`,
  });
  const bucket = hourBucket(Date.now());
  const existing = await ctx.db
    .query("rateLimitHitSummary")
    .withIndex("by_workspace_limit_bucket", (q) =>
      q.eq("workspaceId", e.workspaceId).eq("limitName", e.limitName).eq("bucket", bucket),
    )
    .unique();
  if (existing) await ctx.db.patch(existing._id, { count: existing.count + 1 });
  else await ctx.db.insert("rateLimitHitSummary", { workspaceId: e.workspaceId, limitName: e.limitName, bucket, count: 1 });
}
