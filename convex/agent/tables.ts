import { defineTable } from "convex/server";
import { v, type Infer } from "convex/values";

export const providerKindValidator = v.union(
  v.literal("offline"),
  v.literal("openai"),
  v.literal("openai-compatible"),
  v.literal("anthropic"),
  v.literal("openrouter"),
);

const metaScalar = v.union(v.string(), v.number(), v.boolean(), v.null());
/**
 * The facts of an activity entry (ids, codes, model names, counts; never message text): a flat
 * object of scalars, one level of nesting at most (model switches and fallbacks record
 * `from`/`to` as { provider, model }). Every writer goes through agent/activity.ts:logActivity,
 * whose `meta` parameter has this shape (ActivityMetaInput) and whose redaction keeps it; an
 * oversized meta is stored as { truncated: string }.
 */
export const activityMetaValidator = v.record(v.string(), v.union(metaScalar, v.record(v.string(), metaScalar)));
export type ActivityMeta = Infer<typeof activityMetaValidator>;
type MetaScalarInput = Infer<typeof metaScalar> | undefined;
/** What writers hand in: like ActivityMeta, but a field may be undefined (such fields are not stored). */
export type ActivityMetaInput = Record<string, MetaScalarInput | Record<string, MetaScalarInput>>;

/** ActivityMetaInput without its undefined fields, as Convex would send it. */
export function definedMeta(meta: ActivityMetaInput): ActivityMeta {
  const out: ActivityMeta = {};
  for (const [k, x] of Object.entries(meta)) {
    if (x === undefined) continue;
    if (x === null || typeof x !== "object") out[k] = x;
    else {
      const inner: Record<string, Infer<typeof metaScalar>> = {};
      for (const [ik, ix] of Object.entries(x)) if (ix !== undefined) inner[ik] = ix;
      out[k] = inner;
    }
  }
  return out;
}

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
    meta: v.optional(activityMetaValidator),
    at: v.number(),
  })
    .index("by_workspace_at", ["workspaceId", "at"])
    .index("by_workspace_visibility_at", ["workspaceId", "visibility", "at"])
    .index("by_workspace_kind_at", ["workspaceId", "kind", "at"])
    .index("by_at", ["at"]),
};
