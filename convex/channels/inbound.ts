/**
 * Inbound channel messages after the HTTP route verified and parsed them: the checker gate,
 * channel users, blocking, per-user limits, and the hand-off to the agent.
 */
import { v, type Infer } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { recordSecurityEvent } from "../security/events";
import { admitAllUsers, enforceLimit, effectiveLimit } from "../limits/enforce";
import { hourBucket } from "../lib/time";
import { channelSettingsValidator, platformValidator } from "./tables";
import { upsertChannelUser } from "./users";
import { MAX_MESSAGE_CHARS } from "./payloads";
import { NOTICE_SLOW_DOWN, NOTICE_TOO_LONG } from "./vendors";
import { admitSender } from "../agency/pairing";
import { queueReply } from "./delivery";
import { admitWebhook } from "../security/checkerWebhook";
import { appendChannelTurn } from "../chat/turns";
import { loadCiphertexts, loadedSecretsValidator } from "../secrets/access";
import { ADAPTERS, LIMIT_SIGNAL, SECRET_NAMES } from "./platforms/index";
import { codeValidator } from "../lib/codes";

/**
 * Hard ceiling on text queued from a channel. The agent applies the workspace's own limit
 * (default 4000 characters) and answers "too long" itself; this only bounds what is queued.
 */
export const MAX_INBOUND_CHARS = 32_000;

/**
 * Step 1 of an inbound delivery (prepare → verify → admit → turn): the channel as the webhook
 * route needs it (settings are non-secret) plus the ciphertext of its verification secret, in one
 * read of the channel row. The secret is read only for an enabled channel of the right platform.
 */
export const prepare = internalQuery({
  args: { channelId: v.string(), platform: v.string() },
  returns: v.union(
    v.null(),
    v.object({
      channelId: v.id("channelConfig"),
      workspaceId: v.id("workspaces"),
      platform: platformValidator,
      enabled: v.boolean(),
      settings: channelSettingsValidator,
      idSalt: v.string(),
      verifySecret: v.optional(loadedSecretsValidator),
    }),
  ),
  handler: async (ctx, a) => {
    const id = ctx.db.normalizeId("channelConfig", a.channelId);
    const c = id ? await ctx.db.get("channelConfig", id) : null;
    if (!c) return null;
    const readable = c.enabled && c.platform === a.platform;
    return {
      channelId: c._id,
      workspaceId: c.workspaceId,
      platform: c.platform,
      enabled: c.enabled,
      settings: c.settings ?? {},
      idSalt: c.idSalt ?? c._id,
      ...(readable
        ? { verifySecret: await loadCiphertexts(ctx.db, "channelSecrets", c, [SECRET_NAMES[c.platform].verify]) }
        : {}),
    };
  },
});

/**
 * A webhook for a channel that does not exist (or exists under another platform). There is no
 * checker call without a channel, so it is logged here: no payload, no channel id echo.
 */
export const logUnknown = internalMutation({
  args: { workspaceId: v.optional(v.id("workspaces")), ip: v.string(), platform: v.string() },
  returns: v.null(),
  handler: async (ctx, { workspaceId, ip, platform }) => {
    await recordSecurityEvent(ctx, {
      workspaceId,
      code: "NOT_FOUND",
      category: "webhook",
      source: `ip:${ip}`,
      detail: `unknown channel platform=${/^[a-z]{1,16}$/.test(platform) ? platform : "?"}`,
    });
    return null;
  },
});

export const messageValidator = v.object({
  platformUserId: v.string(),
  displayName: v.optional(v.string()),
  contact: v.optional(v.string()),
  replyTarget: v.optional(v.string()),
  replyTargetTtlMs: v.optional(v.number()),
  text: v.optional(v.string()),
  emailId: v.optional(v.string()),
});

