/**
 * Database side of outbound replies (the Node action in replies.ts cannot touch the database):
 * where a reply goes, and what happened to it.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery } from "../_generated/server";
import { platformValidator } from "./tables";
import { bumpChannelSummary } from "./inbound";

/** Reply destination for a channel user; null when the user or channel is gone, blocked or disabled. */
export const target = internalQuery({
  args: { channelUserId: v.id("channelUsers") },
  returns: v.union(
    v.null(),
    v.object({
      channelId: v.id("channelConfig"),
      workspaceId: v.id("workspaces"),
      platform: platformValidator,
      settings: v.any(),
      platformUserId: v.string(),
      contact: v.optional(v.string()),
      replyTarget: v.optional(v.string()),
      /** true when a time-limited reply target (Discord interaction token) has expired */
      replyTargetExpired: v.boolean(),
    }),
  ),
  handler: async (ctx, { channelUserId }) => {
    const user = await ctx.db.get(channelUserId);
    if (!user || user.blocked) return null;
    const channel = await ctx.db.get(user.channelId);
    if (!channel || !channel.enabled) return null;
    return {
      channelId: channel._id,
      workspaceId: channel.workspaceId,
      platform: channel.platform,
      settings: channel.settings ?? {},
      platformUserId: user.platformUserId,
      contact: user.contact,
      replyTarget: user.replyTarget,
      replyTargetExpired: user.replyTargetExpiresAt !== undefined && user.replyTargetExpiresAt <= Date.now(),
    };
  },
});

/**
 * Outcome of one send attempt. Successes count toward channelMessageSummary; failures go to the
 * activity log (private) with a code and HTTP status only — never the text or the recipient.
 */
export const recordResult = internalMutation({
  args: {
    channelId: v.id("channelConfig"),
    workspaceId: v.id("workspaces"),
    platform: platformValidator,
    ok: v.boolean(),
    code: v.optional(v.string()),
    status: v.optional(v.number()),
    attempt: v.number(),
    willRetry: v.boolean(),
    kind: v.optional(v.union(v.literal("reply"), v.literal("fetch"))),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const now = Date.now();
    if (a.ok) {
      if ((a.kind ?? "reply") === "reply") await bumpChannelSummary(ctx, a.channelId, a.workspaceId, "outbound", now);
      return null;
    }
    const what = a.kind === "fetch" ? "Fetching an inbound e-mail" : "A reply";
    const status = a.status ? ` (HTTP ${a.status})` : "";
    await ctx.db.insert("activityLog", {
      workspaceId: a.workspaceId,
      kind: "channel.vendor_error",
      summary: `${what} on ${a.platform} failed: ${a.code ?? "VENDOR_ERROR"}${status}${a.willRetry ? ", retrying" : ""}`,
      visibility: "private",
      channel: a.platform,
      meta: { channelId: a.channelId, code: a.code ?? "VENDOR_ERROR", status: a.status, attempt: a.attempt, willRetry: a.willRetry },
      at: now,
    });
    return null;
  },
});
