import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { hourBucket } from "../lib/time";
import { ABUSE_THRESHOLD, ABUSE_WINDOW_MS, countsTowardAbuse } from "../lib/abuse";
import { minimizeSource, minimizeText } from "../lib/pseudonym";
import { notify } from "../notifications/notify";
import type { Code } from "../lib/codes";

/** Key for the pseudonym tags (the deployment's secret key; never stored). */
export function pseudonymSecret(): string | undefined {
  return process.env.SKILL_SECRET_ENCRYPTION_KEY || undefined;
}
/** Operator opt-in: keep the raw source/detail of each event for RAW_EVENT_TTL_MS (securityEventRaw). */
export const RAW_EVENT_TTL_MS = 7 * 24 * 3600 * 1000;

export type SecurityEventInput = {
  workspaceId?: Id<"workspaces">;
  code: Code;
  category: string;
  source?: string;
  detail?: string;
};

const MAX_DETAIL = 512;

/**
 * Appends a security event and bumps the hourly summaries in the same transaction. IP addresses and
 * account names are stored as pseudonyms (lib/pseudonym); the raw values only where the operator
 * opted in (WARDEN_EVENTS_KEEP_RAW=1), in their own table with a 7-day lifetime.
 */
export async function recordSecurityEvent(ctx: MutationCtx, e: SecurityEventInput): Promise<void> {
  const at = Date.now();
  const secret = pseudonymSecret();
  const rawSource = e.source?.slice(0, 200);
  const rawDetail = e.detail?.slice(0, MAX_DETAIL);
  e = {
    ...e,
    source: rawSource === undefined ? undefined : await minimizeSource(rawSource, secret),
    detail: rawDetail === undefined ? undefined : await minimizeText(rawDetail, secret),
  };
  const eventId = await ctx.db.insert("securityEvents", {
    workspaceId: e.workspaceId,
    code: e.code,
    category: e.category,
    source: e.source,
    detail: e.detail,
    at,
  });
  if (process.env.WARDEN_EVENTS_KEEP_RAW === "1" && (rawSource !== e.source || rawDetail !== e.detail)) {
    await ctx.db.insert("securityEventRaw", { eventId, source: rawSource, detail: rawDetail, at });
  }
  const bucket = hourBucket(at);
  const existing = await ctx.db
    .query("securityEventSummary")
    .withIndex("by_workspace_code_bucket", (q) =>
      q.eq("workspaceId", e.workspaceId).eq("code", e.code).eq("bucket", bucket),
    )
    .unique();
  if (existing) await ctx.db.patch("securityEventSummary", existing._id, { count: existing.count + 1 });
  else await ctx.db.insert("securityEventSummary", { workspaceId: e.workspaceId, code: e.code, bucket, count: 1 });
  if (e.source && countsTowardAbuse(e.code)) await detectAbuse(ctx, e.workspaceId, e.source, at);
}

/**
 * Repeated denials from one source within the window raise one ABUSE_ALERT (security event +
 * SyncBoard notification). Reads at most ABUSE_THRESHOLD + a few documents.
 */
async function detectAbuse(ctx: MutationCtx, workspaceId: Id<"workspaces"> | undefined, source: string, at: number) {
  const since = at - ABUSE_WINDOW_MS;
  const recent = await ctx.db
    .query("securityEvents")
    .withIndex("by_source_at", (q) => q.eq("source", source).gte("at", since))
    .take(ABUSE_THRESHOLD + 1);
  const denials = recent.filter((r) => r.code !== "ABUSE_ALERT" && countsTowardAbuse(r.code));
  if (denials.length < ABUSE_THRESHOLD) return;
  if (recent.some((r) => r.code === "ABUSE_ALERT")) return; // one alert per window and source
  const alertSource = source;
  await ctx.db.insert("securityEvents", {
    workspaceId,
    code: "ABUSE_ALERT",
    category: "alert",
    source: alertSource,
    detail: `${denials.length}+ denials within ${ABUSE_WINDOW_MS / 60_000} min (latest: ${denials[denials.length - 1].code})`,
    at,
  });
  const bucket = hourBucket(at);
  const sum = await ctx.db
    .query("securityEventSummary")
    .withIndex("by_workspace_code_bucket", (q) =>
      q.eq("workspaceId", workspaceId).eq("code", "ABUSE_ALERT").eq("bucket", bucket),
    )
    .unique();
  if (sum) await ctx.db.patch("securityEventSummary", sum._id, { count: sum.count + 1 });
  else await ctx.db.insert("securityEventSummary", { workspaceId, code: "ABUSE_ALERT", bucket, count: 1 });
  if (workspaceId) {
    await notify(
      ctx,
      {
        workspaceId,
        kind: "abuse",
        title: "Repeated denials from one source",
        source,
        body: `${source.split(":")[0]} source exceeded ${ABUSE_THRESHOLD} denials in ${ABUSE_WINDOW_MS / 60_000} minutes. Review security events and block it if needed.`,
      },
      at,
    );
  }
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
  if (existing) await ctx.db.patch("rateLimitHitSummary", existing._id, { count: existing.count + 1 });
  else
    await ctx.db.insert("rateLimitHitSummary", {
      workspaceId: e.workspaceId,
      limitName: e.limitName,
      bucket,
      count: 1,
    });
}
