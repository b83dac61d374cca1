/**
 * Channel users: people who wrote to a channel, keyed by the verified platform id. Phone
 * numbers and e-mail addresses live only in `contact` (for replying) and never leave this table.
 */
import { v } from "convex/values";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { viewerQuery, adminMutation } from "../access/builders";
import { getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { platformValidator } from "./tables";

export type SeenUser = {
  platformUserId: string;
  displayName?: string;
  contact?: string;
  replyTarget?: string;
  replyTargetTtlMs?: number;
};

/** The channel user with this verified platform id, if one wrote before. */
export async function findChannelUser(
  ctx: QueryCtx,
  channelId: Id<"channelConfig">,
  platformUserId: string,
): Promise<Doc<"channelUsers"> | null> {
  return await ctx.db
    .query("channelUsers")
    .withIndex("by_channel_user", (q) => q.eq("channelId", channelId).eq("platformUserId", platformUserId))
    .unique();
}

/** Finds or creates the channel user for a verified id and refreshes what replies need. */
export async function upsertChannelUser(
  ctx: MutationCtx,
  channel: Pick<Doc<"channelConfig">, "_id" | "workspaceId" | "platform">,
  seen: SeenUser,
  now: number,
): Promise<Doc<"channelUsers">> {
  const existing = await findChannelUser(ctx, channel._id, seen.platformUserId);
  const reply = {
    ...(seen.displayName !== undefined ? { displayName: seen.displayName } : {}),
    ...(seen.contact !== undefined ? { contact: seen.contact } : {}),
    ...(seen.replyTarget !== undefined
      ? {
          replyTarget: seen.replyTarget,
          replyTargetExpiresAt: seen.replyTargetTtlMs !== undefined ? now + seen.replyTargetTtlMs : undefined,
        }
      : {}),
  };
  if (existing) {
    await ctx.db.patch("channelUsers", existing._id, { ...reply, lastSeenAt: now });
    return (await ctx.db.get("channelUsers", existing._id))!;
  }
  const id = await ctx.db.insert("channelUsers", {
    workspaceId: channel.workspaceId,
    channelId: channel._id,
    platform: channel.platform,
    platformUserId: seen.platformUserId,
    blocked: false,
    firstSeenAt: now,
    lastSeenAt: now,
    ...reply,
  });
  return (await ctx.db.get("channelUsers", id))!;
}

/** What SyncBoard may see: no contact, no reply target. */
const publicUser = v.object({
  _id: v.id("channelUsers"),
  channelId: v.id("channelConfig"),
  platform: platformValidator,
  /** the platform id, or a pseudonym ("h:…") where the id would be a phone number or address */
  platformUserId: v.string(),
  displayName: v.optional(v.string()),
  hasContact: v.boolean(),
  blocked: v.boolean(),
  firstSeenAt: v.number(),
  lastSeenAt: v.number(),
});

function toPublic(u: Doc<"channelUsers">) {
  return {
    _id: u._id,
    channelId: u.channelId,
    platform: u.platform,
    platformUserId: u.platformUserId,
    displayName: u.displayName,
    hasContact: u.contact !== undefined,
    blocked: u.blocked,
    firstSeenAt: u.firstSeenAt,
    lastSeenAt: u.lastSeenAt,
  };
}

const MAX_LIST = 200;

export const list = viewerQuery({
  args: { channelId: v.optional(v.id("channelConfig")), limit: v.optional(v.number()) },
  returns: v.array(publicUser),
  handler: async (ctx, { channelId, limit }) => {
    const n = Math.max(1, Math.min(MAX_LIST, Math.floor(limit ?? 100)));
    if (channelId) {
      await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
      const rows = await ctx.db
        .query("channelUsers")
        .withIndex("by_channel_user", (q) => q.eq("channelId", channelId))
        .take(n);
      return rows.map(toPublic);
    }
    const rows = await ctx.db
      .query("channelUsers")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(n);
    return rows.map(toPublic);
  },
});

async function setBlocked(
  ctx: MutationCtx & { principal: { workspaceId: Id<"workspaces">; ownerId: Id<"owners">; ownerKey: string } },
  channelUserId: Id<"channelUsers">,
  blocked: boolean,
) {
  const user = await getOwned(await ctx.db.get("channelUsers", channelUserId), ctx.principal);
  if (user.blocked !== blocked) await ctx.db.patch("channelUsers", user._id, { blocked });
  await writeAudit(ctx, {
    workspaceId: ctx.principal.workspaceId,
    actorId: ctx.principal.ownerId,
    actorLabel: ctx.principal.ownerKey,
    action: blocked ? "channelUser.block" : "channelUser.unblock",
    target: user._id,
    before: { blocked: user.blocked, platform: user.platform },
    after: { blocked, platform: user.platform },
  });
  return null;
}

export const block = adminMutation({
  args: { channelUserId: v.id("channelUsers") },
  returns: v.null(),
  handler: (ctx, { channelUserId }) => setBlocked(ctx, channelUserId, true),
});

export const unblock = adminMutation({
  args: { channelUserId: v.id("channelUsers") },
  returns: v.null(),
  handler: (ctx, { channelUserId }) => setBlocked(ctx, channelUserId, false),
});
