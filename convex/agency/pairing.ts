/**
 * Channel senders and their trust. A sender starts `unknown`; an owner pairs them with a one-time
 * code the sender types on the channel (`/pair CODE`, like pairing a device) or sets the trust in
 * SyncBoard. An `owner` code links the sender to the owner who created it (their own identity).
 * Per channel, unknown senders may talk (open), must pair first (pairing) or are ignored (allowlist).
 */
import { v } from "convex/values";
import type { MutationCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import { adminMutation, ownerMutation } from "../access/builders";
import { fail, getOwned, roleAtLeast } from "../access/principal";
import { writeAudit } from "../audit/log";
import { recordSecurityEvent } from "../security/events";
import { newPairingCode, parsePairCommand, PAIRING_TTL_MS, type SenderPolicy } from "../lib/agency";
import { sha256Hex } from "../lib/tokens";
import { senderPolicyValidator } from "./tables";

export const MAX_PAIR_FAILURES = 5;
export const PAIRED_TEXT = "You're paired. The assistant can now use the tools the owner allows for paired contacts.";
export const OWNER_LINKED_TEXT = "This identity is now linked to your owner account.";
export const PAIR_FAILED_TEXT = "That pairing code is not valid. Ask the owner for a new one.";
export const PAIR_LOCKED_TEXT = "Too many wrong pairing codes. Ask the owner to pair you from the dashboard.";
export const PAIR_FIRST_TEXT =
  "This assistant talks only to paired contacts. Ask the owner for a pairing code and send: /pair CODE";

/** A one-time code (shown once) that pairs the sender who types it on this channel. */
export const createCode = adminMutation({
  args: { channelId: v.id("channelConfig"), trust: v.union(v.literal("paired"), v.literal("owner")) },
  returns: v.object({ code: v.string(), expiresAt: v.number() }),
  handler: async (ctx, { channelId, trust }) => {
    const channel = await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
    // linking an identity to a person is that person's own act, and only owners act as "owner"
    if (trust === "owner" && !roleAtLeast(ctx.principal.role, "owner")) fail("FORBIDDEN");
    const code = newPairingCode((n) => crypto.getRandomValues(new Uint8Array(n)));
    const now = Date.now();
    await ctx.db.insert("pairingCodes", {
      workspaceId: ctx.principal.workspaceId,
      channelId: channel._id,
      codeHash: await sha256Hex(`pair:${channel._id}:${code}`),
      trust,
      ownerId: trust === "owner" ? ctx.principal.ownerId : undefined,
      createdBy: ctx.principal.ownerId,
      createdAt: now,
      expiresAt: now + PAIRING_TTL_MS,
    });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "pairing.createCode",
      target: channel._id,
      after: { trust, expiresAt: now + PAIRING_TTL_MS },
    });
    return { code, expiresAt: now + PAIRING_TTL_MS };
  },
});

export const setSenderPolicy = ownerMutation({
  args: { channelId: v.id("channelConfig"), policy: senderPolicyValidator },
  returns: v.null(),
  handler: async (ctx, { channelId, policy }) => {
    const channel = await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
    await ctx.db.patch("channelConfig", channel._id, { senderPolicy: policy, updatedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "channel.setSenderPolicy",
      target: channel._id,
      before: { policy: channel.senderPolicy ?? "open" },
      after: { policy },
    });
    return null;
  },
});

/** Pair or un-pair a sender from SyncBoard. `owner` trust comes only from the person's own code. */
export const setTrust = ownerMutation({
  args: { channelUserId: v.id("channelUsers"), trust: v.union(v.literal("unknown"), v.literal("paired")) },
  returns: v.null(),
  handler: async (ctx, { channelUserId, trust }) => {
    const user = await getOwned(await ctx.db.get("channelUsers", channelUserId), ctx.principal);
    await ctx.db.patch("channelUsers", user._id, { trust, linkedOwnerId: undefined, pairFailures: 0 });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "channelUser.setTrust",
      target: user._id,
      before: { trust: user.trust ?? "unknown" },
      after: { trust },
    });
    return null;
  },
});

export type SenderDecision = { kind: "run" } | { kind: "reply"; text: string } | { kind: "ignore" };

/**
 * What happens to an inbound channel message before the agent: a `/pair CODE` command is handled
 * here (never shown to the agent); an unknown sender meets the channel's sender policy.
 */
export async function admitSender(
  ctx: MutationCtx,
  channel: Doc<"channelConfig">,
  user: Doc<"channelUsers">,
  text: string,
): Promise<SenderDecision> {
  const code = parsePairCommand(text);
  if (code !== null) return await redeem(ctx, channel, user, code);
  const trust = user.trust ?? "unknown";
  if (trust !== "unknown") return { kind: "run" };
  const policy: SenderPolicy = channel.senderPolicy ?? "open";
  if (policy === "open") return { kind: "run" };
  if (policy === "pairing") return { kind: "reply", text: PAIR_FIRST_TEXT };
  return { kind: "ignore" };
}

async function redeem(
  ctx: MutationCtx,
  channel: Doc<"channelConfig">,
  user: Doc<"channelUsers">,
  code: string,
): Promise<SenderDecision> {
  if ((user.pairFailures ?? 0) >= MAX_PAIR_FAILURES) return { kind: "reply", text: PAIR_LOCKED_TEXT };
  const now = Date.now();
  const hash = code ? await sha256Hex(`pair:${channel._id}:${code}`) : "";
  const found = hash
    ? await ctx.db
        .query("pairingCodes")
        .withIndex("by_codeHash", (q) => q.eq("codeHash", hash))
        .unique()
    : null;
  const valid = found && found.channelId === channel._id && found.usedAt === undefined && found.expiresAt > now;
  if (!valid) {
    const failures = (user.pairFailures ?? 0) + 1;
    await ctx.db.patch("channelUsers", user._id, { pairFailures: failures });
    await recordSecurityEvent(ctx, {
      workspaceId: channel.workspaceId,
      code: "PAIRING_INVALID",
      category: "webhook",
      source: `channelUser:${user._id}`,
      detail: `platform=${channel.platform} failures=${failures}`,
    });
    return { kind: "reply", text: failures >= MAX_PAIR_FAILURES ? PAIR_LOCKED_TEXT : PAIR_FAILED_TEXT };
  }
  await ctx.db.patch("pairingCodes", found._id, { usedAt: now, usedBy: user._id });
  await ctx.db.patch("channelUsers", user._id, {
    trust: found.trust,
    linkedOwnerId: found.trust === "owner" ? found.ownerId : undefined,
    pairFailures: 0,
  });
  await writeAudit(ctx, {
    workspaceId: channel.workspaceId,
    actorId: found.createdBy,
    actorLabel: "pairing code",
    action: found.trust === "owner" ? "channelUser.linkOwner" : "channelUser.pair",
    target: user._id,
    after: { trust: found.trust },
  });
  return { kind: "reply", text: found.trust === "owner" ? OWNER_LINKED_TEXT : PAIRED_TEXT };
}
