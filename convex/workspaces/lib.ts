import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";

export const DEFAULT_WORKSPACE_SLUG = "default";

export async function ensureWorkspace(ctx: MutationCtx, slug: string, name?: string): Promise<Id<"workspaces">> {
  const existing = await ctx.db
    .query("workspaces")
    .withIndex("by_slug", (q) => q.eq("slug", slug))
    .unique();
  if (existing) return existing._id;
  return await ctx.db.insert("workspaces", { name: name ?? (slug === DEFAULT_WORKSPACE_SLUG ? "Default workspace" : slug), slug, createdAt: Date.now() });
}

export async function setMembership(
  ctx: MutationCtx,
  ownerId: Id<"owners">,
  workspaceId: Id<"workspaces">,
  role: "owner" | "admin" | "viewer",
): Promise<void> {
  const m = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", ownerId).eq("workspaceId", workspaceId))
    .unique();
  if (m) {
    if (m.role !== role) await ctx.db.patch(m._id, { role });
  } else {
    await ctx.db.insert("memberships", { ownerId, workspaceId, role, createdAt: Date.now() });
  }
}
