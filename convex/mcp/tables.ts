import { defineTable } from "convex/server";
import { v } from "convex/values";

export const toolHintsValidator = v.object({ readOnly: v.optional(v.boolean()), destructive: v.optional(v.boolean()), openWorld: v.optional(v.boolean()) });

export const mcpTables = {
  mcpServers: defineTable({
    workspaceId: v.id("workspaces"),
    name: v.string(),
    url: v.string(),
    status: v.union(v.literal("pending"), v.literal("approved"), v.literal("rejected"), v.literal("disabled")),
    enabled: v.boolean(),
    authHeaderName: v.optional(v.string()),
    rateLimitPerMinute: v.optional(v.number()),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
    healthStatus: v.union(v.literal("unknown"), v.literal("healthy"), v.literal("unhealthy")),
    healthLatencyMs: v.optional(v.number()),
    healthCheckedAt: v.optional(v.number()),
    consecutiveFailures: v.number(),
    disabledReason: v.optional(v.string()),
    approvedBy: v.optional(v.id("owners")),
    createdAt: v.number(),
    updatedAt: v.number(),
    /** Set on approval: the next successful tool listing approves every tool it finds (not denied ones). */
    autoApproveTools: v.optional(v.boolean()),
    toolsSyncedAt: v.optional(v.number()),
    /** Code of the last failed listing/health probe (never an upstream message). */
    lastErrorCode: v.optional(v.string()),
    approvedAt: v.optional(v.number()),
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_enabled", ["enabled"])
    .index("by_workspace_name", ["workspaceId", "name"]),

  /** Tools listed from an approved server; `approvedHash` pins description + schema. */
  mcpTools: defineTable({
    workspaceId: v.id("workspaces"),
    serverId: v.id("mcpServers"),
    name: v.string(),
    description: v.string(),
    inputSchema: v.any(),
    hash: v.string(),
    approvedHash: v.optional(v.string()),
    /** the server's annotations (readOnly / destructive / openWorld hints): a suggestion for the risk class only */
    hints: v.optional(toolHintsValidator),
    status: v.union(v.literal("approved"), v.literal("denied"), v.literal("blocked"), v.literal("pending")),
    updatedAt: v.number(),
  })
    .index("by_server", ["serverId"])
    .index("by_server_name", ["serverId", "name"]),

  /** Per-client bearer tokens for Warden's own /mcp endpoint (hashed at rest). */
  mcpClientTokens: defineTable({
    workspaceId: v.id("workspaces"),
    name: v.string(),
    tokenHash: v.string(),
    prefix: v.string(),
    toolScopes: v.array(v.string()),
    /** gateway mode: each `mcp:<server>/<tool>` entry of toolScopes, bound at mint to that server's id */
    upstreamScopes: v.optional(v.array(v.object({ scope: v.string(), serverId: v.id("mcpServers"), tool: v.string() }))),
    audience: v.string(),
    expiresAt: v.number(),
    revokedAt: v.optional(v.number()),
    createdBy: v.optional(v.id("owners")),
    lastUsedAt: v.optional(v.number()),
    createdAt: v.number(),
  })
    .index("by_tokenHash", ["tokenHash"])
    .index("by_workspace", ["workspaceId"]),

  mcpSessions: defineTable({
    workspaceId: v.id("workspaces"),
    clientTokenId: v.id("mcpClientTokens"),
    sessionIdHash: v.string(),
    ip: v.optional(v.string()),
    createdAt: v.number(),
    lastSeenAt: v.number(),
    closedAt: v.optional(v.number()),
  })
    .index("by_client_closed", ["clientTokenId", "closedAt"])
    .index("by_sessionIdHash", ["sessionIdHash"])
    .index("by_closed_lastSeen", ["closedAt", "lastSeenAt"]),
};
