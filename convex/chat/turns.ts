import type { MutationCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { internal } from "../_generated/api";
import { queueReply } from "../channels/delivery";
import { newRunFields } from "../agent/runs";

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
  await ctx.db.patch(thread._id, { updatedAt: now + 1, messageCount: (thread.messageCount ?? 0) + 2 });
  if (opts.schedule) await ctx.scheduler.runAfter(0, internal.agent.run.respond, { assistantMessageId });
  return { userMessageId, assistantMessageId };
}

/** Appends a finished assistant message (e.g. the answer to an approved or denied tool call). */
export async function appendAssistantNote(ctx: MutationCtx, thread: Doc<"threads">, text: string): Promise<Id<"messages">> {
  const now = Math.max(Date.now(), thread.updatedAt + 1);
  const id = await ctx.db.insert("messages", {
    workspaceId: thread.workspaceId,
    threadId: thread._id,
    role: "assistant",
    text,
    status: "done",
    createdAt: now,
  });
  await ctx.db.patch(thread._id, { updatedAt: now, messageCount: (thread.messageCount ?? 0) + 1 });
  if (thread.channelUserId) await queueReply(ctx, thread.channelUserId, text, { messageId: id });
  return id;
}
