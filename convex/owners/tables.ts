import { defineTable } from "convex/server";
import { v } from "convex/values";

export const ownerTables = {
  /** A person who can sign in to SyncBoard (built-in password and/or Clerk user). */
  owners: defineTable({
    ownerKey: v.string(), // login name, e.g. "owner_primary"
    displayName: v.optional(v.string()),
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
};
