import { v } from "convex/values";
import { viewerQuery } from "../access/builders";
import { hourBucket, HOUR } from "../lib/time";
import { invocationRollupThrough } from "./summaries";
import { latestNotifications } from "../notifications/notify";

const WINDOW_HOURS = 24;
/** Live-tail cap: about 5 minutes at the default global limit; normally the tail is ≤ 40 s. */
export const LIVE_TAIL_MAX = 1_000;

/**
 * SyncBoard overview. Reads summary tables, the invocation log rows not yet rolled into the
 * summary (at most LIVE_TAIL_MAX; normally well under a minute of traffic) and a few bounded
 * "latest" slices, so the number of documents read does not depend on how large the logs are.
 */
/** The overview's four counts, per bucket and in total (also the range overview's, explore.ts). */
export const overviewCountsFields = {
  invocations: v.number(),
  denied: v.number(),
  securityEvents: v.number(),
  rateLimitHits: v.number(),
};

const overviewResult = v.object({
  hours: v.array(v.object({ bucket: v.number(), ...overviewCountsFields })),
  totals: v.object(overviewCountsFields),
  liveTailTruncated: v.boolean(),
  securityByCode: v.record(v.string(), v.number()),
  rateLimitsByName: v.record(v.string(), v.number()),
  recentSecurityEvents: v.array(
    v.object({ code: v.string(), category: v.string(), detail: v.string(), at: v.number() }),
  ),
  recentFailedInvocations: v.array(
    v.object({ target: v.string(), kind: v.string(), code: v.string(), at: v.number() }),
  ),
  notifications: v.array(
    v.object({
      id: v.id("notifications"),
      kind: v.string(),
      title: v.string(),
      body: v.string(),
      read: v.boolean(),
      createdAt: v.number(),
    }),
  ),
  mcpHealth: v.array(
    v.object({
      id: v.id("mcpServers"),
      name: v.string(),
      status: v.string(),
      enabled: v.boolean(),
      health: v.string(),
      latencyMs: v.union(v.number(), v.null()),
      checkedAt: v.union(v.number(), v.null()),
    }),
  ),
});

export const overview = viewerQuery({
  args: {},
  returns: overviewResult,
  handler: async (ctx) => {
    const ws = ctx.principal.workspaceId;
    const since = hourBucket(Date.now()) - (WINDOW_HOURS - 1) * HOUR;
    const invocationBuckets = await ctx.db
      .query("invocationSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", ws).gte("bucket", since))
      .take(WINDOW_HOURS * 4);
    // Rows at or past the rollup watermark are in no summary yet: count them here (same snapshot).
    const through = await invocationRollupThrough(ctx);
    const tail = await ctx.db
      .query("invocationLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws).gte("at", Math.max(through, since)))
      .take(LIVE_TAIL_MAX + 1);
    const liveTailTruncated = tail.length > LIVE_TAIL_MAX;
    if (liveTailTruncated) tail.length = LIVE_TAIL_MAX;
    const securityBuckets = await ctx.db
      .query("securityEventSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", ws).gte("bucket", since))
      .take(1000);
    const rateLimitBuckets = await ctx.db
      .query("rateLimitHitSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", ws).gte("bucket", since))
      .take(500);
    const recentSecurity = await ctx.db
      .query("securityEvents")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws))
      .order("desc")
      .take(8);
    const recentFailures = await ctx.db
      .query("invocationLog")
      .withIndex("by_workspace_allowed_at", (q) => q.eq("workspaceId", ws).eq("allowed", false))
      .order("desc")
      .take(8);
    const notifications = await latestNotifications(ctx, ws, 10);
    const servers = await ctx.db
      .query("mcpServers")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
      .take(50);

    const hours: {
      bucket: number;
      invocations: number;
      denied: number;
      securityEvents: number;
      rateLimitHits: number;
    }[] = [];
    for (let i = 0; i < WINDOW_HOURS; i++) {
      const bucket = since + i * HOUR;
      const inv = invocationBuckets.filter((b) => b.bucket === bucket);
      const live = tail.filter((r) => hourBucket(r.at) === bucket);
      hours.push({
        bucket,
        invocations: inv.reduce((n, b) => n + b.total, 0) + live.length,
        denied: inv.reduce((n, b) => n + b.denied, 0) + live.filter((r) => !r.allowed).length,
        securityEvents: securityBuckets.filter((b) => b.bucket === bucket).reduce((n, b) => n + b.count, 0),
        rateLimitHits: rateLimitBuckets.filter((b) => b.bucket === bucket).reduce((n, b) => n + b.count, 0),
      });
    }
    const byCode: Record<string, number> = {};
    for (const b of securityBuckets) byCode[b.code] = (byCode[b.code] ?? 0) + b.count;
    const byLimit: Record<string, number> = {};
    for (const b of rateLimitBuckets) byLimit[b.limitName] = (byLimit[b.limitName] ?? 0) + b.count;

    return {
      hours,
      totals: {
        invocations: hours.reduce((n, h) => n + h.invocations, 0),
        denied: hours.reduce((n, h) => n + h.denied, 0),
        securityEvents: hours.reduce((n, h) => n + h.securityEvents, 0),
        rateLimitHits: hours.reduce((n, h) => n + h.rateLimitHits, 0),
      },
      /** True when more than LIVE_TAIL_MAX rows await the rollup: invocation counts are then low. */
      liveTailTruncated,
      securityByCode: byCode,
      rateLimitsByName: byLimit,
      recentSecurityEvents: recentSecurity.map((e) => ({
        code: e.code,
        category: e.category,
        detail: e.detail ?? "",
        at: e.at,
      })),
      recentFailedInvocations: recentFailures.map((r) => ({
        target: r.targetName,
        kind: r.targetKind,
        code: r.code,
        at: r.at,
      })),
      notifications: notifications.map((n) => ({
        id: n._id,
        kind: n.kind,
        title: n.title,
        body: n.body,
        read: n.readAt !== undefined,
        createdAt: n.createdAt,
      })),
      mcpHealth: servers.map((s) => ({
        id: s._id,
        name: s.name,
        status: s.status,
        enabled: s.enabled,
        health: s.healthStatus,
        latencyMs: s.healthLatencyMs ?? null,
        checkedAt: s.healthCheckedAt ?? null,
      })),
    };
  },
});
