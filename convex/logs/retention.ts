import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { viewerQuery, adminMutation } from "../access/builders";
import type { QueryCtx } from "../_generated/server";
import { fail } from "../access/principal";
import { writeAudit } from "../audit/log";
import { DAY } from "../lib/time";
import { workspacePage } from "../workspaces/lib";
import { purgeLegacyInvocations } from "../security/invocationLogMigration";

/** Log tables with retention, all indexed by (workspaceId, at). */
export const RETENTION_TABLES = ["invocationLog", "securityEvents", "activityLog", "auditLog"] as const;
type RetentionTable = (typeof RETENTION_TABLES)[number];
/**
 * One setting for all conversation data (threads, messages, chat sessions, channel users, voice
 * sessions, queued replies, delivery ids), purged by privacy/retention.ts.
 */
export const CONVERSATIONS = "conversations";
/** Every retention setting an owner can change (Retention page). */
export const RETENTION_SETTINGS = [...RETENTION_TABLES, CONVERSATIONS] as const;
export const DEFAULT_RETENTION_DAYS = 30;
/** Defaults that differ from the operational logs' 30 days: the audit log outlives them. */
export const DEFAULT_DAYS: Record<string, number> = { auditLog: 365, [CONVERSATIONS]: 90 };
export const defaultDays = (setting: string): number => DEFAULT_DAYS[setting] ?? DEFAULT_RETENTION_DAYS;
/**
 * Settings stored under a table's name before it was renamed. Read as a fallback until the upgrade
 * (security/invocationLogMigration.ts) has remapped them with remapLegacyRetentionSettings.
 */
const LEGACY_SETTING = { invocationLog: "skillInvocationLog" } as const;
const legacyKey = (setting: string): string | undefined => (LEGACY_SETTING as Record<string, string>)[setting];

async function settingRow(ctx: QueryCtx, workspaceId: Id<"workspaces">, table: string) {
  const row = await ctx.db
    .query("retentionConfig")
    .withIndex("by_workspace_table", (q) => q.eq("workspaceId", workspaceId).eq("table", table))
    .unique();
  const old = legacyKey(table);
  if (row || !old) return row;
  return await ctx.db
    .query("retentionConfig")
    .withIndex("by_workspace_table", (q) => q.eq("workspaceId", workspaceId).eq("table", old))
    .unique();
}

/** Whether a setting is still stored under a table's old name. */
export async function legacyRetentionSettingsRemain(ctx: QueryCtx): Promise<boolean> {
  for (const old of Object.values(LEGACY_SETTING)) {
    if (
      (await ctx.db
        .query("retentionConfig")
        .withIndex("by_table", (q) => q.eq("table", old))
        .first()) !== null
    )
      return true;
  }
  return false;
}

/**
 * Renames up to `limit` settings stored under a table's old name (a setting already saved under
 * the new name wins; the old one is then deleted). Returns how many rows it changed.
 */
export async function remapLegacyRetentionSettings(ctx: MutationCtx, limit: number): Promise<number> {
  let n = 0;
  for (const [table, old] of Object.entries(LEGACY_SETTING)) {
    if (n >= limit) break;
    const rows = await ctx.db
      .query("retentionConfig")
      .withIndex("by_table", (q) => q.eq("table", old))
      .take(limit - n);
    for (const r of rows) {
      const current = await ctx.db
        .query("retentionConfig")
        .withIndex("by_workspace_table", (q) => q.eq("workspaceId", r.workspaceId).eq("table", table))
        .unique();
      if (current) await ctx.db.delete("retentionConfig", r._id);
      else await ctx.db.patch("retentionConfig", r._id, { table });
      n++;
    }
  }
  return n;
}
/** Webhook delivery ids only need to outlive vendor retries. */
export const DELIVERY_RETENTION_DAYS = 7;
export const RETENTION_BATCH = 100;
/** Pause between batches so deletion never competes with live traffic. */
export const RETENTION_SPACING_MS = 1_000;

/** The workspace's setting for a table (or "conversations"), else its default. */
export async function retentionDays(
  ctx: QueryCtx,
  workspaceId: Id<"workspaces"> | undefined,
  table: string,
): Promise<number> {
  if (!workspaceId) return defaultDays(table);
  const row = await settingRow(ctx, workspaceId, table);
  return row?.days ?? defaultDays(table);
}

/** Deletes one bounded batch of expired rows of one table in one workspace scope. */
async function purgeScope(
  ctx: MutationCtx,
  table: RetentionTable,
  workspaceId: Id<"workspaces"> | undefined,
  now: number,
) {
  const cutoff = now - (await retentionDays(ctx, workspaceId, table)) * DAY;
  const rows = await (ctx.db.query(table) as any)
    .withIndex("by_workspace_at", (q: any) => q.eq("workspaceId", workspaceId).lt("at", cutoff))
    .take(RETENTION_BATCH);
  for (const r of rows) {
    if (table === "invocationLog" && r.outputStorageId) await ctx.storage.delete(r.outputStorageId);
    await ctx.db.delete(table, r._id);
  }
  // Rows the upgrade has not moved yet expire the same way.
  if (table === "invocationLog")
    return rows.length + (await purgeLegacyInvocations(ctx, workspaceId, cutoff, RETENTION_BATCH - rows.length));
  return rows.length;
}

