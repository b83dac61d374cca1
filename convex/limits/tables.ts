import { defineTable } from "convex/server";
import { v } from "convex/values";

export const limitTables = {
  /** Per-workspace overrides of the named limits; read at call time. */
  rateLimitConfig: defineTable({
    workspaceId: v.id("workspaces"),
    name: v.string(),
    rate: v.number(),
    periodMs: v.number(),
    updatedAt: v.number(),
  }).index("by_workspace_name", ["workspaceId", "name"]),
};
