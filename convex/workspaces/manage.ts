import { v } from "convex/values";
import { viewerQuery } from "../access/builders";

/** The caller's workspace and role (from the server-resolved principal only). */
export const current = viewerQuery({
  args: {},
  returns: v.object({ workspaceId: v.id("workspaces"), name: v.string(), role: v.string(), ownerKey: v.string() }),
  handler: async (ctx) => {
    const ws = await ctx.db.get(ctx.principal.workspaceId);
    return {
      workspaceId: ctx.principal.workspaceId,
      name: ws?.name ?? "",
      role: ctx.principal.role,
      ownerKey: ctx.principal.ownerKey,
    };
  },
});
