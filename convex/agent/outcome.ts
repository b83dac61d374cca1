/**
 * How a failed answer or delivery becomes visible: on the conversation and as a notification.
 * No imports from other domains, so channels/delivery.ts can use it without an import cycle
 * (the notification itself: notifications/notify.ts).
 */
import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";

/** A finished answer that its channel could not deliver: the conversation shows the code. */
export async function markUndelivered(ctx: MutationCtx, messageId: Id<"messages">, code: string): Promise<void> {
  const msg = await ctx.db.get("messages", messageId);
  if (!msg || msg.role !== "assistant" || msg.status !== "done") return;
  await ctx.db.patch("messages", messageId, { status: "error", errorCode: code });
}
