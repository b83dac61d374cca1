/**
 * SyncBoard reads for the agency boundary: the pending-approval count (navigation badge), each
 * channel's sender policy, and each channel sender's trust. Bounded reads on indexes only.
 */
import { v } from "convex/values";
import { adminQuery, viewerQuery } from "../access/builders";
import { getOwned } from "../access/principal";
import { senderPolicyValidator, senderTrustValidator } from "./tables";

/** The badge shows "99+" beyond this. */
const COUNT_CAP = 99;
const MAX_CHANNELS = 100;
const MAX_USERS = 200;

/** How many calls wait for an owner's decision (capped; `more` when there are more). */
export const pendingCount = adminQuery({
  args: {},
  returns: v.object({ count: v.number(), more: v.boolean() }),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("toolApprovals")
      .withIndex("by_workspace_status", (q) => q.eq("workspaceId", ctx.principal.workspaceId).eq("status", "pending"))
      .take(COUNT_CAP + 1);
    return { count: Math.min(rows.length, COUNT_CAP), more: rows.length > COUNT_CAP };
  },
});

/** Every channel's policy for senders it does not know (absent = open). */
export const senderPolicies = viewerQuery({
  args: {},
  returns: v.array(v.object({ channelId: v.id("channelConfig"), policy: senderPolicyValidator })),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("channelConfig")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(MAX_CHANNELS);
    return rows.map((c) => ({ channelId: c._id, policy: c.senderPolicy ?? "open" }));
  },
});

/** The trust of each sender on one channel (same order as channels/users:list). */
export const senderTrust = viewerQuery({
  args: { channelId: v.id("channelConfig") },
  returns: v.array(
    v.object({ channelUserId: v.id("channelUsers"), trust: senderTrustValidator, linkedToYou: v.boolean() }),
  ),
  handler: async (ctx, { channelId }) => {
    await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
    const rows = await ctx.db
      .query("channelUsers")
      .withIndex("by_channel_user", (q) => q.eq("channelId", channelId))
      .take(MAX_USERS);
    return rows.map((u) => ({
      channelUserId: u._id,
      trust: u.trust ?? "unknown",
      linkedToYou: u.trust === "owner" && u.linkedOwnerId === ctx.principal.ownerId,
    }));
  },
});
