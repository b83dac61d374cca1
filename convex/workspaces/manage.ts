import { v } from "convex/values";
import { viewerQuery } from "../access/builders";

/** The caller's workspace and role (from the server-resolved principal only). */
export const current = viewerQuery({
  args: {},
  returns: v.object({ workspaceId: v.id("workspaces"), name: v.string(), role: v.string(), ownerKey: v.string() }),
  handler: async (ctx) => {
    const ws = await ctx.db.get("workspaces", ctx.principal.workspaceId);
    return {
      workspaceId: ctx.principal.workspaceId,
      name: ws?.name ?? "",
      role: ctx.principal.role,
      ownerKey: ctx.principal.ownerKey,
    };
  },
});

/**
 * The caller's own workspaces for the switcher: active memberships of an active person (a
 * just-in-time Clerk-organization membership is reached through the organization, so it is left out).
 * Switching itself is POST /auth/switch (built-in) or making another Clerk organization active.
 */
export const mine = viewerQuery({
  args: {},
  returns: v.array(
    v.object({ workspaceId: v.id("workspaces"), name: v.string(), role: v.string(), current: v.boolean() }),
  ),
  handler: async (ctx) => {
    const ms = await ctx.db
      .query("memberships")
      .withIndex("by_owner", (q) => q.eq("ownerId", ctx.principal.ownerId))
      .take(50);
    const out = [];
    for (const m of ms) {
      if (m.active === false || m.via === "clerkOrg") continue;
      const ws = await ctx.db.get("workspaces", m.workspaceId);
      if (!ws) continue;
      out.push({ workspaceId: ws._id, name: ws.name, role: m.role, current: ws._id === ctx.principal.workspaceId });
    }
    return out;
  },
});
