/**
 * How a failed answer or delivery becomes visible: on the conversation and as a notification.
 * No imports from other domains, so channels/delivery.ts can use it without an import cycle.
 */
import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";

const NOTIFY_EVERY_MS = 10 * 60_000;

/** One notification per kind + title and workspace per 10 minutes (a failing provider must not flood the inbox). */
export async function notifyThrottled(
  ctx: MutationCtx,
  n: { workspaceId: Id<"workspaces">; kind: string; title: string; body: string },
): Promise<void> {
  const now = Date.now();
  const recent = await ctx.db
    .query("notifications")
    .withIndex("by_workspace_created", (q) => q.eq("workspaceId", n.workspaceId).gt("createdAt", now - NOTIFY_EVERY_MS))
    .take(50);
  if (recent.some((r) => r.kind === n.kind && r.title === n.title)) return;
  await ctx.db.insert("notifications", { ...n, createdAt: now });
}

/** A finished answer that its channel could not deliver: the conversation shows the code. */
export async function markUndelivered(ctx: MutationCtx, messageId: Id<"messages">, code: string): Promise<void> {
  const msg = await ctx.db.get(messageId);
  if (!msg || msg.role !== "assistant" || msg.status !== "done") return;
  await ctx.db.patch(messageId, { status: "error", errorCode: code });
}
