import { defineTable } from "convex/server";
import { v } from "convex/values";

export const notificationTables = {
  /** SyncBoard notifications (health auto-disable, abuse alerts). */
  notifications: defineTable({
    workspaceId: v.id("workspaces"),
    kind: v.string(),
    title: v.string(),
    body: v.string(),
    /** the security-event source an abuse alert is about (pseudonymous key), for SyncBoard's actions */
    source: v.optional(v.string()),
    readAt: v.optional(v.number()),
    createdAt: v.number(),
  }).index("by_workspace_created", ["workspaceId", "createdAt"]),
};
