import { defineTable } from "convex/server";
import { v } from "convex/values";

export const securityTables = {
  /** Denials and suspicious events. workspaceId is absent only for pre-workspace events (sign-in). */
  securityEvents: defineTable({
    workspaceId: v.optional(v.id("workspaces")),
    code: v.string(),
    /** e.g. "skill", "mcp", "webhook", "auth", "chat", "alert" */
    category: v.string(),
    /** caller/source key for abuse detection, e.g. "ip:…", "session:…", "channelUser:…" */
    source: v.optional(v.string()),
    /** redacted, truncated detail without payload or PII */
    detail: v.optional(v.string()),
    at: v.number(),
  })
    .index("by_workspace_at", ["workspaceId", "at"])
    .index("by_workspace_code_at", ["workspaceId", "code", "at"])
    .index("by_source_at", ["source", "at"])
    .index("by_workspace_source_at", ["workspaceId", "source", "at"])
    .index("by_at", ["at"]),

  /** Raw source/detail of an event, only when the operator opted in; purged after 7 days. */
  securityEventRaw: defineTable({
    eventId: v.id("securityEvents"),
    source: v.optional(v.string()),
    detail: v.optional(v.string()),
    at: v.number(),
  }).index("by_at", ["at"]),

  securityEventSummary: defineTable({
    workspaceId: v.optional(v.id("workspaces")),
    bucket: v.number(), // start of the hour, ms
    code: v.string(),
    count: v.number(),
  })
    .index("by_workspace_bucket", ["workspaceId", "bucket"])
    .index("by_workspace_code_bucket", ["workspaceId", "code", "bucket"]),

  rateLimitHitSummary: defineTable({
    workspaceId: v.optional(v.id("workspaces")),
    bucket: v.number(),
    limitName: v.string(),
    count: v.number(),
  })
    .index("by_workspace_bucket", ["workspaceId", "bucket"])
    .index("by_workspace_limit_bucket", ["workspaceId", "limitName", "bucket"]),

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
