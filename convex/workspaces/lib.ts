import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { fail } from "../access/principal";

export const DEFAULT_WORKSPACE_SLUG = "default";

/** One page of all workspaces in creation order (the crons' walks). */
export async function workspacePage(ctx: QueryCtx, cursor: string | null, numItems: number) {
  return await ctx.db.query("workspaces").withIndex("by_creation_time").paginate({ cursor, numItems });
}

/** Creation time of the newest workspace (0 when there is none). */
export async function newestWorkspaceAt(ctx: QueryCtx): Promise<number> {
  return (await ctx.db.query("workspaces").withIndex("by_creation_time").order("desc").first())?._creationTime ?? 0;
}

export async function workspaceBySlug(ctx: QueryCtx, slug: string): Promise<Doc<"workspaces"> | null> {
  return await ctx.db
    .query("workspaces")
    .withIndex("by_slug", (q) => q.eq("slug", slug))
    .unique();
}

export async function ensureWorkspace(ctx: MutationCtx, slug: string, name?: string): Promise<Id<"workspaces">> {
  const existing = await ctx.db
    .query("workspaces")
    .withIndex("by_slug", (q) => q.eq("slug", slug))
    .unique();
  if (existing) return existing._id;
  return await ctx.db.insert("workspaces", {
    name: name ?? (slug === DEFAULT_WORKSPACE_SLUG ? "Default workspace" : slug),
    slug,
    createdAt: Date.now(),
  });
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
    if (m.role !== role) await ctx.db.patch("memberships", m._id, { role });
  } else {
    await ctx.db.insert("memberships", { ownerId, workspaceId, role, createdAt: Date.now() });
  }
}

/** Owner memberships read per check; a workspace with more owners than this is treated as having one if any is active. */
const OWNER_SCAN = 100;

/** Does the workspace have an owner whose membership and person are both active? */
export async function hasActiveOwner(ctx: QueryCtx, workspaceId: Id<"workspaces">): Promise<boolean> {
  const owners = await ctx.db
    .query("memberships")
    .withIndex("by_workspace_role", (q) => q.eq("workspaceId", workspaceId).eq("role", "owner"))
    .take(OWNER_SCAN);
  for (const m of owners) {
    if (m.active === false) continue;
    const person = await ctx.db.get("owners", m.ownerId);
    if (person?.active) return true;
  }
  return false;
}

/**
 * Last-owner guard. Call after a mutation's membership/person writes: it fails with LAST_OWNER
 * (rolling the whole mutation back) when the workspace is left without an active owner.
 */
export async function requireActiveOwner(ctx: QueryCtx, workspaceId: Id<"workspaces">): Promise<void> {
  if (!(await hasActiveOwner(ctx, workspaceId))) fail("LAST_OWNER");
}