export const acceptResult = v.union(
  v.object({ status: v.literal("denied"), code: codeValidator, retryAfterMs: v.optional(v.number()) }),
  v.object({ status: v.literal("duplicate") }),
  /** admitted, but not a user message (challenge, PING, ignored event) */
  v.object({ status: v.literal("admitted") }),
  v.object({ status: v.literal("accepted") }),
  v.object({ status: v.literal("blocked") }),
  v.object({ status: v.literal("user_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("too_long") }),
);
export type AcceptResult = Infer<typeof acceptResult>;

/**
 * Steps 3–4 (admit → turn) in one transaction: the checker decides and logs, then dedupe, the
 * sender, blocking, per-sender and all-users limits, and the chat turn the agent run answers.
 */
export const accept = internalMutation({
  args: {
    channelId: v.id("channelConfig"),
    verified: v.boolean(),
    payloadValid: v.boolean(),
    deliveryId: v.optional(v.string()),
    inputBytes: v.number(),
    ip: v.string(),
    message: v.optional(messageValidator),
  },
  returns: acceptResult,
  handler: async (ctx, a): Promise<AcceptResult> => {
    const channel = await ctx.db.get("channelConfig", a.channelId);
    const admit = await admitWebhook(ctx, channel, {
      verified: a.verified,
      payloadValid: a.payloadValid,
      deliveryId: a.deliveryId,
      platformUserId: a.message?.platformUserId,
      inputBytes: a.inputBytes,
      ip: a.ip,
    });
    if (!admit.ok) return { status: "denied", code: admit.code, retryAfterMs: admit.retryAfterMs };
    if (admit.duplicate) return { status: "duplicate" };
    if (!a.message || !channel) return { status: "admitted" };
    const now = Date.now();
    const user = await upsertChannelUser(ctx, channel, a.message, now);
    const source = `channelUser:${user._id}`;

    if (user.blocked) {
      // The checker logs the drop when it saw the block; log here only if it could not have.
      if (admit.channelUserBlocked !== true)
        await recordSecurityEvent(ctx, {
          workspaceId: channel.workspaceId,
          code: "CHANNEL_USER_BLOCKED",
          category: "webhook",
          source,
          detail: `platform=${channel.platform} channel=${channel._id}`,
        });
      return { status: "blocked" };
    }

    // The user's own limit first, then the workspace's budget for all users combined.
    let limit = await enforceLimit(ctx, {
      workspaceId: channel.workspaceId,
      name: "channelUser",
      key: source,
      category: "webhook",
      source,
    });
    if (limit.ok) limit = await admitAllUsers(ctx, { workspaceId: channel.workspaceId, category: "webhook", source });
    if (!limit.ok) {
      // How the sender learns it is the adapter's limitSignal (platforms/<vendor>.ts says why);
      // routes.ts answers the webhook accordingly, and "reply" vendors get one notice per window.
      if (LIMIT_SIGNAL[channel.platform] === "reply") {
        const { periodMs } = await effectiveLimit(ctx, channel.workspaceId, "channelUser");
        if (user.limitNoticeAt === undefined || now - user.limitNoticeAt >= periodMs) {
          await ctx.db.patch("channelUsers", user._id, { limitNoticeAt: now });
          await queueReply(ctx, user._id, NOTICE_SLOW_DOWN);
        }
      }
      return { status: "user_limited", retryAfterMs: limit.retryAfterMs };
    }

    const text = a.message.text;
    if (text !== undefined && text.length > MAX_INBOUND_CHARS) {
      await recordSecurityEvent(ctx, {
        workspaceId: channel.workspaceId,
        code: "MESSAGE_TOO_LONG",
        category: "webhook",
        source,
        detail: `platform=${channel.platform} chars=${text.length}`,
      });
      // Vendors that show notices inline get it as the webhook answer (routes.ts) instead.
      if (!ADAPTERS[channel.platform].inlineNotice) {
        await queueReply(ctx, user._id, NOTICE_TOO_LONG);
      }
      return { status: "too_long" };
    }

    await bumpChannelSummary(ctx, channel._id, channel.workspaceId, "inbound", now);
    if (text === undefined) {
      // Resend: the webhook has no body; fetch it, then record and hand off.
      if (!a.message.emailId) return { status: "admitted" };
      await ctx.scheduler.runAfter(0, internal.channels.replies.fetchEmail, {
        channelUserId: user._id,
        emailId: a.message.emailId,
      });
      return { status: "accepted" };
    }
    await handOff(ctx, channel, user, text);
    return { status: "accepted" };
  },
});

/** Records a fetched e-mail body for a user already admitted by `accept`. */
export const recordEmail = internalMutation({
  args: { channelUserId: v.id("channelUsers"), text: v.string() },
  returns: v.null(),
  handler: async (ctx, { channelUserId, text }) => {
    const user = await ctx.db.get("channelUsers", channelUserId);
    const channel = user ? await ctx.db.get("channelConfig", user.channelId) : null;
    if (!user || !channel || !channel.enabled || user.blocked) return null;
    const clean = text.trim().slice(0, MAX_MESSAGE_CHARS);
    if (!clean) return null;
    await handOff(ctx, channel, user, clean);
    return null;
  },
});

/**
 * THE hand-off from channels to the agent. The agent domain records the thread and message and
 * applies the workspace's message-length limit in this transaction (chat/turns:appendChannelTurn);
 * the run is scheduled with the message id only, so the text never sits in `_scheduled_functions`.
 */
async function handOff(
  ctx: MutationCtx,
  channel: Doc<"channelConfig">,
  user: Doc<"channelUsers">,
  text: string,
): Promise<void> {
  // pairing commands and the channel's policy for unknown senders come before the agent
  const sender = await admitSender(ctx, channel, user, text);
  if (sender.kind === "ignore") return;
  if (sender.kind === "reply") {
    await queueReply(ctx, user._id, sender.text);
    return;
  }
  const turn = await appendChannelTurn(ctx, { workspaceId: channel.workspaceId, channelUserId: user._id, text });
  if (!turn.ok) {
    if (turn.code === "MESSAGE_TOO_LONG")
      await queueReply(ctx, user._id, `Your message is too long (the limit is ${turn.maxChars} characters).`);
    return;
  }
  await ctx.scheduler.runAfter(0, internal.agent.run.handleChannelMessage, {
    channelUserId: user._id,
    assistantMessageId: turn.assistantMessageId,
  });
}

/** Incremental per-hour inbound/outbound counters (one row per channel and hour). */
export async function bumpChannelSummary(
  ctx: MutationCtx,
  channelId: Id<"channelConfig">,
  workspaceId: Id<"workspaces">,
  field: "inbound" | "outbound",
  now: number,
): Promise<void> {
  const bucket = hourBucket(now);
  const row = await ctx.db
    .query("channelMessageSummary")
    .withIndex("by_channel_bucket", (q) => q.eq("channelId", channelId).eq("bucket", bucket))
    .unique();
  if (row) await ctx.db.patch("channelMessageSummary", row._id, { [field]: row[field] + 1 });
  else
    await ctx.db.insert("channelMessageSummary", {
      workspaceId,
      channelId,
      bucket,
      inbound: field === "inbound" ? 1 : 0,
      outbound: field === "outbound" ? 1 : 0,
    });
}
