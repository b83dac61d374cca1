import { defineTable } from "convex/server";
import { v } from "convex/values";

export const toolHintsValidator = v.object({
  readOnly: v.optional(v.boolean()),
  destructive: v.optional(v.boolean()),
  openWorld: v.optional(v.boolean()),
});

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
    /** who registered it (the two-person rule keeps them from approving it themselves) */
    registeredBy: v.optional(v.id("owners")),
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
    upstreamScopes: v.optional(
      v.array(v.object({ scope: v.string(), serverId: v.id("mcpServers"), tool: v.string() })),
    ),
    audience: v.string(),
    expiresAt: v.number(),
    revokedAt: v.optional(v.number()),
    createdBy: v.optional(v.id("owners")),
    lastUsedAt: v.optional(v.number()),
    createdAt: v.number(),
    /**
     * OAuth grant (mcp/inbound/oauth.ts): set on rows created by an owner's consent for a registered OAuth
     * client. Such a row is never presented as a bearer itself (its tokenHash is of a value nobody
     * holds); its short-lived access tokens (oauthTokens) resolve to it, so /mcp applies the same
     * scopes, limits, sessions and checker to both kinds.
     */
    oauthClientId: v.optional(v.id("oauthClients")),
    /** why a grant was revoked: owner, client (RFC 7009), code_reuse, refresh_reuse */
    revokedReason: v.optional(v.string()),
  })
    .index("by_tokenHash", ["tokenHash"])
    .index("by_workspace", ["workspaceId"]),

  /** OAuth clients registered by RFC 7591 dynamic registration: public clients, no secret; deployment-wide. */
  oauthClients: defineTable({
    clientId: v.string(),
    clientName: v.string(),
    redirectUris: v.array(v.string()),
    /** pseudonymous tag of the registering IP (never the address itself) */
    sourceTag: v.string(),
    createdAt: v.number(),
    lastUsedAt: v.optional(v.number()),
  })
    .index("by_clientId", ["clientId"])
    .index("by_createdAt", ["createdAt"]),

  /** A pending /oauth/authorize request, waiting for an owner's decision on the consent page. */
  oauthRequests: defineTable({
    requestIdHash: v.string(),
    clientRef: v.id("oauthClients"),
    redirectUri: v.string(),
    codeChallenge: v.string(),
    state: v.optional(v.string()),
    resource: v.string(),
    createdAt: v.number(),
    expiresAt: v.number(),
    decidedAt: v.optional(v.number()),
  })
    .index("by_hash", ["requestIdHash"])
    .index("by_expiresAt", ["expiresAt"]),

  /** Authorization codes (hashed, single use, CODE_MS). `grantId` is set once exchanged. */
  oauthCodes: defineTable({
    codeHash: v.string(),
    clientRef: v.id("oauthClients"),
    redirectUri: v.string(),
    codeChallenge: v.string(),
    resource: v.string(),
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    toolScopes: v.array(v.string()),
    upstreamScopes: v.optional(
      v.array(v.object({ scope: v.string(), serverId: v.id("mcpServers"), tool: v.string() })),
    ),
    createdAt: v.number(),
    expiresAt: v.number(),
    usedAt: v.optional(v.number()),
    grantId: v.optional(v.id("mcpClientTokens")),
  })
    .index("by_hash", ["codeHash"])
    .index("by_expiresAt", ["expiresAt"]),

  /** OAuth access and refresh tokens (hashed). A refresh token is used once: `rotatedAt` marks it spent. */
  oauthTokens: defineTable({
    tokenHash: v.string(),
    kind: v.union(v.literal("access"), v.literal("refresh")),
    grantId: v.id("mcpClientTokens"),
    workspaceId: v.id("workspaces"),
    clientRef: v.id("oauthClients"),
    createdAt: v.number(),
    expiresAt: v.number(),
    rotatedAt: v.optional(v.number()),
    revokedAt: v.optional(v.number()),
  })
    .index("by_hash", ["tokenHash"])
    .index("by_grant", ["grantId"])
    .index("by_expiresAt", ["expiresAt"]),

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
