import { defineTable } from "convex/server";
import { v } from "convex/values";

export const ownerTables = {
  /** A person who can sign in to SyncBoard (built-in password and/or Clerk user). */
  owners: defineTable({
    ownerKey: v.string(), // login name, e.g. "owner_primary"
    displayName: v.optional(v.string()),
    /** lower-case; set only by the operator (owners file), used by `owners migrate-clerk` */
    email: v.optional(v.string()),
    /** "pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>"; absent for Clerk-only owners. */
    passwordHash: v.optional(v.string()),
    clerkUserId: v.optional(v.string()),
    active: v.boolean(),
    /** true when this owner comes from the owners JSON (file/env); sync deactivates it when removed there */
    managedByFile: v.optional(v.boolean()),
    createdAt: v.number(),
    updatedAt: v.number(),
  })
    .index("by_ownerKey", ["ownerKey"])
    .index("by_clerkUserId", ["clerkUserId"])
    .index("by_email", ["email"])
    .index("by_managedByFile_active", ["managedByFile", "active"]),

  /** One-time codes an invited person redeems to set their first password (SHA-256 of the code only). */
  passwordSetCodes: defineTable({
    ownerId: v.id("owners"),
    /** the workspace whose owner issued it */
    workspaceId: v.id("workspaces"),
    codeHash: v.string(),
    createdBy: v.id("owners"),
    expiresAt: v.number(),
    usedAt: v.optional(v.number()),
  })
    .index("by_codeHash", ["codeHash"])
    .index("by_owner", ["ownerId"]),

  /**
   * One sign-in session of a person (person tier). Built-in: created at password sign-in, its `sid`
   * rides in every token of the refresh chain and is checked on every call and refresh. Clerk: one row
   * per Clerk session id (`sid` claim), created on the first mutation/action of that session.
   * Ending a session (sign-out, the person, membership deactivation, password change) is immediate.
   */
  ownerSessions: defineTable({
    ownerId: v.id("owners"),
    /** the workspace its current token is for (changes when the person switches workspace) */
    workspaceId: v.id("workspaces"),
    provider: v.union(v.literal("builtin"), v.literal("clerk")),
    /** built-in: random session id (not a credential: tokens are signed); Clerk: the Clerk session id */
    sid: v.string(),
    createdAt: v.number(),
    lastSeenAt: v.number(),
    /** built-in: auth_time + 12 h (the refresh limit); Clerk: Clerk decides, so createdAt + 30 days for listing */
    expiresAt: v.number(),
    /** short client description (user agent, cut) so the person recognises the session */
    label: v.optional(v.string()),
    endedAt: v.optional(v.number()),
    endReason: v.optional(v.string()),
  })
    .index("by_sid", ["sid"])
    .index("by_owner_ended", ["ownerId", "endedAt"])
    .index("by_owner_workspace", ["ownerId", "workspaceId"]),
};
