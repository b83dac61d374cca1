/**
 * The checker's webhook entry: decides whether a verified (or not) inbound delivery is admitted
 * and logs the decision, inside the caller's transaction (channels/inbound.ts:accept). A plain
 * function, so admission, dedupe and the turn it starts commit together.
 */
import type { MutationCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { enforceLimit } from "../limits/enforce";
import { sha256Hex } from "../lib/tokens";
import type { Code } from "../lib/codes";
import { writeInvocationLog, type InvocationLogEntry } from "./checkerLog";
import { recordSecurityEvent } from "./events";
import { logActivity } from "../agent/activity";
import { findChannelUser } from "../channels/users";
import { seenDelivery } from "../channels/deliveries";

export type WebhookDelivery = {
  verified: boolean;
  payloadValid: boolean;
  deliveryId?: string;
  platformUserId?: string;
  inputBytes: number;
  ip: string;
};

export type WebhookAdmission =
  | { ok: true; duplicate: boolean; workspaceId: Id<"workspaces">; channelUserBlocked?: boolean }
  | { ok: false; code: Code; retryAfterMs?: number };

/** Stable, non-reversible id for a platform user in logs (never the raw platform id). */
async function hashedUser(channelId: string, platformUserId: string): Promise<string> {
  return `u_${(await sha256Hex(`${channelId}:${platformUserId}`)).slice(0, 16)}`;
}

type WebhookEntry = Omit<
  InvocationLogEntry,
  "code" | "allowed" | "workspaceId" | "targetKind" | "targetName" | "channelId"
>;

/** The invocation-log row of one webhook delivery for `channel`. */
async function logWebhook(
  ctx: MutationCtx,
  channel: Doc<"channelConfig">,
  entry: WebhookEntry,
  code: Code | "OK",
  allowed: boolean,
  source: string,
): Promise<void> {
  const targetName = `${channel.platform}/${channel.name}`;
  await writeInvocationLog(
    ctx,
    {
      ...entry,
      workspaceId: channel.workspaceId,
      targetKind: "webhook",
      channelId: channel._id,
      targetName,
      code,
      allowed,
    },
    { source, detail: `webhook=${targetName}` },
  );
}

async function webhookRejected(
  ctx: MutationCtx,
  channel: Doc<"channelConfig">,
  code: Code,
  entry: WebhookEntry,
  source: string,
): Promise<void> {
  await logWebhook(ctx, channel, entry, code, false, source);
  await logActivity(ctx, {
    workspaceId: channel.workspaceId,
    kind: "webhook.rejected",
    channel: channel.platform,
    code,
    meta: { channelId: channel._id, channel: channel.name.slice(0, 80) },
  });
}

/**
 * Admission of one delivery for `channel` (null: the channel is gone). Order: enabled, signature,
 * payload, per-channel limit, dedupe by delivery id, blocked sender. Every outcome is logged.
 */
export async function admitWebhook(
  ctx: MutationCtx,
  channel: Doc<"channelConfig"> | null,
  a: WebhookDelivery,
): Promise<WebhookAdmission> {
  const startedAt = Date.now();
  const source = `ip:${a.ip.slice(0, 64)}`;
  if (!channel) {
    // No workspace to log against: a workspace-less security event only.
    await recordSecurityEvent(ctx, { code: "NOT_FOUND", category: "webhook", source, detail: "unknown channel" });
    return { ok: false, code: "NOT_FOUND" };
  }
  const callerId = a.platformUserId ? await hashedUser(channel._id, a.platformUserId) : undefined;
  const entry = { callerKind: "channel-webhook", callerId, durationMs: 0, inputBytes: a.inputBytes, outputBytes: 0 };
  const reject = async (code: Code, visible: Code = code, retryAfterMs?: number): Promise<WebhookAdmission> => {
    await webhookRejected(ctx, channel, code, { ...entry, durationMs: Date.now() - startedAt }, source);
    return { ok: false, code: visible, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  };

  // A disabled channel answers exactly like an unknown one.
  if (!channel.enabled) return await reject("CHANNEL_DISABLED", "NOT_FOUND");
  if (!a.verified) return await reject("WEBHOOK_SIGNATURE_INVALID");
  if (!a.payloadValid) return await reject("WEBHOOK_PAYLOAD_INVALID");
  const limit = await enforceLimit(ctx, {
    workspaceId: channel.workspaceId,
    name: "webhookPerChannel",
    key: `channel:${channel._id}`,
    category: "webhook",
    source,
  });
  if (!limit.ok) return await reject(limit.code, limit.code, limit.retryAfterMs);

  const logAdmitted = async (code: Code | "OK", allowed = true) =>
    await logWebhook(ctx, channel, { ...entry, durationMs: Date.now() - startedAt }, code, allowed, source);

  if (a.deliveryId !== undefined && (await seenDelivery(ctx, channel, a.deliveryId.slice(0, 200)))) {
    await logAdmitted("DUPLICATE_DELIVERY");
    return { ok: true, duplicate: true, workspaceId: channel.workspaceId };
  }

  const channelUserBlocked =
    a.platformUserId === undefined
      ? undefined
      : (await findChannelUser(ctx, channel._id, a.platformUserId))?.blocked === true;
  // A blocked user's delivery is admitted (so the vendor gets its ack) but not processed.
  if (channelUserBlocked) await logAdmitted("CHANNEL_USER_BLOCKED", false);
  else await logAdmitted("OK");
  return { ok: true, duplicate: false, workspaceId: channel.workspaceId, channelUserBlocked };
}
