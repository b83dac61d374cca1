import { defineTable } from "convex/server";
import { v, type Infer } from "convex/values";

export const skillTypeValidator = v.union(
  v.literal("template"),
  v.literal("webhook"),
  v.literal("code"),
  v.literal("image"),
);
export const skillStatusValidator = v.union(
  v.literal("pending"),
  v.literal("approved"),
  v.literal("rejected"),
  v.literal("disabled"),
);

const urlTemplate = v.string();
/**
 * What a skill row stores as `config`, per kind: the output of the zod schema that kind is
 * validated with before any write (skills/validate.ts for template, webhook and image drafts;
 * skills/templates.ts per template; skills/codeSync.ts writes a code skill's module and source hash).
 */
export const templateConfigValidator = v.union(
  v.object({ template: v.literal("http_get_json"), urlTemplate, jsonPointer: v.optional(v.string()) }),
  v.object({ template: v.literal("rss_feed"), urlTemplate, maxItems: v.optional(v.number()) }),
  v.object({ template: v.literal("calculator"), precision: v.optional(v.number()) }),
  v.object({ template: v.literal("time_in_zone"), defaultZone: v.optional(v.string()) }),
);
export const webhookConfigValidator = v.object({
  urlTemplate,
  method: v.union(v.literal("GET"), v.literal("POST")),
  /** static, non-secret headers */
  headers: v.optional(v.record(v.string(), v.string())),
  /** header name → the skill secret injected at execution time (and an optional prefix such as "Bearer ") */
  secretHeaders: v.optional(v.record(v.string(), v.object({ secret: v.string(), prefix: v.optional(v.string()) }))),
});
export const imageConfigValidator = v.object({
  operation: v.literal("image_info"),
  maxImageBytes: v.optional(v.number()),
});
export const codeConfigValidator = v.object({ module: v.string(), sourceHash: v.string() });
export const skillConfigValidator = v.union(
  ...templateConfigValidator.members,
  webhookConfigValidator,
  imageConfigValidator,
  codeConfigValidator,
);

export type SkillConfig = Infer<typeof skillConfigValidator>;
export type TemplateConfig = Infer<typeof templateConfigValidator>;

export const skillTables = {
  skillRegistry: defineTable({
    workspaceId: v.id("workspaces"),
    name: v.string(),
    description: v.string(),
    type: skillTypeValidator,
    status: skillStatusValidator,
    /** JSON schema of the input */
    inputSchema: v.any(),
    /** template id (template), url template/method/headers (webhook), module name (code) */
    config: skillConfigValidator,
    /** hash over config + schema + domains; an approved skill whose hash changes goes back to pending */
    configHash: v.string(),
    allowedDomains: v.array(v.string()),
    allowHttp: v.optional(v.boolean()),
    secretNames: v.array(v.string()),
    rateLimitPerMinute: v.optional(v.number()),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
    approvedBy: v.optional(v.id("owners")),
    approvedAt: v.optional(v.number()),
    /** configHash at approval; the checker recomputes the hash on every call and compares */
    approvedHash: v.optional(v.string()),
    /** the person who created or last changed what a reviewer judges; absent for a deploy (code skills) */
    lastEditedBy: v.optional(v.id("owners")),
    createdAt: v.number(),
    updatedAt: v.number(),
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_workspace_name", ["workspaceId", "name"])
    .index("by_workspace_status", ["workspaceId", "status"]),

  /**
   * Singleton (key "code"): the code-skill catalogue last synced into every workspace, so the
   * catalogue cron (skills/codeSync:check) costs one read when nothing was deployed.
   */
  codeCatalogueState: defineTable({
    key: v.string(),
    /** hash over every deployed module's name and source hash, as of the last finished sync */
    hash: v.string(),
    /** _creationTime of the newest workspace that sync reached */
    newestWorkspaceAt: v.number(),
    syncedAt: v.number(),
    /** a sync of this hash is under way (paged); the cron does not start another */
    runningHash: v.optional(v.string()),
    runningSince: v.optional(v.number()),
  }).index("by_key", ["key"]),

  /**
   * The source of a code skill as it was when an admin last approved it (one row per skill), so the
   * next review can show what changed since (skills/review.ts).
   */
  skillApprovedSources: defineTable({
    workspaceId: v.id("workspaces"),
    skillId: v.id("skillRegistry"),
    sourceHash: v.string(),
    /** meta + handler text as deployed, capped at 64 KB */
    source: v.string(),
    approvedBy: v.optional(v.id("owners")),
    approvedAt: v.number(),
  }).index("by_skill", ["skillId"]),

  /** Images for image skills live in file storage; this row records what was validated. */
  skillImages: defineTable({
    workspaceId: v.id("workspaces"),
    storageId: v.id("_storage"),
    mimeType: v.string(),
    bytes: v.number(),
    createdAt: v.number(),
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_storage", ["storageId"]),

  /**
   * One row per upload URL handed out (skills/images:generateUploadUrl): who asked, for which
   * workspace, and the SHA-256 of the file they said they would upload. `register` accepts a storage
   * object only through an unused grant of the caller whose digest matches and that was issued
   * before the object was stored (and no other person's grant matches as well); the grant then
   * records the object, so it is claimed once.
   */
  uploadGrants: defineTable({
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    /** lowercase hex SHA-256 of the file to be uploaded */
    sha256: v.string(),
    expiresAt: v.number(),
    storageId: v.optional(v.id("_storage")),
    claimedAt: v.optional(v.number()),
  })
    .index("by_sha_open", ["sha256", "storageId"])
    .index("by_owner_open", ["ownerId", "storageId", "expiresAt"])
    .index("by_storage", ["storageId"]),
};
