/**
 * Database side of outbound replies (the Node action in replies.ts cannot touch the database):
 * where a reply goes, and what happened to it.
 */
import { v, type Infer } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { channelSettingsValidator, platformValidator } from "./tables";
import { bumpChannelSummary } from "./inbound";
import { IDEMPOTENT_SEND, MAX_ATTEMPTS } from "./vendors";
import { markUndelivered } from "../agent/outcome";
import { notifyThrottled } from "../notifications/notify";
import { logActivity } from "../agent/activity";
import { loadCiphertexts, loadedSecretsValidator } from "../secrets/access";
import { ADAPTERS } from "./platforms/index";

/**
 * Durable delivery (see agent/runs.ts for why the scheduler and not a workpool): a row is claimed
 * by one send attempt at a time under a lease; the claim is the idempotency check, so a duplicate
 * or late job finds the row gone (sent) or held and sends nothing. A crash leaves the lease to
 * expire; the sweeper cron re-queues the row, or fails it visibly past the deadline, or when the
 * request had already left for a vendor that cannot dedupe (DELIVERY_UNCERTAIN: never a duplicate).
 */
export const DELIVERY_DEADLINE_MS = 15 * 60_000;
/** Sends that crashed mid-way count too, so this is above the vendor-error retry budget. */
export const MAX_SEND_CLAIMS = MAX_ATTEMPTS + 2;
const SWEEP_BATCH = 50;

/** How long one attempt holds a row (also the start grace): above the 10 s vendor timeout. */
export function leaseMs(): number {
  const n = Number(process.env.WARDEN_DELIVERY_LEASE_MS);
  return Number.isFinite(n) && n >= 1000 ? n : 60_000;
}

function randomKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "warden-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Queues a reply: the text goes into channelOutbox and the send is scheduled with the row's id,
 * so no message text is kept in `_scheduled_functions`. With `sendByCaller` nothing is scheduled:
 * the calling action makes the first attempt itself (runAction of replies.ts:send) right after this
 * transaction, and if it never does, the row's start lease runs out and the sweeper schedules it.
 */
export async function queueReply(
  ctx: MutationCtx,
  channelUserId: Id<"channelUsers">,
  text: string,
  opts: { messageId?: Id<"messages">; sendByCaller?: boolean } = {},
): Promise<Id<"channelOutbox"> | null> {
  const user = await ctx.db.get("channelUsers", channelUserId);
  if (!user || !text.trim()) return null;
  const now = Date.now();
  const outboxId = await ctx.db.insert("channelOutbox", {
    workspaceId: user.workspaceId,
    channelUserId,
    text,
    createdAt: now,
    state: "queued",
    attempts: 0,
    leaseUntil: now + leaseMs(),
    deadlineAt: now + DELIVERY_DEADLINE_MS,
    idemKey: randomKey(),
    messageId: opts.messageId,
  });
  if (!opts.sendByCaller) await ctx.scheduler.runAfter(0, internal.channels.replies.send, { outboxId });
  return outboxId;
}

/** A final failure: row dropped, the conversation's message marked, channel health and a notification. */
async function failOutbox(ctx: MutationCtx, row: Doc<"channelOutbox">, code: string, status?: number): Promise<void> {
  await ctx.db.delete("channelOutbox", row._id);
  if (row.messageId) await markUndelivered(ctx, row.messageId, code);
  const user = await ctx.db.get("channelUsers", row.channelUserId);
  const channel = user ? await ctx.db.get("channelConfig", user.channelId) : null;
  if (!channel) return;
  const now = Date.now();
  const h = channel.health;
  await ctx.db.patch("channelConfig", channel._id, {
    health: {
      failing: true,
      lastFailureAt: now,
      lastFailureCode: code,
      lastOkAt: h?.lastOkAt,
      failures: (h?.failures ?? 0) + 1,
    },
  });
  await notifyThrottled(ctx, {
    workspaceId: channel.workspaceId,
    kind: "delivery_failed",
    title: `A reply on "${channel.name}" was not delivered`,
    body: `${channel.platform} reply failed with ${code}${status ? ` (HTTP ${status})` : ""}. The conversation shows it; see Channels for the channel's health.`,
  });
}

function deadlineOf(row: Doc<"channelOutbox">): number {
  return row.deadlineAt ?? row.createdAt + DELIVERY_DEADLINE_MS;
}