/**
 * One step of the retention job: a batch for (table, workspace); continues itself, spaced out,
 * until every table and workspace is done. `global` is the scope of rows without a workspace.
 */
export const step = internalMutation({
  args: {
    tableIndex: v.number(),
    workspaceCursor: v.union(v.string(), v.null()),
    workspaceId: v.union(v.id("workspaces"), v.literal("global"), v.null()),
    now: v.number(),
  },
  returns: v.object({ deleted: v.number(), done: v.boolean() }),
  handler: async (ctx, args) => {
    if (args.tableIndex >= RETENTION_TABLES.length) {
      // Finally the delivery dedupe table (global index).
      const cutoff = args.now - DELIVERY_RETENTION_DAYS * DAY;
      const rows = await ctx.db
        .query("webhookDeliveries")
        .withIndex("by_receivedAt", (q) => q.lt("receivedAt", cutoff))
        .take(RETENTION_BATCH);
      for (const r of rows) await ctx.db.delete("webhookDeliveries", r._id);
      if (rows.length === RETENTION_BATCH) {
        await ctx.scheduler.runAfter(RETENTION_SPACING_MS, internal.logs.retention.step, args);
        return { deleted: rows.length, done: false };
      }
      return { deleted: rows.length, done: true };
    }
    const table = RETENTION_TABLES[args.tableIndex];
    let { workspaceId, workspaceCursor } = args;
    if (workspaceId === null) {
      const page = await workspacePage(ctx, workspaceCursor, 1);
      if (page.page.length === 0) {
        workspaceId = "global";
      } else {
        workspaceId = page.page[0]._id;
        workspaceCursor = page.continueCursor;
      }
    }
    const deleted = await purgeScope(ctx, table, workspaceId === "global" ? undefined : workspaceId, args.now);
    let next;
    if (deleted === RETENTION_BATCH) next = { ...args, workspaceId, workspaceCursor };
    else if (workspaceId === "global")
      next = { tableIndex: args.tableIndex + 1, workspaceCursor: null, workspaceId: null, now: args.now };
    else next = { ...args, workspaceId: null, workspaceCursor };
    await ctx.scheduler.runAfter(
      deleted === RETENTION_BATCH ? RETENTION_SPACING_MS : 0,
      internal.logs.retention.step,
      next,
    );
    return { deleted, done: false };
  },
});

/** Daily cron entry point: log tables here, conversation data in privacy/retention. */
export const start = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const now = Date.now();
    await ctx.scheduler.runAfter(0, internal.logs.retention.step, {
      tableIndex: 0,
      workspaceCursor: null,
      workspaceId: null,
      now,
    });
    await ctx.scheduler.runAfter(0, internal.privacy.retention.step, {
      workspaceCursor: null,
      workspaceId: null,
      phase: 0,
      cursor: null,
      now,
    });
    return null;
  },
});

export const list = viewerQuery({
  args: {},
  returns: v.array(v.object({ table: v.string(), days: v.number(), isDefault: v.boolean() })),
  handler: async (ctx) => {
    const out = [];
    for (const table of RETENTION_SETTINGS) {
      const row = await settingRow(ctx, ctx.principal.workspaceId, table);
      out.push({ table, days: row?.days ?? defaultDays(table), isDefault: !row });
    }
    return out;
  },
});

export const set = adminMutation({
  args: { table: v.string(), days: v.number() },
  returns: v.null(),
  handler: async (ctx, { table, days }) => {
    if (!(RETENTION_SETTINGS as readonly string[]).includes(table)) fail("CONFIG_INVALID", { field: "table" });
    if (!Number.isInteger(days) || days < 1 || days > 3650) fail("CONFIG_INVALID", { field: "days" });
    const row = await ctx.db
      .query("retentionConfig")
      .withIndex("by_workspace_table", (q) => q.eq("workspaceId", ctx.principal.workspaceId).eq("table", table))
      .unique();
    // The days in force before (a setting still under the table's old name counts).
    const before = (row ?? (await settingRow(ctx, ctx.principal.workspaceId, table)))?.days ?? defaultDays(table);
    if (row) await ctx.db.patch("retentionConfig", row._id, { days, updatedAt: Date.now() });
    else
      await ctx.db.insert("retentionConfig", {
        workspaceId: ctx.principal.workspaceId,
        table,
        days,
        updatedAt: Date.now(),
      });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "retention.set",
      target: table,
      before: { days: before },
      after: { days },
    });
    return null;
  },
});
