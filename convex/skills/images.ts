/**
 * Images for image skills live in Convex file storage, never inline in a document.
 *
 * An upload is bound to the person and workspace that asked for it: `generateUploadUrl` takes the
 * SHA-256 of the file and records an upload grant. `register` then accepts a storage object only if
 * it can prove the caller uploaded it: an unused grant of the caller (same person, same workspace)
 * with the object's digest, issued before the object was stored and still valid when it was; no
 * other person's grant that fits as well; and no other record (invocation output, another grant,
 * another workspace's image) naming the object.
 * Only a claimed object is checked (size, magic bytes, no polyglot); an invalid one is deleted and
 * logged. Anything else is refused with FORBIDDEN and left untouched.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type ActionCtx, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { adminAction, adminMutation } from "../access/builders";
import { fail } from "../access/principal";
import { writeAudit } from "../audit/log";
import { recordSecurityEvent } from "../security/events";
import { sniffImage, DEFAULT_MAX_IMAGE_BYTES } from "../lib/imageSniff";
import { decodeBase64 } from "../lib/secretbox";
import { legacyOutputReferences } from "../security/invocationLogMigration";

/** Convex upload URLs live for an hour; a grant lives as long. */
export const UPLOAD_GRANT_TTL_MS = 60 * 60_000;
/** Unclaimed, unexpired grants one person may hold at a time. */
export const MAX_OPEN_GRANTS = 20;

/**
 * Every table field that holds a storage id. `register` refuses an object named by any of them
 * (tests/checker/imageUploads.test.ts fails when a schema field of type Id<"_storage"> is missing).
 */
export const STORAGE_REFERENCES = [
  { table: "invocationLog", field: "outputStorageId", index: "by_output" },
  { table: "skillInvocationLog", field: "outputStorageId", index: "by_output" }, // legacy, until its rows moved
  { table: "skillImages", field: "storageId", index: "by_storage" },
  { table: "uploadGrants", field: "storageId", index: "by_storage" },
] as const;

const validated = v.union(
  v.object({
    ok: v.literal(true),
    imageId: v.id("skillImages"),
    mimeType: v.string(),
    width: v.number(),
    height: v.number(),
    bytes: v.number(),
  }),
  v.object({ ok: v.literal(false), code: v.literal("IMAGE_INVALID") }),
);

/** A SHA-256 digest as lowercase hex, from hex or base64 (Convex stores `_storage.sha256` as base64); null if not 32 bytes. */
export function digestHex(text: string): string | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return t.toLowerCase();
  const bytes = decodeBase64(t);
  if (!bytes || bytes.length !== 32) return null;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A recorded image of this workspace, by storage id string; null for anything else. */
export const lookup = internalQuery({
  args: { workspaceId: v.id("workspaces"), storageId: v.string() },
  returns: v.union(v.null(), v.object({ storageId: v.id("_storage"), size: v.number() })),
  handler: async (ctx, { workspaceId, storageId }) => {
    const id = ctx.db.system.normalizeId("_storage", storageId);
    if (!id) return null;
    const row = await ctx.db
      .query("skillImages")
      .withIndex("by_storage", (q) => q.eq("storageId", id))
      .first();
    if (!row || row.workspaceId !== workspaceId) return null;
    const meta = await ctx.db.system.get("_storage", id);
    if (!meta) return null;
    return { storageId: id, size: meta.size };
  },
});

async function referencedElsewhere(ctx: MutationCtx, storageId: Id<"_storage">): Promise<boolean> {
  const out = await ctx.db
    .query("invocationLog")
    .withIndex("by_output", (q) => q.eq("outputStorageId", storageId))
    .first();
  return out !== null || (await legacyOutputReferences(ctx, storageId));
}

/**
 * Proves the caller uploaded `storageId` and binds it to their grant. "claimed": the caller's own
 * object (newly or earlier claimed); "missing": no such object. Anything else → FORBIDDEN.
 */
