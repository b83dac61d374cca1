import { RateLimiter } from "@convex-dev/rate-limiter";
import { components } from "../_generated/api";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { LIMIT_DEFAULTS, type LimitName } from "../lib/limitsCatalog";
import { recordRateLimitHit } from "../security/events";

const rateLimiter = new RateLimiter(components.rateLimiter);

export type LimitResult =
  { ok: true } | { ok: false; code: "RATE_LIMITED" | "LIMIT_UNAVAILABLE"; retryAfterMs: number };

/** The effective limit for a workspace: its override row, else the default. Read at call time. */
export async function effectiveLimit(
  ctx: QueryCtx | MutationCtx,
  workspaceId: Id<"workspaces"> | undefined,
  name: LimitName,
): Promise<{ rate: number; periodMs: number }> {
  const d = LIMIT_DEFAULTS[name];
  if (!workspaceId) return { rate: d.rate, periodMs: d.periodMs };
  const row = await ctx.db
    .query("rateLimitConfig")
    .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId).eq("name", name))
    .unique();
  return row ? { rate: row.rate, periodMs: row.periodMs } : { rate: d.rate, periodMs: d.periodMs };
}

/**
 * Consumes `count` from the named limit for `key`. Fails closed: if the limit cannot be
 * evaluated the call is denied. Every denial is logged as a security event.
 */
export async function enforceLimit(
  ctx: MutationCtx,
  args: {
    workspaceId?: Id<"workspaces">;
    name: LimitName;
    key: string;
    count?: number;
    category: string;
    source?: string;
    /** only check, do not consume */
    checkOnly?: boolean;
    /** A per-target limit that wins over the workspace override (e.g. skill.rateLimitPerMinute). */
    override?: { rate: number; periodMs: number };
  },
): Promise<LimitResult> {
  let result: LimitResult;
  try {
    const { rate, periodMs } = args.override ?? (await effectiveLimit(ctx, args.workspaceId, args.name));
    if (!(Number.isSafeInteger(rate) && rate >= 1 && Number.isFinite(periodMs) && periodMs > 0)) {
      throw new Error("limit not evaluable");
    }
    const config = { kind: "token bucket" as const, rate, period: periodMs, capacity: rate };
    const key = `${args.workspaceId ?? "global"}:${args.key}`;
    const opts = { key, config, count: args.count ?? 1 };
    const r = args.checkOnly
      ? await rateLimiter.check(ctx, args.name, opts)
      : await rateLimiter.limit(ctx, args.name, opts);
    result = r.ok
      ? { ok: true }
      : { ok: false, code: "RATE_LIMITED", retryAfterMs: Math.max(1, Math.ceil(r.retryAfter ?? periodMs)) };
  } catch {
    result = { ok: false, code: "LIMIT_UNAVAILABLE", retryAfterMs: 1000 };
  }
  if (!result.ok && !args.checkOnly) {
    await recordRateLimitHit(ctx, {
      workspaceId: args.workspaceId,
      limitName: args.name,
      source: args.source,
      category: args.category,
    });
  }
  return result;
}

/**
 * The workspace's one admission budget for all users combined (seed 002 "Global"): every web-chat
 * message or voice transcript, every channel message and every MCP request takes one. Fails closed.
 */
export async function admitAllUsers(
  ctx: MutationCtx,
  args: { workspaceId: Id<"workspaces">; category: string; source: string },
): Promise<LimitResult> {
  return await enforceLimit(ctx, {
    workspaceId: args.workspaceId,
    name: "allUsersGlobal",
    key: "all",
    category: args.category,
    source: args.source,
  });
}

/**
 * Gives back up to `count` tokens taken by enforceLimit (e.g. a sign-in attempt that succeeded),
 * never filling the bucket above its capacity.
 */
export async function refundLimit(
  ctx: MutationCtx,
  args: { workspaceId?: Id<"workspaces">; name: LimitName; key: string; count?: number },
): Promise<void> {
  const { rate, periodMs } = await effectiveLimit(ctx, args.workspaceId, args.name);
  const config = { kind: "token bucket" as const, rate, period: periodMs, capacity: rate };
  const key = `${args.workspaceId ?? "global"}:${args.key}`;
  const state = await rateLimiter.getValue(ctx, args.name, { key, config });
  const now = Date.now();
  const current = Math.min(state.value + (Math.max(0, now - state.ts) * rate) / periodMs, rate);
  const refund = Math.min(args.count ?? 1, rate - current);
  if (refund > 1e-9) await rateLimiter.limit(ctx, args.name, { key, config, count: -refund });
}
