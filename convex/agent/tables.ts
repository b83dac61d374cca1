import { defineTable } from "convex/server";
import { v } from "convex/values";

export const providerKindValidator = v.union(
  v.literal("offline"),
  v.literal("openai"),
  v.literal("openai-compatible"),
  v.literal("anthropic"),
  v.literal("openrouter"),
);

export const agentTables = {
  agentConfig: defineTable({
    workspaceId: v.id("workspaces"),
    name: v.string(),
    soul: v.string(),
    model: v.string(),
    fallbackModel: v.optional(v.string()),
    providerId: v.optional(v.id("modelProviders")),
    fallbackProviderId: v.optional(v.id("modelProviders")),
    enabledSkillIds: v.array(v.id("skillRegistry")),
    enabledMcpServerIds: v.array(v.id("mcpServers")),
    /** public chat message cap in characters (default 4000) */
    maxMessageChars: v.optional(v.number()),
    /** ElevenLabs conversational agent id (server-side only) */
    voiceAgentId: v.optional(v.string()),
    updatedAt: v.number(),
  }).index("by_workspace", ["workspaceId"]),

  /** Stores the NAME of the env var that holds the key, never a key. */
  modelProviders: defineTable({
    workspaceId: v.id("workspaces"),
    label: v.string(),
    kind: providerKindValidator,
    baseUrl: v.optional(v.string()),
    apiKeyEnvVar: v.optional(v.string()),
    createdAt: v.number(),
    updatedAt: v.number(),
  }).index("by_workspace", ["workspaceId"]),

  activityLog: defineTable({
    workspaceId: v.id("workspaces"),
    kind: v.string(),
    summary: v.string(),
    visibility: v.union(v.literal("private"), v.literal("public")),
    channel: v.optional(v.string()),
    meta: v.optional(v.any()),
    at: v.number(),
  })
    .index("by_workspace_at", ["workspaceId", "at"])
    .index("by_workspace_visibility_at", ["workspaceId", "visibility", "at"])
    .index("by_workspace_kind_at", ["workspaceId", "kind", "at"])
    .index("by_at", ["at"]),
};