/** Whether a row's expired lease means the vendor may already have the reply and cannot dedupe it. */
async function uncertain(ctx: MutationCtx, row: Doc<"channelOutbox">): Promise<boolean> {
  if (row.state !== "sending" || row.dispatchedAt === undefined) return false;
  const user = await ctx.db.get("channelUsers", row.channelUserId);
  return !user || !IDEMPOTENT_SEND.has(user.platform);
}

export const replyTargetValidator = v.object({
  channelId: v.id("channelConfig"),
  workspaceId: v.id("workspaces"),
  platform: platformValidator,
  settings: channelSettingsValidator,
  platformUserId: v.string(),
  contact: v.optional(v.string()),
  replyTarget: v.optional(v.string()),
  /** true when a time-limited reply target (Discord interaction token) has expired */
  replyTargetExpired: v.boolean(),
});

/** A channel user's reply destination and channel; null when either is gone, blocked or disabled. */
async function replyTo(
  ctx: QueryCtx,
  channelUserId: Id<"channelUsers">,
): Promise<{ target: Infer<typeof replyTargetValidator>; channel: Doc<"channelConfig"> } | null> {
  const user = await ctx.db.get("channelUsers", channelUserId);
  if (!user || user.blocked) return null;
  const channel = await ctx.db.get("channelConfig", user.channelId);
  if (!channel || !channel.enabled) return null;
  return {
    channel,
    target: {
      channelId: channel._id,
      workspaceId: channel.workspaceId,
      platform: channel.platform,
      settings: channel.settings ?? {},
      platformUserId: user.platformUserId,
      contact: user.contact,
      replyTarget: user.replyTarget,
      replyTargetExpired: user.replyTargetExpiresAt !== undefined && user.replyTargetExpiresAt <= Date.now(),
    },
  };
}

/**
 * The idempotency check before a send: takes the row's lease and returns what the attempt needs
 * (the destination and, for vendors that need it, the ciphertext of the channel's send secret).
 * null when the row is gone (sent, dropped, erased), held by a live attempt, just failed (deadline,
 * budget, uncertain), or dropped here because it can no longer be delivered (user blocked or gone,
 * channel disabled, empty text).
 */
export const claimSend = internalMutation({
  args: { outboxId: v.id("channelOutbox") },
  returns: v.union(
    v.null(),
    v.object({
      channelUserId: v.id("channelUsers"),
      text: v.string(),
      idemKey: v.string(),
      attempt: v.number(),
      messageId: v.optional(v.id("messages")),
      target: replyTargetValidator,
      sendSecret: v.optional(loadedSecretsValidator),
    }),
  ),
  handler: async (ctx, { outboxId }) => {
    const row = await ctx.db.get("channelOutbox", outboxId);
    if (!row) return null;
    const now = Date.now();
    if (row.state === "sending" && (row.leaseUntil ?? 0) > now) return null;
    if (await uncertain(ctx, row)) {
      await failOutbox(ctx, row, "DELIVERY_UNCERTAIN");
      return null;
    }
    const attempts = row.attempts ?? 0;
    if (now >= deadlineOf(row) || attempts >= MAX_SEND_CLAIMS) {
      await failOutbox(ctx, row, "DELIVERY_EXPIRED");
      return null;
    }
    const to = await replyTo(ctx, row.channelUserId);
    if (!to || !row.text.trim()) {
      await ctx.db.delete("channelOutbox", row._id);
      return null;
    }
    await ctx.db.patch("channelOutbox", row._id, {
      state: "sending",
      attempts: attempts + 1,
      leaseUntil: now + leaseMs(),
      dispatchedAt: undefined,
    });
    const adapter = ADAPTERS[to.target.platform];
    return {
      channelUserId: row.channelUserId,
      text: row.text,
      idemKey: row.idemKey ?? row._id,
      attempt: attempts + 1,
      messageId: row.messageId,
      target: to.target,
      ...(adapter.reply.usesSecret
        ? { sendSecret: await loadCiphertexts(ctx.db, "channelSecrets", to.channel, [adapter.secrets.send]) }
        : {}),
    };
  },
});

/** Marks the request as leaving now; false when this attempt no longer holds the row. */
export const markDispatched = internalMutation({
  args: { outboxId: v.id("channelOutbox"), attempt: v.number() },
  returns: v.boolean(),
  handler: async (ctx, { outboxId, attempt }) => {
    const row = await ctx.db.get("channelOutbox", outboxId);
    if (!row || row.state !== "sending" || (row.attempts ?? 0) !== attempt) return false;
    await ctx.db.patch("channelOutbox", row._id, { dispatchedAt: Date.now() });
    return true;
  },
});

