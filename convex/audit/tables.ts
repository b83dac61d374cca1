import { defineTable } from "convex/server";
import { v } from "convex/values";

export const auditTables = {
  /** Every privileged action: who, what, when, where; summaries never hold secret values. */
  auditLog: defineTable({
    workspaceId: v.id("workspaces"),
    actorId: v.optional(v.id("owners")),
    actorLabel: v.string(),
    action: v.string(),
    target: v.optional(v.string()),
    before: v.optional(v.any()),
    after: v.optional(v.any()),
    at: v.number(),
  })
    .index("by_workspace_at", ["workspaceId", "at"])
    .index("by_at", ["at"]),
};
