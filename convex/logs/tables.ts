import { defineTable } from "convex/server";
import { v } from "convex/values";

export const logTables = {
  /** Per-workspace retention (days) per log table. */
  retentionConfig: defineTable({
    workspaceId: v.id("workspaces"),
    table: v.string(),
    days: v.number(),
    updatedAt: v.number(),
  })
    .index("by_workspace_table", ["workspaceId", "table"])
    // Finds settings stored under a renamed table's old name (remapLegacyRetentionSettings).
    .index("by_table", ["table"]),
};
