import { defineTable } from "convex/server";
import { v } from "convex/values";

export const policyValidator = v.union(v.literal("deny"), v.literal("ask"), v.literal("allow"));
export const riskClassValidator = v.union(v.literal("local"), v.literal("openWorld"), v.literal("sideEffect"));
export const audienceValidator = v.union(
  v.literal("webVisitor"),
  v.literal("unknownSender"),
  v.literal("pairedSender"),
  v.literal("ownerSender"),
);
export const senderTrustValidator = v.union(v.literal("unknown"), v.literal("paired"), v.literal("owner"));
export const senderPolicyValidator = v.union(v.literal("open"), v.literal("pairing"), v.literal("allowlist"));
export const approvalStatusValidator = v.union(
  v.literal("pending"),
  v.literal("approved"),
  v.literal("denied"),
  v.literal("expired"),
  v.literal("executed"),
);

export const agencyTables = {
  /** The owner's grant for one tool: a policy per audience (absent = default) and the confirmed risk class. */
  toolGrants: defineTable({
    workspaceId: v.id("workspaces"),
    /** "skill:<name>" or "mcp:<serverId>/<tool>" */
    toolRef: v.string(),
    webVisitor: v.optional(policyValidator),
    unknownSender: v.optional(policyValidator),
    pairedSender: v.optional(policyValidator),
    ownerSender: v.optional(policyValidator),
    riskClass: v.optional(riskClassValidator),
    updatedBy: v.id("owners"),
    updatedAt: v.number(),
  }).index("by_workspace_tool", ["workspaceId", "toolRef"]),

  /** A call that waits for an owner's decision. The input is kept to re-run exactly this call. */
  toolApprovals: defineTable({
    workspaceId: v.id("workspaces"),
    threadId: v.id("threads"),
    toolRef: v.string(),
    /** "skill name" or "server/tool", for people */
    toolLabel: v.string(),
    targetKind: v.union(v.literal("skill"), v.literal("mcp")),
    skillName: v.optional(v.string()),
    serverId: v.optional(v.id("mcpServers")),
    toolName: v.optional(v.string()),
    /** canonical JSON of the input (≤ 16 KB); never shown — the redacted preview is */
    inputJson: v.string(),
    inputPreview: v.string(),
    audience: audienceValidator,
    reason: v.union(v.literal("grant_ask"), v.literal("tainted_side_effect")),
    status: approvalStatusValidator,
    createdAt: v.number(),
    expiresAt: v.number(),
    decidedBy: v.optional(v.id("owners")),
    decidedAt: v.optional(v.number()),
    resultCode: v.optional(v.string()),
  })
    .index("by_workspace_status", ["workspaceId", "status", "createdAt"])
    .index("by_status_expires", ["status", "expiresAt"])
    .index("by_thread", ["threadId", "createdAt"]),

  /** One-time codes a channel sender types (`/pair CODE`) to become paired, or linked to an owner. */
  pairingCodes: defineTable({
    workspaceId: v.id("workspaces"),
    channelId: v.id("channelConfig"),
    codeHash: v.string(),
    trust: v.union(v.literal("paired"), v.literal("owner")),
    /** the person an "owner" code links the sender to (the owner who created it) */
    ownerId: v.optional(v.id("owners")),
    createdBy: v.id("owners"),
    createdAt: v.number(),
    expiresAt: v.number(),
    usedAt: v.optional(v.number()),
    usedBy: v.optional(v.id("channelUsers")),
  })
    .index("by_codeHash", ["codeHash"])
    .index("by_channel", ["channelId", "createdAt"])
    .index("by_usedBy", ["usedBy"]),
};