/**
 * Cron: rows whose lease ran out (a send crashed, or its job was lost) are re-scheduled by id, or
 * fail past the deadline / budget, or as DELIVERY_UNCERTAIN when the request may have arrived.
 */
export const sweepOutbox = internalMutation({
  args: {},
  returns: v.object({ rescheduled: v.number(), failed: v.number() }),
  handler: async (ctx) => {
    const now = Date.now();
    const due = await ctx.db
      .query("channelOutbox")
      .withIndex("by_lease", (q) => q.lt("leaseUntil", now))
      .take(SWEEP_BATCH);
    let rescheduled = 0;
    let failed = 0;
    for (const row of due) {
      if (await uncertain(ctx, row)) {
        await failOutbox(ctx, row, "DELIVERY_UNCERTAIN");
        failed++;
      } else if (now >= deadlineOf(row) || (row.attempts ?? 0) >= MAX_SEND_CLAIMS) {
        await failOutbox(ctx, row, "DELIVERY_EXPIRED");
        failed++;
      } else {
        await ctx.db.patch("channelOutbox", row._id, {
          state: "queued",
          leaseUntil: now + leaseMs(),
          dispatchedAt: undefined,
        });
        await ctx.scheduler.runAfter(0, internal.channels.replies.send, { outboxId: row._id });
        rescheduled++;
      }
    }
    return { rescheduled, failed };
  },
});

/** Reply destination for a channel user (the Resend fetch); null when the user or channel is gone, blocked or disabled. */
export const target = internalQuery({
  args: { channelUserId: v.id("channelUsers") },
  returns: v.union(v.null(), replyTargetValidator),
  handler: async (ctx, { channelUserId }) => (await replyTo(ctx, channelUserId))?.target ?? null,
});

/**
 * Outcome of one send attempt. Successes count toward channelMessageSummary; failures go to the
 * activity log (private) with a code and HTTP status only — never the text or the recipient.
 * For a queued reply the row changes in the same transaction: deleted when sent, re-queued with
 * its retry scheduled, or failed visibly. A stale attempt (the row was re-claimed) changes no row.
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
    /** the retry's delay, scheduled here for a queued reply */
    retryInMs: v.optional(v.number()),
    kind: v.optional(v.union(v.literal("reply"), v.literal("fetch"))),
    /** the queued reply this attempt claimed */
    outboxId: v.optional(v.id("channelOutbox")),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const now = Date.now();
    if (a.outboxId) {
      const row = await ctx.db.get("channelOutbox", a.outboxId);
      if (row && (row.attempts ?? 0) === a.attempt) {
        if (a.ok) await ctx.db.delete("channelOutbox", row._id);
        else if (a.willRetry) {
          const delay = a.retryInMs ?? 0;
          await ctx.db.patch("channelOutbox", row._id, {
            state: "queued",
            leaseUntil: now + delay + leaseMs(),
            dispatchedAt: undefined,
          });
          await ctx.scheduler.runAfter(delay, internal.channels.replies.send, {
            outboxId: row._id,
            attempt: a.attempt + 1,
          });
        } else await failOutbox(ctx, row, a.code ?? "VENDOR_ERROR", a.status);
      }
    }
    if (a.ok) {
      if ((a.kind ?? "reply") === "reply") {
        await bumpChannelSummary(ctx, a.channelId, a.workspaceId, "outbound", now);
        const channel = await ctx.db.get("channelConfig", a.channelId);
        const h = channel?.health;
        // a write only when the badge changes or once a minute, not on every reply
        if (channel && (!h || h.failing || (h.lastOkAt ?? 0) < now - 60_000)) {
          await ctx.db.patch("channelConfig", channel._id, {
            health: { ...(h ?? { failures: 0 }), failing: false, lastOkAt: now },
          });
        }
      }
      return null;
    }
    const code = a.code ?? "VENDOR_ERROR";
    await logActivity(ctx, {
      workspaceId: a.workspaceId,
      kind: "channel.vendor_error",
      channel: a.platform,
      code,
      status: a.status,
      retrying: a.willRetry,
      meta: {
        channelId: a.channelId,
        call: a.kind ?? "reply",
        code,
        status: a.status,
        attempt: a.attempt,
        willRetry: a.willRetry,
      },
    });
    return null;
  },
});
