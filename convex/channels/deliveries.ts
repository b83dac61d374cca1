/**
 * Delivery ids seen per channel: a vendor's retry of a delivery already admitted is a duplicate.
 * Rows are pruned by the retention job (logs/retention.ts).
 */
import type { MutationCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";

/** True when `deliveryId` was already admitted for this channel; records it otherwise. */
export async function seenDelivery(
  ctx: MutationCtx,
  channel: Pick<Doc<"channelConfig">, "_id" | "workspaceId">,
  deliveryId: string,
): Promise<boolean> {
  const seen = await ctx.db
    .query("webhookDeliveries")
    .withIndex("by_channel_delivery", (q) => q.eq("channelId", channel._id).eq("deliveryId", deliveryId))
    .first();
  if (seen) return true;
  await ctx.db.insert("webhookDeliveries", {
    workspaceId: channel.workspaceId,
    channelId: channel._id,
    deliveryId,
    receivedAt: Date.now(),
  });
  return false;
}
