/**
 * Images for image skills live in Convex file storage, never inline in a document. An upload is
 * usable by a skill only after `validateStored` has checked its size and real format (magic bytes,
 * no polyglot) and recorded it for the workspace; invalid uploads are deleted and logged.
 */
import { v } from "convex/values";
import { internalAction, internalMutation, internalQuery, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { adminAction, adminMutation } from "../access/builders";
import { fail } from "../access/principal";
import { recordSecurityEvent } from "../security/events";
import { sniffImage, DEFAULT_MAX_IMAGE_BYTES } from "../lib/imageSniff";

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
    const meta = await ctx.db.system.get(id);
    if (!meta) return null;
    return { storageId: id, size: meta.size };
  },
});

export const storedSize = internalQuery({
  args: { storageId: v.id("_storage") },
  returns: v.union(v.null(), v.number()),
  handler: async (ctx, { storageId }) => (await ctx.db.system.get(storageId))?.size ?? null,
});

export const record = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    storageId: v.id("_storage"),
    mimeType: v.string(),
    bytes: v.number(),
  },
  returns: v.id("skillImages"),
  handler: async (ctx, a) => {
    const existing = await ctx.db
      .query("skillImages")
      .withIndex("by_storage", (q) => q.eq("storageId", a.storageId))
      .first();
    if (existing) {
      if (existing.workspaceId !== a.workspaceId) fail("FORBIDDEN");
      return existing._id;
    }
    return await ctx.db.insert("skillImages", { ...a, createdAt: Date.now() });
  },
});

export const rejected = internalMutation({
  args: { workspaceId: v.id("workspaces"), reason: v.string() },
  returns: v.null(),
  handler: async (ctx, { workspaceId, reason }) => {
    await recordSecurityEvent(ctx, { workspaceId, code: "IMAGE_INVALID", category: "skill", detail: `image ${reason}`.slice(0, 100) });
    return null;
  },
});

type Validated =
  | { ok: true; imageId: Id<"skillImages">; mimeType: string; width: number; height: number; bytes: number }
  | { ok: false; code: "IMAGE_INVALID" };

async function validateAndRecord(
  ctx: ActionCtx,
  workspaceId: Id<"workspaces">,
  storageId: Id<"_storage">,
  maxBytes: number,
): Promise<Validated> {
  const size = await ctx.runQuery(internal.skills.images.storedSize, { storageId });
  const reject = async (reason: string) => {
    if (size !== null) await ctx.storage.delete(storageId);
    await ctx.runMutation(internal.skills.images.rejected, { workspaceId, reason });
    return { ok: false as const, code: "IMAGE_INVALID" as const };
  };
  if (size === null) return await reject("missing");
  if (size > maxBytes) return await reject("too large");
  const blob = await ctx.storage.get(storageId);
  if (!blob) return await reject("missing");
  const sniffed = sniffImage(new Uint8Array(await blob.arrayBuffer()), maxBytes);
  if (!sniffed.ok) return await reject(sniffed.reason);
  const imageId: Id<"skillImages"> = await ctx.runMutation(internal.skills.images.record, {
    workspaceId,
    storageId,
    mimeType: sniffed.info.mimeType,
    bytes: sniffed.info.bytes,
  });
  const { mimeType, width, height, bytes } = sniffed.info;
  return { ok: true as const, imageId, mimeType, width, height, bytes };
}

/** For other domains (e.g. chat uploads): validate an uploaded file and record it for the workspace. */
export const validateStored = internalAction({
  args: { workspaceId: v.id("workspaces"), storageId: v.id("_storage"), maxBytes: v.optional(v.number()) },
  returns: validated,
  handler: async (ctx, a): Promise<Validated> =>
    await validateAndRecord(ctx, a.workspaceId, a.storageId, Math.min(a.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_BYTES * 4)),
});

/** SyncBoard: upload URL for an image to test image skills with. */
export const generateUploadUrl = adminMutation({
  args: {},
  returns: v.string(),
  handler: async (ctx) => await ctx.storage.generateUploadUrl(),
});

/** SyncBoard: validate and record an uploaded image (deleted when invalid). */
export const register = adminAction({
  args: { storageId: v.id("_storage") },
  returns: validated,
  handler: async (ctx, { storageId }): Promise<Validated> =>
    await validateAndRecord(ctx, ctx.principal.workspaceId, storageId, DEFAULT_MAX_IMAGE_BYTES),
});
