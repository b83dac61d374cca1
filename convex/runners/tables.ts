import { defineTable } from "convex/server";
import { v } from "convex/values";

export const runnerTables = {
  /**
   * One device-code handshake (RFC 8628 style). The runner holds the device code, the owner types the
   * user code; both are stored as SHA-256 only. pending → approved → consumed (token handed out once),
   * or denied / expired. Deleted when its grant is revoked or after it expires (pruned on each start).
   */
  runnerDeviceRequests: defineTable({
    deviceCodeHash: v.string(),
    userCodeHash: v.string(),
    /** the name the runner asked for (the owner may change it when approving) */
    requestedName: v.string(),
    /** pseudonym of the client IP that started it (shown to the approving owner) */
    source: v.string(),
    createdAt: v.number(),
    expiresAt: v.number(),
    status: v.union(v.literal("pending"), v.literal("approved"), v.literal("denied"), v.literal("consumed")),
    decidedBy: v.optional(v.id("owners")),
    workspaceId: v.optional(v.id("workspaces")),
    grantId: v.optional(v.id("runnerGrants")),
  })
    .index("by_deviceCodeHash", ["deviceCodeHash"])
    .index("by_userCodeHash", ["userCodeHash"])
    .index("by_expiresAt", ["expiresAt"]),

  /**
   * What an owner approved for one runner: a name, capabilities, a lifetime. Its current token is
   * stored as SHA-256 only; refresh replaces it (the old one stops working). Revoking ends it at once.
   */
  runnerGrants: defineTable({
    workspaceId: v.id("workspaces"),
    name: v.string(),
    capabilities: v.array(v.string()),
    approvedBy: v.id("owners"),
    createdAt: v.number(),
    /** refresh works until then */
    expiresAt: v.number(),
    /** undefined until the runner collected its first token */
    tokenHash: v.optional(v.string()),
    tokenExpiresAt: v.optional(v.number()),
    /** hash of the token the last refresh replaced: presenting it again is recorded as a security event */
    previousTokenHash: v.optional(v.string()),
    lastUsedAt: v.optional(v.number()),
    revokedAt: v.optional(v.number()),
    revokedBy: v.optional(v.string()),
  })
    .index("by_tokenHash", ["tokenHash"])
    .index("by_previousTokenHash", ["previousTokenHash"])
    .index("by_workspace_revoked", ["workspaceId", "revokedAt"]),
};
