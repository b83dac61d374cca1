import { defineTable } from "convex/server";
import { v } from "convex/values";

/**
 * OAuth to upstream MCP servers (mcp/outbound/upstreamAuth.ts, mcp/outbound/upstreamOAuth.ts). No token, client
 * secret or PKCE verifier is stored here in clear: tokens and a client secret are mcpServerSecrets
 * rows (OAUTH_ACCESS_TOKEN, OAUTH_REFRESH_TOKEN, OAUTH_CLIENT_SECRET, encrypted with the key
 * ring); a state row keeps only the hash of its state and the verifier sealed.
 */
export const upstreamAuthTables = {
  /** One per MCP server that uses OAuth. */
  mcpUpstreamAuth: defineTable({
    workspaceId: v.id("workspaces"),
    serverId: v.id("mcpServers"),
    /** not_connected → connected → (revoked | not_connected) */
    status: v.union(v.literal("not_connected"), v.literal("connected"), v.literal("revoked")),
    /** pre-registered client id typed by an admin (else one from RFC 7591 registration) */
    preRegisteredClientId: v.optional(v.string()),
    scope: v.optional(v.string()),
    /** discovered: the authorization server (RFC 9728 → RFC 8414) */
    issuer: v.optional(v.string()),
    authorizationEndpoint: v.optional(v.string()),
    tokenEndpoint: v.optional(v.string()),
    tokenAuthMethods: v.optional(v.array(v.string())),
    /** the client id in use (pre-registered or registered dynamically for `redirectUri`) */
    clientId: v.optional(v.string()),
    redirectUri: v.optional(v.string()),
    /** the server URL the tokens were issued for (RFC 8707 resource = audience) */
    resource: v.optional(v.string()),
    accessExpiresAt: v.optional(v.number()),
    /** bumped on every token write; a refresh is claimed for one version only */
    tokenVersion: v.number(),
    refreshingUntil: v.optional(v.number()),
    connectedAt: v.optional(v.number()),
    connectedBy: v.optional(v.id("owners")),
    lastRefreshAt: v.optional(v.number()),
    updatedAt: v.number(),
  }).index("by_server", ["serverId"]),

  /** A pending authorization (the owner's browser is at the AS). Single use, STATE_TTL_MS. */
  mcpUpstreamAuthStates: defineTable({
    stateHash: v.string(),
    serverId: v.id("mcpServers"),
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    /** the PKCE verifier, sealed with the key ring (identity: this table, server, state hash) */
    verifierCiphertext: v.string(),
    verifierKeyVersion: v.string(),
    issuer: v.string(),
    clientId: v.string(),
    redirectUri: v.string(),
    resource: v.string(),
    createdAt: v.number(),
    expiresAt: v.number(),
    usedAt: v.optional(v.number()),
  })
    .index("by_hash", ["stateHash"])
    .index("by_expiresAt", ["expiresAt"]),
};
