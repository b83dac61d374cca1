import { v } from "convex/values";
import { internalQuery } from "../_generated/server";

/** Is this owner still active and an active member of this workspace? (token refresh) */
export const stillMember = internalQuery({
  args: { ownerId: v.string(), workspaceId: v.string() },
  handler: async (ctx, args) => {
    const ownerId = ctx.db.normalizeId("owners", args.ownerId);
    const workspaceId = ctx.db.normalizeId("workspaces", args.workspaceId);
    if (!ownerId || !workspaceId) return null;
    const owner = await ctx.db.get(ownerId);
    if (!owner || !owner.active) return null;
    const m = await ctx.db
      .query("memberships")
      .withIndex("by_owner_workspace", (q) => q.eq("ownerId", ownerId).eq("workspaceId", workspaceId))
      .unique();
    return m && m.active !== false ? { ownerId, workspaceId } : null;
  },
});
