import { v } from "convex/values";
import { internalMutation, internalQuery } from "../_generated/server";
import { enforceLimit } from "../limits/enforce";
import { recordSecurityEvent } from "../security/events";
import { recordForPerson } from "../security/edge";
import { writeAudit } from "../audit/log";

export const credential = internalQuery({
  args: { ownerKey: v.string(), workspaceId: v.optional(v.string()) },
  handler: async (ctx, { ownerKey, workspaceId }) => {
    const owner = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", ownerKey))
      .unique();
    if (!owner) return null;
    // The workspace is the requested one if the owner is a member there, else their first membership.
    const wanted = workspaceId ? ctx.db.normalizeId("workspaces", workspaceId) : null;
    const memberships = await ctx.db
      .query("memberships")
      .withIndex("by_owner", (q) => q.eq("ownerId", owner._id))
      .take(50);
    const m = (wanted && memberships.find((x) => x.workspaceId === wanted)) || memberships[0];
    return {
      ownerId: owner._id,
      passwordHash: owner.passwordHash,
      active: owner.active,
      workspaceId: m?.workspaceId ?? null,
    };
  },
});

/** Refuses before any password work when the account or the IP is over its failure budget. */
export const precheck = internalMutation({
  args: { ownerKey: v.string(), ip: v.string() },
  returns: v.object({ ok: v.boolean(), retryAfterMs: v.number() }),
  handler: async (ctx, { ownerKey, ip }) => {
    for (const [name, key] of [
      ["signinPerAccount", `acct:${ownerKey.toLowerCase()}`],
      ["signinPerIp", `ip:${ip}`],
    ] as const) {
      const r = await enforceLimit(ctx, { name, key, category: "auth", source: `ip:${ip}`, checkOnly: true });
      if (!r.ok) {
        await recordSecurityEvent(ctx, { code: "RATE_LIMITED", category: "auth", source: `ip:${ip}`, detail: `limit=${name}` });
        return { ok: false, retryAfterMs: r.retryAfterMs };
      }
    }
    return { ok: true, retryAfterMs: 0 };
  },
});

export const recordFailure = internalMutation({
  args: { ownerKey: v.string(), ip: v.string(), reason: v.string() },
  returns: v.null(),
  handler: async (ctx, { ownerKey, ip, reason }) => {
    await enforceLimit(ctx, { name: "signinPerAccount", key: `acct:${ownerKey.toLowerCase()}`, category: "auth", source: `ip:${ip}` });
    await enforceLimit(ctx, { name: "signinPerIp", key: `ip:${ip}`, category: "auth", source: `ip:${ip}` });
    // Also shown in each workspace of the targeted person.
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
    const owner = await ctx.db.get(ownerId);
    await writeAudit(ctx, {
      workspaceId,
      actorId: ownerId,
      actorLabel: owner?.ownerKey ?? "unknown",
      action: method === "refresh" ? "auth.refresh" : "auth.signin",
      target: `ip:${ip}`,
    });
    return null;
  },
});
