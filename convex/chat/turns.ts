import type { MutationCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { internal } from "../_generated/api";
import { queueReply } from "../channels/delivery";
import { newRunFields } from "../agent/runs";
import { readConfig, maxMessageChars } from "../agent/configLib";
import { charCount, sanitizeText } from "../lib/sanitize";
import type { Code } from "../lib/codes";

export type ChannelTurn =
  { ok: true; assistantMessageId: Id<"messages"> } | { ok: false; code: Code; maxChars?: number };

/**
 * A verified channel user's message: finds or creates their thread and appends the turn (the
 * same `appendTurn` as web chat), applying the workspace's message-length limit. The channels
 * domain has already verified the webhook, applied the per-user limit and resolved the user.
 * The run is not scheduled here; the caller schedules it with the message id only.
 */
export async function appendChannelTurn(
  ctx: MutationCtx,
  {
    workspaceId,
    channelUserId,
    text,
  }: { workspaceId: Id<"workspaces">; channelUserId: Id<"channelUsers">; text: string },
): Promise<ChannelTurn> {
  const user = await ctx.db.get("channelUsers", channelUserId);
  if (!user || user.workspaceId !== workspaceId) return { ok: false, code: "FORBIDDEN" };
  if (user.blocked) return { ok: false, code: "CHANNEL_USER_BLOCKED" };
  const cfg = await readConfig(ctx, workspaceId);
  const max = maxMessageChars(cfg);
  if (charCount(text) > max) return { ok: false, code: "MESSAGE_TOO_LONG", maxChars: max };
  const clean = sanitizeText(text, { maxChars: max });
  if (!clean) return { ok: false, code: "ARGS_INVALID" };
  let thread = await ctx.db
    .query("threads")
    .withIndex("by_channelUser", (q) => q.eq("channelUserId", channelUserId))
    .order("desc")
    .first();
  if (!thread) {
    const now = Date.now();
    const id = await ctx.db.insert("threads", {
      workspaceId,
      channelUserId,
      messageCount: 0,
      createdAt: now,
      updatedAt: now,
    });
    thread = (await ctx.db.get("threads", id))!;
  }
  const { assistantMessageId } = await appendTurn(ctx, thread, clean, { schedule: false });
  return { ok: true, assistantMessageId };
}

/**
 * Appends one exchange to a thread: the user's (already sanitized, length-checked) message and
 * an assistant placeholder with status "pending" that the agent fills in. Optionally schedules
 * the agent; the client sees the reply through its listMessages subscription.
 */
export async function appendTurn(
  ctx: MutationCtx,
  thread: Doc<"threads">,
  text: string,
  opts: { schedule: boolean },
): Promise<{ userMessageId: Id<"messages">; assistantMessageId: Id<"messages"> }> {
  // strictly after everything already in the thread, even within one millisecond
  const now = Math.max(Date.now(), thread.updatedAt + 1);
  const userMessageId = await ctx.db.insert("messages", {
    workspaceId: thread.workspaceId,
    threadId: thread._id,
    role: "user",
    text,
    status: "done",
    createdAt: now,
  });
  const assistantMessageId = await ctx.db.insert("messages", {
    workspaceId: thread.workspaceId,
    threadId: thread._id,
    role: "assistant",
    text: "",
    status: "pending",
    createdAt: now + 1, // sorts after the user message
    ...newRunFields(Date.now()), // a lease and a deadline: the sweeper retries or fails it (agent/runs.ts)
  });
  await ctx.db.patch("threads", thread._id, { updatedAt: now + 1, messageCount: (thread.messageCount ?? 0) + 2 });
  if (opts.schedule) await ctx.scheduler.runAfter(0, internal.agent.run.respond, { assistantMessageId });
  return { userMessageId, assistantMessageId };
}

/** Appends a finished assistant message (e.g. the answer to an approved or denied tool call). */
export async function appendAssistantNote(
  ctx: MutationCtx,
  thread: Doc<"threads">,
  text: string,
): Promise<Id<"messages">> {
  const now = Math.max(Date.now(), thread.updatedAt + 1);
  const id = await ctx.db.insert("messages", {
    workspaceId: thread.workspaceId,
    threadId: thread._id,
    role: "assistant",
    text,
    status: "done",
    createdAt: now,
  });
  await ctx.db.patch("threads", thread._id, { updatedAt: now, messageCount: (thread.messageCount ?? 0) + 1 });
  if (thread.channelUserId) await queueReply(ctx, thread.channelUserId, text, { messageId: id });
  return id;
}
