/**
 * Deleting a person's conversation data in bounded steps: one thread (messages, tool approvals,
 * optionally its invocation-log rows), or everything derived from one person (a channel user or a
 * chat session). Every helper spends from a shared budget of deletions and reports whether it
 * finished, so callers can continue in a later transaction.
 */
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id, TableNames } from "../_generated/dataModel";
import { eraseLegacyInvocationsOf } from "../security/invocationLogMigration";

export type Budget = { left: number };

export type Subject = { kind: "channelUser"; id: Id<"channelUsers"> } | { kind: "chatSession"; id: Id<"chatSessions"> };

export async function drop<T extends TableNames>(
  ctx: MutationCtx,
  table: T,
  ids: Id<T>[],
  budget: Budget,
): Promise<void> {
  for (const id of ids) {
    await ctx.db.delete(table, id);
    budget.left--;
  }
}

/**
 * Deletes one thread after its messages and tool approvals (and, with `invocations`, the
 * invocation-log rows its agent runs wrote). Returns false when the budget ran out first.
 */
export async function deleteThread(
  ctx: MutationCtx,
  thread: Doc<"threads">,
  budget: Budget,
  opts: { invocations: boolean },
): Promise<boolean> {
  if (budget.left <= 0) return false;
  const messages = await ctx.db
    .query("messages")
    .withIndex("by_thread", (q) => q.eq("threadId", thread._id))
    .take(budget.left);
  await drop(
    ctx,
    "messages",
    messages.map((m) => m._id),
    budget,
  );
  if (budget.left <= 0) return false;
  const approvals = await ctx.db
    .query("toolApprovals")
    .withIndex("by_thread", (q) => q.eq("threadId", thread._id))
    .take(budget.left);
  await drop(
    ctx,
    "toolApprovals",
    approvals.map((a) => a._id),
    budget,
  );
  if (budget.left <= 0) return false;
  if (opts.invocations) {
    const rows = await ctx.db
      .query("invocationLog")
      .withIndex("by_caller", (q) => q.eq("callerId", thread._id))
      .take(budget.left);
    for (const r of rows) {
      if (r.workspaceId !== thread.workspaceId) continue;
      if (r.outputStorageId) await ctx.storage.delete(r.outputStorageId);
      await ctx.db.delete("invocationLog", r._id);
      budget.left--;
    }
    if (budget.left <= 0) return false;
    // Rows the upgrade has not moved out of the legacy log yet go too.
    const legacy = await eraseLegacyInvocationsOf(ctx, thread.workspaceId, thread._id, budget.left);
    budget.left -= legacy.deleted;
    if (!legacy.done || budget.left <= 0) return false;
  }
  await ctx.db.delete("threads", thread._id);
  budget.left--;
  return true;
}

/** The person's own row (channel user or chat session), or null. */
export async function subjectRow(ctx: QueryCtx, s: Subject): Promise<Doc<"channelUsers"> | Doc<"chatSessions"> | null> {
  return s.kind === "channelUser" ? await ctx.db.get("channelUsers", s.id) : await ctx.db.get("chatSessions", s.id);
}

function threadsOf(ctx: MutationCtx, s: Subject) {
  return s.kind === "channelUser"
    ? ctx.db.query("threads").withIndex("by_channelUser", (q) => q.eq("channelUserId", s.id))
    : ctx.db.query("threads").withIndex("by_session", (q) => q.eq("sessionId", s.id));
}

/**
 * Deletes everything derived from one person except their own row: threads (with messages, tool
 * approvals, invocation-log rows), queued replies and used pairing codes (channel user), voice
 * sessions (chat session). Returns true when nothing is left.
 */
export async function eraseDerived(ctx: MutationCtx, s: Subject, budget: Budget): Promise<boolean> {
  for (;;) {
    if (budget.left <= 0) return false;
    const thread = await threadsOf(ctx, s).first();
    if (!thread) break;
    if (!(await deleteThread(ctx, thread, budget, { invocations: true }))) return false;
  }
  if (s.kind === "channelUser") {
    const outbox = await ctx.db
      .query("channelOutbox")
      .withIndex("by_channelUser", (q) => q.eq("channelUserId", s.id))
      .take(budget.left);
    await drop(
      ctx,
      "channelOutbox",
      outbox.map((o) => o._id),
      budget,
    );
    if (budget.left <= 0) return false;
    const codes = await ctx.db
      .query("pairingCodes")
      .withIndex("by_usedBy", (q) => q.eq("usedBy", s.id))
      .take(budget.left);
    await drop(
      ctx,
      "pairingCodes",
      codes.map((c) => c._id),
      budget,
    );
  } else {
    const voice = await ctx.db
      .query("voiceSessions")
      .withIndex("by_session_started", (q) => q.eq("chatSessionId", s.id))
      .take(budget.left);
    await drop(
      ctx,
      "voiceSessions",
      voice.map((x) => x._id),
      budget,
    );
  }
  return budget.left > 0;
}

/**
 * Removes the person's own row once eraseDerived finished. A blocked channel user stays as a
 * tombstone (platform id + block, nothing else) so the block keeps holding.
 */
export async function finishSubject(ctx: MutationCtx, s: Subject, keepBlocked: boolean): Promise<void> {
  if (s.kind === "chatSession") {
    if (await ctx.db.get("chatSessions", s.id)) await ctx.db.delete("chatSessions", s.id);
    return;
  }
  const u = await ctx.db.get("channelUsers", s.id);
  if (!u) return;
  if (keepBlocked) {
    const { _id, _creationTime, ...rest } = u;
    void _creationTime;
    await ctx.db.replace("channelUsers", _id, {
      workspaceId: rest.workspaceId,
      channelId: rest.channelId,
      platform: rest.platform,
      platformUserId: rest.platformUserId,
      blocked: true,
      firstSeenAt: rest.firstSeenAt,
      lastSeenAt: rest.lastSeenAt,
    });
  } else {
    await ctx.db.delete("channelUsers", u._id);
  }
}
