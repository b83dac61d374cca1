import { defineTable } from "convex/server";
import { v } from "convex/values";

/** Only ciphertext, key version and last4 are stored; plaintext never is. */
const encrypted = {
  ciphertext: v.string(), // base64 of nonce || ciphertext+tag
  keyVersion: v.string(),
  last4: v.string(),
  createdAt: v.number(),
  updatedAt: v.number(),
};

export const secretTables = {
  skillSecrets: defineTable({
    workspaceId: v.id("workspaces"),
    skillId: v.id("skillRegistry"),
    name: v.string(),
    ...encrypted,
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_skill_name", ["skillId", "name"])
    .index("by_keyVersion", ["keyVersion"])
    .index("by_workspace_keyVersion", ["workspaceId", "keyVersion"]),

  channelSecrets: defineTable({
    workspaceId: v.id("workspaces"),
    channelId: v.id("channelConfig"),
    name: v.string(),
    ...encrypted,
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_channel_name", ["channelId", "name"])
    .index("by_keyVersion", ["keyVersion"])
    .index("by_workspace_keyVersion", ["workspaceId", "keyVersion"]),

  mcpServerSecrets: defineTable({
    workspaceId: v.id("workspaces"),
    serverId: v.id("mcpServers"),
    name: v.string(),
    ...encrypted,
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_server_name", ["serverId", "name"])
    .index("by_keyVersion", ["keyVersion"])
    .index("by_workspace_keyVersion", ["workspaceId", "keyVersion"]),
};
