/**
 * Durable agent runs. A pending assistant message is the unit of work: it carries a lease
 * (`leaseUntil`), an attempt counter and a deadline. A run claims the message before calling the
 * model; a crash leaves the lease to expire, and the sweeper cron re-schedules the run (by id) or,
 * past the deadline or the attempt budget, fails the message visibly (AGENT_TIMEOUT).
 *
 * Why not @convex-dev/workpool or action-retrier: both recover work through `_scheduled_functions`
 * state, which the embedded runtime emulates (an interrupted action is marked failed on restart),
 * and neither knows whether a vendor already received a reply. The lease and the idempotency
 * check have to live on our own rows anyway, so the scheduler plus one sweeper cron is enough and
 * behaves the same on a Convex deployment, in convex-test and in the embedded runtime.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc } from "../_generated/dataModel";
import { logActivity } from "./activity";
import { UNAVAILABLE_TEXT } from "./model";
import { queueReply } from "../channels/delivery";
import { notifyThrottled } from "../notifications/notify";
import { contextValidator, loadContext } from "./context";

/** Before the first claim, a run must start within this; then each attempt holds the message this long. */
export const RUN_START_GRACE_MS = 60_000;
export const RUN_LEASE_MS = 5 * 60_000;
/** A message is never pending longer than this: then it fails with AGENT_TIMEOUT. */
export const RUN_DEADLINE_MS = 15 * 60_000;
export const MAX_RUN_ATTEMPTS = 3;
const SWEEP_BATCH = 50;

/** Lease fields for a new pending assistant message. */
export function newRunFields(now: number) {
  return { leaseUntil: now + RUN_START_GRACE_MS, deadlineAt: now + RUN_DEADLINE_MS, attempts: 0 };
}

/** Fails a pending message for good: error status on the conversation, a notice to a channel user, a notification. */
async function failRun(ctx: MutationCtx, msg: Doc<"messages">, code: "AGENT_TIMEOUT"): Promise<void> {
  await ctx.db.patch("messages", msg._id, { status: "error", errorCode: code, leaseUntil: undefined });
  const thread = await ctx.db.get("threads", msg.threadId);
  if (thread?.channelUserId) await queueReply(ctx, thread.channelUserId, UNAVAILABLE_TEXT);
  await logActivity(ctx, {
    workspaceId: msg.workspaceId,
    kind: "agent.reply_failed",
    meta: { code, attempts: msg.attempts ?? 0, threadId: msg.threadId },
  });
  await notifyThrottled(ctx, {
    workspaceId: msg.workspaceId,
    kind: "agent_run",
    title: "An answer was not produced in time",
    body: `A conversation's reply failed with ${code} after ${msg.attempts ?? 0} attempt(s). See Conversations and Activity.`,
  });
}

/**
 * Takes the run's lease and returns the run's context, read in the same transaction. null when the
 * message is no longer pending, another attempt holds a live lease (a duplicate job), the message
 * just failed for being past its deadline/budget, or its thread is gone.
 */
export const startRun = internalMutation({
  args: { assistantMessageId: v.id("messages") },
  returns: v.union(contextValidator, v.null()),
  handler: async (ctx, { assistantMessageId }) => {
    const msg = await ctx.db.get("messages", assistantMessageId);
    if (!msg || msg.role !== "assistant" || msg.status !== "pending") return null;
    const now = Date.now();
    if (msg.running && (msg.leaseUntil ?? 0) > now) return null;
    const attempts = msg.attempts ?? 0;
    if (now >= (msg.deadlineAt ?? msg.createdAt + RUN_DEADLINE_MS) || attempts >= MAX_RUN_ATTEMPTS) {
      await failRun(ctx, msg, "AGENT_TIMEOUT");
      return null;
    }
    await ctx.db.patch("messages", msg._id, { running: true, attempts: attempts + 1, leaseUntil: now + RUN_LEASE_MS });
    return await loadContext(ctx, msg);
  },
});

/**
 * Cron: pending messages whose lease ran out (the run crashed, or its job was lost) are
 * re-scheduled with their id; those past the deadline or the attempt budget fail.
 */
export const sweepRuns = internalMutation({
  args: {},
  returns: v.object({ rescheduled: v.number(), failed: v.number() }),
  handler: async (ctx) => {
    const now = Date.now();
    const due = await ctx.db
      .query("messages")
      .withIndex("by_status_lease", (q) => q.eq("status", "pending").lt("leaseUntil", now))
      .take(SWEEP_BATCH);
    // a run that crashed while its answer was streaming (agent/stream) holds its lease the same way
    if (due.length < SWEEP_BATCH) {
      due.push(
        ...(await ctx.db
          .query("messages")
          .withIndex("by_status_lease", (q) => q.eq("status", "streaming").lt("leaseUntil", now))
          .take(SWEEP_BATCH - due.length)),
      );
    }
    let rescheduled = 0;
    let failed = 0;
    for (const msg of due) {
      if (msg.role !== "assistant") continue;
      const past = now >= (msg.deadlineAt ?? msg.createdAt + RUN_DEADLINE_MS);
      if (past || (msg.attempts ?? 0) >= MAX_RUN_ATTEMPTS) {
        await failRun(ctx, msg, "AGENT_TIMEOUT");
        failed++;
        continue;
      }
      // a half-streamed answer is dropped: the next attempt starts it again
      await ctx.db.patch("messages", msg._id, {
        running: false,
        leaseUntil: now + RUN_START_GRACE_MS,
        ...(msg.status === "streaming" ? { status: "pending" as const, text: "" } : {}),
      });
      await ctx.scheduler.runAfter(0, internal.agent.run.respond, { assistantMessageId: msg._id });
      rescheduled++;
    }
    return { rescheduled, failed };
  },
});