export const claim = internalMutation({
  args: { workspaceId: v.id("workspaces"), ownerId: v.id("owners"), storageId: v.id("_storage") },
  returns: v.union(v.literal("claimed"), v.literal("missing")),
  handler: async (ctx, { workspaceId, ownerId, storageId }) => {
    const meta = await ctx.db.system.get("_storage", storageId);
    if (!meta) return "missing" as const;
    const image = await ctx.db
      .query("skillImages")
      .withIndex("by_storage", (q) => q.eq("storageId", storageId))
      .first();
    if (image && image.workspaceId !== workspaceId) fail("FORBIDDEN");
    const bound = await ctx.db
      .query("uploadGrants")
      .withIndex("by_storage", (q) => q.eq("storageId", storageId))
      .first();
    if (bound) {
      if (bound.ownerId !== ownerId || bound.workspaceId !== workspaceId) fail("FORBIDDEN");
      return "claimed" as const;
    }
    if (image || (await referencedElsewhere(ctx, storageId))) fail("FORBIDDEN");
    const sha = digestHex(meta.sha256);
    if (!sha) fail("FORBIDDEN");
    // Grants that could have produced this object: same digest, unused, issued before it was stored
    // and valid when it was. Only the caller's may; if anyone else's could too, nobody can prove it.
    const open = await ctx.db
      .query("uploadGrants")
      .withIndex("by_sha_open", (q) => q.eq("sha256", sha).eq("storageId", undefined))
      .take(50);
    const covering = open.filter((g) => g._creationTime < meta._creationTime && meta._creationTime <= g.expiresAt);
    const mine = (g: (typeof open)[number]) => g.ownerId === ownerId && g.workspaceId === workspaceId;
    const grant = covering.find(mine);
    if (!grant || !covering.every(mine)) fail("FORBIDDEN");
    await ctx.db.patch("uploadGrants", grant._id, { storageId, claimedAt: Date.now() });
    return "claimed" as const;
  },
});

export const storedSize = internalQuery({
  args: { storageId: v.id("_storage") },
  returns: v.union(v.null(), v.number()),
  handler: async (ctx, { storageId }) => (await ctx.db.system.get("_storage", storageId))?.size ?? null,
});

/** Records a validated image; only for an object the workspace has claimed. */
export const record = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    actorId: v.id("owners"),
    actorLabel: v.string(),
    storageId: v.id("_storage"),
    mimeType: v.string(),
    bytes: v.number(),
  },
  returns: v.id("skillImages"),
  handler: async (ctx, { actorId, actorLabel, ...a }) => {
    const grant = await ctx.db
      .query("uploadGrants")
      .withIndex("by_storage", (q) => q.eq("storageId", a.storageId))
      .first();
    if (!grant || grant.workspaceId !== a.workspaceId) fail("FORBIDDEN");
    const existing = await ctx.db
      .query("skillImages")
      .withIndex("by_storage", (q) => q.eq("storageId", a.storageId))
      .first();
    if (existing) {
      if (existing.workspaceId !== a.workspaceId) fail("FORBIDDEN");
      return existing._id;
    }
    const id = await ctx.db.insert("skillImages", { ...a, createdAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: a.workspaceId,
      actorId,
      actorLabel,
      action: "skill.image.register",
      target: id,
      after: { mimeType: a.mimeType, bytes: a.bytes },
    });
    return id;
  },
});

/** An invalid upload of the caller: deleted here, in the same transaction that checks the claim again. */
export const rejected = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    ownerId: v.id("owners"),
    storageId: v.optional(v.id("_storage")),
    reason: v.string(),
  },
  returns: v.null(),
  handler: async (ctx, { workspaceId, ownerId, storageId, reason }) => {
    if (storageId) {
      const grant = await ctx.db
        .query("uploadGrants")
        .withIndex("by_storage", (q) => q.eq("storageId", storageId))
        .first();
      const image = await ctx.db
        .query("skillImages")
        .withIndex("by_storage", (q) => q.eq("storageId", storageId))
        .first();
      if (!grant || grant.ownerId !== ownerId || grant.workspaceId !== workspaceId || image) fail("FORBIDDEN");
      if (await ctx.db.system.get("_storage", storageId)) await ctx.storage.delete(storageId);
    }
    await recordSecurityEvent(ctx, {
      workspaceId,
      code: "IMAGE_INVALID",
      category: "skill",
      detail: `image ${reason}`.slice(0, 100),
    });
    return null;
  },
});

