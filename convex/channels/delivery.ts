/**
 * Database side of outbound replies (the Node action in replies.ts cannot touch the database):
 * where a reply goes, and what happened to it.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { platformValidator } from "./tables";
import { bumpChannelSummary } from "./inbound";

/**
 * Queues a reply: the text goes into channelOutbox and the send is scheduled with the row's id,
 * so no message text is kept in `_scheduled_functions`.
 */
export async function queueReply(ctx: MutationCtx, channelUserId: Id<"channelUsers">, text: string): Promise<void> {
  const user = await ctx.db.get(channelUserId);
  if (!user || !text.trim()) return;
  const outboxId = await ctx.db.insert("channelOutbox", { workspaceId: user.workspaceId, channelUserId, text, createdAt: Date.now() });
  await ctx.scheduler.runAfter(0, internal.channels.replies.send, { outboxId });
}

/** queueReply for actions (the agent's channel hand-off). */
export const enqueue = internalMutation({
  args: { channelUserId: v.id("channelUsers"), text: v.string() },
  returns: v.null(),
  handler: async (ctx, { channelUserId, text }) => {
    await queueReply(ctx, channelUserId, text);
    return null;
  },
});

/** A queued reply; null when it was sent, dropped or erased. */
export const outboxItem = internalQuery({
  args: { outboxId: v.id("channelOutbox") },
  returns: v.union(v.null(), v.object({ channelUserId: v.id("channelUsers"), text: v.string() })),
  handler: async (ctx, { outboxId }) => {
    const row = await ctx.db.get(outboxId);
    return row ? { channelUserId: row.channelUserId, text: row.text } : null;
  },
});

/** Drops a queued reply (sent, finally failed, or no longer deliverable). */
export const dropOutbox = internalMutation({
  args: { outboxId: v.id("channelOutbox") },
  returns: v.null(),
  handler: async (ctx, { outboxId }) => {
    if (await ctx.db.get(outboxId)) await ctx.db.delete(outboxId);
    return null;
  },
});

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
    /** the queued reply; deleted unless the send will be retried */
    outboxId: v.optional(v.id("channelOutbox")),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const now = Date.now();
    if (a.outboxId && !a.willRetry && (await ctx.db.get(a.outboxId))) await ctx.db.delete(a.outboxId);
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
