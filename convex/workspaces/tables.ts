import { defineTable } from "convex/server";
import { v } from "convex/values";

export const roleValidator = v.union(v.literal("owner"), v.literal("admin"), v.literal("viewer"));

export const workspaceTables = {
  /** The tenant boundary: a built-in workspace or a Clerk organization. */
  workspaces: defineTable({
    name: v.string(),
    slug: v.string(),
    /** the linked Clerk organization (owners/org.ts); its members reach this workspace with that org active */
    clerkOrgId: v.optional(v.string()),
    /** just-in-time memberships for members of the linked organization (off unless an owner turns it on) */
    clerkOrgJit: v.optional(v.boolean()),
    /** two-person rule: whoever last changed a skill (or registered an MCP server) cannot approve it (workspaces/policy.ts) */
    twoPersonRule: v.optional(v.boolean()),
    createdAt: v.number(),
  })
    .index("by_slug", ["slug"])
    .index("by_clerkOrgId", ["clerkOrgId"]),

  /** Owner ↔ workspace with the role held there. */
  memberships: defineTable({
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    role: roleValidator,
    /** false: deactivated in this workspace by one of its owners (the person stays active elsewhere); absent = active. */
    active: v.optional(v.boolean()),
    /** "clerkOrg": made just-in-time for a member of the linked organization; usable only with that org active */
    via: v.optional(v.literal("clerkOrg")),
    createdAt: v.number(),
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_workspace_role", ["workspaceId", "role"])
    .index("by_owner", ["ownerId"])
    .index("by_owner_workspace", ["ownerId", "workspaceId"]),
};