type Validated =
  | { ok: true; imageId: Id<"skillImages">; mimeType: string; width: number; height: number; bytes: number }
  | { ok: false; code: "IMAGE_INVALID" };

/** SyncBoard: upload URL for an image to test image skills with, for the file with this SHA-256 (hex or base64). */
export const generateUploadUrl = adminMutation({
  args: { sha256: v.string() },
  returns: v.string(),
  handler: async (ctx, { sha256 }) => {
    const sha = digestHex(sha256);
    if (!sha) fail("ARGS_INVALID", { field: "sha256" });
    const now = Date.now();
    const p = ctx.principal;
    // This person's expired unclaimed grants go first (bounded), then the open ones are counted.
    const expired = await ctx.db
      .query("uploadGrants")
      .withIndex("by_owner_open", (q) => q.eq("ownerId", p.ownerId).eq("storageId", undefined).lt("expiresAt", now))
      .take(MAX_OPEN_GRANTS);
    for (const g of expired) await ctx.db.delete("uploadGrants", g._id);
    const open = await ctx.db
      .query("uploadGrants")
      .withIndex("by_owner_open", (q) => q.eq("ownerId", p.ownerId).eq("storageId", undefined).gte("expiresAt", now))
      .take(MAX_OPEN_GRANTS);
    if (open.length >= MAX_OPEN_GRANTS) fail("RATE_LIMITED");
    await ctx.db.insert("uploadGrants", {
      workspaceId: p.workspaceId,
      ownerId: p.ownerId,
      sha256: sha,
      expiresAt: now + UPLOAD_GRANT_TTL_MS,
    });
    return await ctx.storage.generateUploadUrl();
  },
});

/** SyncBoard: validate and record the caller's uploaded image (deleted when invalid; anything not theirs → FORBIDDEN). */
export const register = adminAction({
  args: { storageId: v.id("_storage") },
  returns: validated,
  handler: async (ctx, { storageId }): Promise<Validated> => {
    const p = ctx.principal;
    const claimed = await ctx.runMutation(internal.skills.images.claim, {
      workspaceId: p.workspaceId,
      ownerId: p.ownerId,
      storageId,
    });
    const reject = async (reason: string, own: boolean) => {
      await ctx.runMutation(internal.skills.images.rejected, {
        workspaceId: p.workspaceId,
        ownerId: p.ownerId,
        storageId: own ? storageId : undefined,
        reason,
      });
      return { ok: false as const, code: "IMAGE_INVALID" as const };
    };
    if (claimed === "missing") return await reject("missing", false);
    return await validateClaimed(ctx, p, storageId, reject);
  },
});

async function validateClaimed(
  ctx: ActionCtx,
  p: { workspaceId: Id<"workspaces">; ownerId: Id<"owners">; ownerKey: string },
  storageId: Id<"_storage">,
  reject: (reason: string, own: boolean) => Promise<Validated>,
): Promise<Validated> {
  const size = await ctx.runQuery(internal.skills.images.storedSize, { storageId });
  if (size === null) return await reject("missing", false);
  if (size > DEFAULT_MAX_IMAGE_BYTES) return await reject("too large", true);
  const blob = await ctx.storage.get(storageId);
  if (!blob) return await reject("missing", false);
  const sniffed = sniffImage(new Uint8Array(await blob.arrayBuffer()), DEFAULT_MAX_IMAGE_BYTES);
  if (!sniffed.ok) return await reject(sniffed.reason, true);
  const imageId: Id<"skillImages"> = await ctx.runMutation(internal.skills.images.record, {
    workspaceId: p.workspaceId,
    actorId: p.ownerId,
    actorLabel: p.ownerKey,
    storageId,
    mimeType: sniffed.info.mimeType,
    bytes: sniffed.info.bytes,
  });
  const { mimeType, width, height, bytes } = sniffed.info;
  return { ok: true as const, imageId, mimeType, width, height, bytes };
}
