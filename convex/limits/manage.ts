/**
 * SyncBoard's rate-limit settings. Every named limit has a default (lib/limitsCatalog.ts); a
 * workspace may override rate and period. Overrides are read by enforceLimit at call time, so a
 * change applies to the next call. Limits cannot be switched off: rate ≥ 1, within sane maxima.
 */
import { v } from "convex/values";
import { viewerQuery, adminMutation } from "../access/builders";
import { fail } from "../access/principal";
import { writeAudit } from "../audit/log";
import { LIMIT_DEFAULTS, LIMIT_NAMES, isLimitName, validateLimitOverride } from "../lib/limitsCatalog";

const limitRow = v.object({
  name: v.string(),
  label: v.string(),
  defaultRate: v.number(),
  defaultPeriodMs: v.number(),
  rate: v.number(),
  periodMs: v.number(),
  overridden: v.boolean(),
  updatedAt: v.optional(v.number()),
});

export const list = viewerQuery({
  args: {},
  returns: v.array(limitRow),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("rateLimitConfig")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(LIMIT_NAMES.length * 2);
    return LIMIT_NAMES.map((name) => {
      const d = LIMIT_DEFAULTS[name];
      const o = rows.find((r) => r.name === name);
      return {
        name,
        label: d.label,
        defaultRate: d.rate,
        defaultPeriodMs: d.periodMs,
        rate: o?.rate ?? d.rate,
        periodMs: o?.periodMs ?? d.periodMs,
        overridden: o !== undefined,
        updatedAt: o?.updatedAt,
      };
    });
  },
});

export const set = adminMutation({
  args: { name: v.string(), rate: v.number(), periodMs: v.number() },
  returns: v.null(),
  handler: async (ctx, { name, rate, periodMs }) => {
    const check = validateLimitOverride(name, rate, periodMs);
    if (!check.ok) fail(check.code, { field: check.field });
    const workspaceId = ctx.principal.workspaceId;
    const existing = await ctx.db
      .query("rateLimitConfig")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId).eq("name", name))
      .first();
    const d = LIMIT_DEFAULTS[name as keyof typeof LIMIT_DEFAULTS];
    const before = existing
      ? { rate: existing.rate, periodMs: existing.periodMs }
      : { rate: d.rate, periodMs: d.periodMs, default: true };
    if (existing) await ctx.db.patch("rateLimitConfig", existing._id, { rate, periodMs, updatedAt: Date.now() });
    else await ctx.db.insert("rateLimitConfig", { workspaceId, name, rate, periodMs, updatedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "limit.set",
      target: name,
      before,
      after: { rate, periodMs },
    });
    return null;
  },
});

/** Back to the default. */
export const reset = adminMutation({
  args: { name: v.string() },
  returns: v.null(),
  handler: async (ctx, { name }) => {
    if (!isLimitName(name)) fail("CONFIG_INVALID", { field: "name" });
    const workspaceId = ctx.principal.workspaceId;
    const existing = await ctx.db
      .query("rateLimitConfig")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId).eq("name", name))
      .first();
    if (!existing) return null;
    await ctx.db.delete("rateLimitConfig", existing._id);
    const d = LIMIT_DEFAULTS[name];
    await writeAudit(ctx, {
      workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "limit.reset",
      target: name,
      before: { rate: existing.rate, periodMs: existing.periodMs },
      after: { rate: d.rate, periodMs: d.periodMs, default: true },
    });
    return null;
  },
});
