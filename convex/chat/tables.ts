import { defineTable } from "convex/server";
import { v } from "convex/values";

export const chatTables = {
  /** Anonymous public-chat sessions: only the token's hash is stored. */
  chatSessions: defineTable({
    workspaceId: v.id("workspaces"),
    tokenHash: v.string(),
    createdAt: v.number(),
    expiresAt: v.number(),
    lastSeenAt: v.number(),
    revokedAt: v.optional(v.number()),
    blocked: v.optional(v.boolean()),
    /** hashed per-IP key of the connection that minted it ("ip:…"); what a block holds against */
    sourceKey: v.optional(v.string()),
  })
    .index("by_tokenHash", ["tokenHash"])
    .index("by_workspace", ["workspaceId"])
    .index("by_workspace_lastSeen", ["workspaceId", "lastSeenAt"]),

  /** An owner's block on a visitor's source: no new sessions from it until `until`. */
  chatSourceBlocks: defineTable({
    workspaceId: v.id("workspaces"),
    sourceKey: v.string(),
    until: v.number(),
    createdAt: v.number(),
  }).index("by_workspace_source", ["workspaceId", "sourceKey"]),

  threads: defineTable({
    workspaceId: v.id("workspaces"),
    sessionId: v.optional(v.id("chatSessions")),
    channelUserId: v.optional(v.id("channelUsers")),
    title: v.optional(v.string()),
    messageCount: v.optional(v.number()),
    /** createdAt of the newest answer that carried untrusted content (agency taint rule) */
    taintedAt: v.optional(v.number()),
    createdAt: v.number(),
    updatedAt: v.number(),
  })
    .index("by_session", ["sessionId", "updatedAt"])
    .index("by_channelUser", ["channelUserId", "updatedAt"])
    .index("by_workspace", ["workspaceId", "updatedAt"]),

  messages: defineTable({
    workspaceId: v.id("workspaces"),
    threadId: v.id("threads"),
    role: v.union(v.literal("user"), v.literal("assistant"), v.literal("tool"), v.literal("system")),
    text: v.string(),
    status: v.union(v.literal("pending"), v.literal("streaming"), v.literal("done"), v.literal("error")),
    errorCode: v.optional(v.string()),
    createdAt: v.number(),
    /** pending assistant message (agent/runs.ts): lease end, attempts so far, whether an attempt holds it, deadline */
    leaseUntil: v.optional(v.number()),
    attempts: v.optional(v.number()),
    running: v.optional(v.boolean()),
    deadlineAt: v.optional(v.number()),
  })
    .index("by_thread", ["threadId", "createdAt"])
    .index("by_workspace_created", ["workspaceId", "createdAt"])
    .index("by_status_lease", ["status", "leaseUntil"]),
};
