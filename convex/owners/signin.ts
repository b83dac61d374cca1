import { v } from "convex/values";
import { internalMutation, internalQuery } from "../_generated/server";
import { enforceLimit, refundLimit } from "../limits/enforce";
import { minimizeSource } from "../lib/pseudonym";
import { pseudonymSecret, recordSecurityEvent } from "../security/events";
import { recordForPerson } from "../security/edge";
import { writeAudit } from "../audit/log";

export const credential = internalQuery({
  args: { ownerKey: v.string(), workspaceId: v.optional(v.string()) },
  returns: v.union(
    v.null(),
    v.object({
      ownerId: v.id("owners"),
      passwordHash: v.optional(v.string()),
      active: v.boolean(),
      workspaceId: v.union(v.id("workspaces"), v.null()),
    }),
  ),
  handler: async (ctx, { ownerKey, workspaceId }) => {
    const owner = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", ownerKey))
      .unique();
    if (!owner) return null;
    // The requested workspace if the owner is a member there, else their first active membership.
    const wanted = workspaceId ? ctx.db.normalizeId("workspaces", workspaceId) : null;
    const memberships = await ctx.db
      .query("memberships")
      .withIndex("by_owner", (q) => q.eq("ownerId", owner._id))
      .take(50);
    const m =
      (wanted && memberships.find((x) => x.workspaceId === wanted)) || memberships.find((x) => x.active !== false);
    return {
      ownerId: owner._id,
      passwordHash: owner.passwordHash,
      active: owner.active && m?.active !== false, // person and membership
      workspaceId: m?.workspaceId ?? null,
    };
  },
});

/** Keys of the sign-in failure budgets (owners/password.ts counts against the same ones). */
export const accountLimitKey = (ownerKey: string) => `acct:${ownerKey.toLowerCase()}`;
export const ipLimitKey = (ip: string) => `ip:${ip}`;

/** The sign-in failure budgets an attempt is counted against. */
function budgets(ownerKey: string, ip: string) {
  return [
    ["signinPerAccount", accountLimitKey(ownerKey)],
    ["signinPerIp", ipLimitKey(ip)],
  ] as const;
}

/**
 * Counts the attempt against the account and IP failure budgets before any password work (so
 * concurrent attempts cannot all pass one check); refuses when either is spent. recordSuccess refunds.
 */
export const precheck = internalMutation({
  args: { ownerKey: v.string(), ip: v.string() },
  returns: v.object({ ok: v.boolean(), retryAfterMs: v.number() }),
  handler: async (ctx, { ownerKey, ip }) => {
    for (const [name, key] of budgets(ownerKey, ip)) {
      const r = await enforceLimit(ctx, { name, key, category: "auth", source: `ip:${ip}`, checkOnly: true });
      if (!r.ok) {
        await recordSecurityEvent(ctx, {
          code: "RATE_LIMITED",
          category: "auth",
          source: `ip:${ip}`,
          detail: `limit=${name}`,
        });
        return { ok: false, retryAfterMs: r.retryAfterMs };
      }
    }
    for (const [name, key] of budgets(ownerKey, ip))
      await enforceLimit(ctx, { name, key, category: "auth", source: `ip:${ip}` });
    return { ok: true, retryAfterMs: 0 };
  },
});

export const recordFailure = internalMutation({
  args: { ownerKey: v.string(), ip: v.string(), reason: v.string() },
  returns: v.null(),
  handler: async (ctx, { ownerKey, ip, reason }) => {
    // The attempt was already counted by precheck. Also shown in each workspace of the targeted person.
    await recordForPerson(ctx, ownerKey, {
      code: "SIGNIN_FAILED",
      category: "auth",
      source: `ip:${ip}`,
      detail: `account=${ownerKey.slice(0, 64)} reason=${reason}`,
    });
    return null;
  },
});

export const recordSuccess = internalMutation({
  args: { ownerId: v.id("owners"), workspaceId: v.id("workspaces"), ip: v.string(), method: v.string() },
  returns: v.null(),
  handler: async (ctx, { ownerId, workspaceId, ip, method }) => {
    const owner = await ctx.db.get("owners", ownerId);
    // A password sign-in that succeeded is not a failure: give back what precheck took.
    if (method === "password" && owner) {
      for (const [name, key] of budgets(owner.ownerKey, ip)) await refundLimit(ctx, { name, key });
    }
    await writeAudit(ctx, {
      workspaceId,
      actorId: ownerId,
      actorLabel: owner?.ownerKey ?? "unknown",
      action: method === "refresh" ? "auth.refresh" : "auth.signin",
      target: await minimizeSource(`ip:${ip}`, pseudonymSecret()),
    });
    return null;
  },
});
