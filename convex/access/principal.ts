import { ConvexError } from "convex/values";
import type { QueryCtx } from "../_generated/server";
import type { Id, Doc } from "../_generated/dataModel";
import { providerForIssuer } from "../lib/authMode";

export type Role = "owner" | "admin" | "viewer";
const RANK: Record<Role, number> = { viewer: 1, admin: 2, owner: 3 };

export type Principal = {
  ownerId: Id<"owners">;
  ownerKey: string;
  workspaceId: Id<"workspaces">;
  role: Role;
  provider: "clerk" | "builtin";
};

export function fail(code: string, extra?: Record<string, unknown>): never {
  throw new ConvexError({ code, ...extra });
}

export function roleAtLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

/**
 * identity → owner → workspace membership → role. Fails closed on every step.
 * The workspace comes only from verified claims (built-in `wid`, Clerk `org_id`), never from arguments.
 */
export async function resolvePrincipal(ctx: Pick<QueryCtx, "auth" | "db">, min: Role): Promise<Principal> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) fail("UNAUTHENTICATED");
  const provider = providerForIssuer(identity.issuer, process.env);
  if (!provider) fail("UNAUTHENTICATED");

  let owner: Doc<"owners"> | null = null;
  if (provider === "builtin") {
    const id = ctx.db.normalizeId("owners", identity.subject);
    owner = id ? await ctx.db.get(id) : null;
  } else {
    owner = await ctx.db
      .query("owners")
      .withIndex("by_clerkUserId", (q) => q.eq("clerkUserId", identity.subject))
      .unique();
  }
  if (!owner) fail("FORBIDDEN");
  if (!owner.active) fail("OWNER_INACTIVE");

  let workspaceId: Id<"workspaces"> | null = null;
  if (provider === "builtin") {
    const wid = (identity as Record<string, unknown>).wid;
    workspaceId = typeof wid === "string" ? ctx.db.normalizeId("workspaces", wid) : null;
  } else {
    const orgId = (identity as Record<string, unknown>).org_id;
    if (typeof orgId === "string") {
      const ws = await ctx.db
        .query("workspaces")
        .withIndex("by_clerkOrgId", (q) => q.eq("clerkOrgId", orgId))
        .unique();
      workspaceId = ws?._id ?? null;
    } else {
      // No active organization: allowed only if the owner belongs to exactly one workspace.
      const ms = await ctx.db
        .query("memberships")
        .withIndex("by_owner", (q) => q.eq("ownerId", owner._id))
        .take(2);
      workspaceId = ms.length === 1 ? ms[0].workspaceId : null;
    }
  }
  if (!workspaceId) fail("FORBIDDEN");

  const membership = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", owner._id).eq("workspaceId", workspaceId))
    .unique();
  if (!membership) fail("FORBIDDEN");
  if (membership.active === false) fail("MEMBERSHIP_INACTIVE");
  if (!roleAtLeast(membership.role, min)) fail("FORBIDDEN");

  return { ownerId: owner._id, ownerKey: owner.ownerKey, workspaceId, role: membership.role, provider };
}

/** Loads a workspace-owned document and checks it belongs to the caller's workspace. */
export async function getOwned<T extends { workspaceId: Id<"workspaces"> }>(
  doc: T | null,
  principal: { workspaceId: Id<"workspaces"> },
): Promise<T> {
  if (!doc) fail("NOT_FOUND");
  if (doc.workspaceId !== principal.workspaceId) fail("FORBIDDEN");
  return doc;
}
