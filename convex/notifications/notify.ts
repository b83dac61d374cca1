/**
 * SyncBoard notifications: the only reader and writer of `notifications`. Other domains raise
 * one with `notify` (or `notifyThrottled` for sources that can repeat) and read the newest with
 * `latestNotifications`; SyncBoard's queries live in logs/explore.ts.
 */
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";

export type NewNotification = {
  workspaceId: Id<"workspaces">;
  kind: string;
  title: string;
  body: string;
  /** the security-event source an abuse alert is about (pseudonymous key) */
  source?: string;
};

const NOTIFY_EVERY_MS = 10 * 60_000;

export async function notify(ctx: MutationCtx, n: NewNotification, at = Date.now()): Promise<Id<"notifications">> {
  return await ctx.db.insert("notifications", { ...n, createdAt: at });
}

/** One notification per kind + title and workspace per 10 minutes (a failing provider must not flood the inbox). */
export async function notifyThrottled(ctx: MutationCtx, n: NewNotification): Promise<void> {
  const now = Date.now();
  const recent = await ctx.db
    .query("notifications")
    .withIndex("by_workspace_created", (q) => q.eq("workspaceId", n.workspaceId).gt("createdAt", now - NOTIFY_EVERY_MS))
    .take(50);
  if (recent.some((r) => r.kind === n.kind && r.title === n.title)) return;
  await notify(ctx, n, now);
}

/** The newest `limit` notifications of a workspace, newest first. */
export async function latestNotifications(
  ctx: QueryCtx,
  workspaceId: Id<"workspaces">,
  limit: number,
): Promise<Doc<"notifications">[]> {
  return await ctx.db
    .query("notifications")
    .withIndex("by_workspace_created", (q) => q.eq("workspaceId", workspaceId))
    .order("desc")
    .take(limit);
}
