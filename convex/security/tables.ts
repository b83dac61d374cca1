import { defineTable } from "convex/server";
import { v } from "convex/values";

/** An invocation-log row's fields; the checker's log-entry validator is derived from them. */
export const invocationLogFields = {
  workspaceId: v.id("workspaces"),
  targetKind: v.union(v.literal("skill"), v.literal("mcp"), v.literal("webhook")),
  skillId: v.optional(v.id("skillRegistry")),
  mcpServerId: v.optional(v.id("mcpServers")),
  channelId: v.optional(v.id("channelConfig")),
  targetName: v.string(), // skill name, "server/tool", or "platform/channel"
  callerKind: v.string(), // "agent" | "mcp-client" | "owner" | "channel-webhook" | ...
  callerId: v.optional(v.string()),
  code: v.string(), // "OK" or a catalogue code
  allowed: v.boolean(),
  durationMs: v.number(),
  inputBytes: v.number(),
  outputBytes: v.number(),
  inputPreview: v.optional(v.string()),
  outputPreview: v.optional(v.string()),
  outputStorageId: v.optional(v.id("_storage")),
  at: v.number(),
};

/** An hourly invocation tally: one row per (workspace, hour, target kind). */
const invocationSummaryFields = {
  workspaceId: v.id("workspaces"),
  bucket: v.number(), // start of the hour, ms
  targetKind: v.string(),
  total: v.number(),
  allowed: v.number(),
  denied: v.number(),
  totalDurationMs: v.number(),
};

const invocationRollupFields = { through: v.number() };

export const securityTables = {
  /**
   * The checker's invocation log: one row per check result (skill, MCP tool or webhook), allowed
   * or denied. Written only by checkerLog.ts (and by the upgrade's move of legacy rows,
   * invocationLogMigration.ts). Previews are redacted and truncated.
   */
  invocationLog: defineTable(invocationLogFields)
    .index("by_workspace_at", ["workspaceId", "at"])
    .index("by_workspace_allowed_at", ["workspaceId", "allowed", "at"])
    .index("by_workspace_code_at", ["workspaceId", "code", "at"])
    .index("by_workspace_target_at", ["workspaceId", "targetName", "at"])
    .index("by_workspace_caller_at", ["workspaceId", "callerKind", "callerId", "at"])
    .index("by_skill_at", ["skillId", "at"])
    .index("by_server_at", ["mcpServerId", "at"])
    .index("by_at", ["at"])
    .index("by_output", ["outputStorageId"])
    .index("by_caller", ["callerId"]),

  invocationSummary: defineTable(invocationSummaryFields)
    .index("by_workspace_bucket", ["workspaceId", "bucket"])
    .index("by_workspace_kind_bucket", ["workspaceId", "targetKind", "bucket"]),

  /**
   * Singleton: every invocationLog row with `at < through` is counted in
   * invocationSummary (logs/summaries.ts rollup); newer rows are the dashboard's live tail.
   */
  invocationRollup: defineTable({
    ...invocationRollupFields,
    /** When the legacy-log migration last scheduled its next step; absent when none runs. */
    migrationStepAt: v.optional(v.number()),
  }),

  /**
   * Legacy: the same three tables under their names before the rename (the log holds skill, MCP
   * tool and webhook calls, not only skills). Same fields; only the indexes that still read them:
   * retention and erasure (by_workspace_at, by_caller) and the image-upload check (by_output). No
   * one inserts here any more: invocationLogMigration.ts moves their rows into the tables above in
   * bounded steps, started by the rollup cron. A later release drops them.
   */
  skillInvocationLog: defineTable(invocationLogFields)
    .index("by_workspace_at", ["workspaceId", "at"])
    .index("by_output", ["outputStorageId"])
    .index("by_caller", ["callerId"]),
  skillInvocationSummary: defineTable(invocationSummaryFields),
  skillInvocationRollup: defineTable(invocationRollupFields),

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
};
