/**
 * Upgrade from the log's old names. The invocation log holds skill calls, MCP tool calls and
 * webhook admissions, so `skillInvocationLog`, `skillInvocationSummary` and `skillInvocationRollup`
 * became `invocationLog`, `invocationSummary` and `invocationRollup`. A Convex table cannot be
 * renamed in place, so an upgraded deployment (or the embedded runtime's `.data/`) still holds rows
 * under the old names; this module moves them, and is the only code that reads or deletes rows of
 * the legacy tables (security/tables.ts declares them until a later release drops them).
 *
 * One step (`migrateInvocationLog`, one transaction) handles at most MIGRATION_BATCH legacy rows,
 * in this order, each phase only once the one before it is empty:
 *  1. the watermark: a deployment with no `invocationRollup` row adopts the legacy one's `through`;
 *  2. retention settings stored under the old table name (logs/retention.ts remaps them);
 *  3. legacy summary rows, added into `invocationSummary` (same workspace, hour and kind → sums);
 *  4. legacy log rows, oldest first, inserted with every field unchanged and then deleted.
 * When all are empty the legacy watermark row is deleted. Nothing in the schema holds an
 * `Id<"skillInvocationLog">` (tests/logs/invocationLogMigration.test.ts checks the schema), so
 * there are no references to remap; the row ids SyncBoard shows change, and no function takes one.
 *
 * Counting stays exact while the rollup keeps running (so the dashboard's live tail stays short).
 * The summaries count the new rows below the new watermark plus the legacy rows below the legacy
 * watermark. Moving a row therefore adds `[at < through] − [at < legacyThrough]` to its hour, with
 * `through` read in the same transaction as the move: the new watermark starts at the legacy one,
 * the rollup soon moves it past the legacy rows that were still in the old live tail, and those
 * count +1 as they arrive. Only the hourly recount (which SETS totals from the new log) must wait:
 * it skips while legacy rows or summaries remain (`legacyInvocationCountsRemain`). No index or view
 * depends on `_creationTime` beyond breaking ties on `at`; moving oldest first keeps even that order.
 *
 * The rollup cron calls `startInvocationLogMigration` every 30 s: while anything legacy remains and
 * no step has been scheduled within MIGRATION_LEASE_MS, it schedules one; each step schedules the
 * next while rows remain. Every step is idempotent (it only reads what is still in the legacy
 * tables), and a concurrent step or log write conflicts and retries, never double-moves.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { addHourTally, addToSummary, countIntoHour, type HourTally } from "./invocationSummary";
import { legacyRetentionSettingsRemain, remapLegacyRetentionSettings } from "../logs/retention";

/** Legacy rows (settings, summaries, log rows) one step handles at most. */
export const MIGRATION_BATCH = 200;
/** A scheduled step not followed by another within this time is presumed lost; the cron starts one. */
export const MIGRATION_LEASE_MS = 60_000;

async function legacyWatermark(ctx: QueryCtx) {
  return await ctx.db.query("skillInvocationRollup").withIndex("by_creation_time").first();
}

/** The `invocationRollup` singleton; a deployment without one takes over the legacy watermark. */
export async function adoptLegacyWatermark(ctx: MutationCtx): Promise<Doc<"invocationRollup">> {
  const state = await ctx.db.query("invocationRollup").withIndex("by_creation_time").first();
  if (state) return state;
  const id = await ctx.db.insert("invocationRollup", { through: (await legacyWatermark(ctx))?.through ?? 0 });
  return (await ctx.db.get("invocationRollup", id))!;
}

/** Legacy log rows or summaries not yet moved: the summaries are incomplete until they are. */
export async function legacyInvocationCountsRemain(ctx: QueryCtx): Promise<boolean> {
  return (
    (await ctx.db.query("skillInvocationLog").withIndex("by_creation_time").first()) !== null ||
    (await ctx.db.query("skillInvocationSummary").withIndex("by_creation_time").first()) !== null
  );
}

async function legacyRemains(ctx: QueryCtx): Promise<boolean> {
  return (
    (await legacyInvocationCountsRemain(ctx)) ||
    (await legacyWatermark(ctx)) !== null ||
    (await legacyRetentionSettingsRemain(ctx))
  );
}

export type MigrationStep = { settings: number; summaries: number; rows: number; more: boolean };

/** One bounded step of the move (see the module comment); `more` when the budget ran out. */
export async function migrateInvocationLogBatch(ctx: MutationCtx, limit = MIGRATION_BATCH): Promise<MigrationStep> {
  let left = limit;
  const legacyState = await legacyWatermark(ctx);
  const legacyThrough = legacyState?.through ?? 0;
  const { through } = await adoptLegacyWatermark(ctx);

  const settings = await remapLegacyRetentionSettings(ctx, left);
  left -= settings;

  const sums = left > 0 ? await ctx.db.query("skillInvocationSummary").withIndex("by_creation_time").take(left) : [];
  for (const s of sums) {
    const { workspaceId, bucket, targetKind, total, allowed, denied, totalDurationMs } = s;
    await addToSummary(ctx, { workspaceId, bucket, targetKind }, { total, allowed, denied, totalDurationMs });
    await ctx.db.delete("skillInvocationSummary", s._id);
  }
  left -= sums.length;

  // Oldest first: the moved rows keep their relative order in every index (ties on `at` included).
  const rows = left > 0 ? await ctx.db.query("skillInvocationLog").withIndex("by_creation_time").take(left) : [];
  const delta: HourTally = new Map();
  for (const r of rows) {
    const { _id, _creationTime, ...fields } = r;
    await ctx.db.insert("invocationLog", fields);
    await ctx.db.delete("skillInvocationLog", _id);
    const d = (r.at < through ? 1 : 0) - (r.at < legacyThrough ? 1 : 0);
    if (d !== 0) countIntoHour(delta, r, d);
  }
  await addHourTally(ctx, delta);
  left -= rows.length;

  // Every phase came back short of its budget: nothing legacy is left but the watermark.
  if (left > 0 && legacyState) await ctx.db.delete("skillInvocationRollup", legacyState._id);
  return { settings, summaries: sums.length, rows: rows.length, more: left <= 0 };
}

/** One step; schedules the next while legacy rows remain. */
export const migrateInvocationLog = internalMutation({
  args: {},
  returns: v.object({ settings: v.number(), summaries: v.number(), rows: v.number(), more: v.boolean() }),
  handler: async (ctx) => {
    const step = await migrateInvocationLogBatch(ctx);
    const state = await adoptLegacyWatermark(ctx);
    if (step.more) {
      await ctx.db.patch("invocationRollup", state._id, { migrationStepAt: Date.now() });
      await ctx.scheduler.runAfter(0, internal.security.invocationLogMigration.migrateInvocationLog, {});
    } else if (state.migrationStepAt !== undefined) {
      await ctx.db.patch("invocationRollup", state._id, { migrationStepAt: undefined });
    }
    return step;
  },
});

/**
 * Called by the rollup cron: schedules a step while anything legacy remains and no step is under
 * way (none scheduled within MIGRATION_LEASE_MS). Returns whether the migration is still running.
 */
export async function startInvocationLogMigration(ctx: MutationCtx): Promise<boolean> {
  if (!(await legacyRemains(ctx))) return false;
  const state = await adoptLegacyWatermark(ctx);
  const now = Date.now();
  if (state.migrationStepAt !== undefined && now - state.migrationStepAt < MIGRATION_LEASE_MS) return true;
  await ctx.db.patch("invocationRollup", state._id, { migrationStepAt: now });
  await ctx.scheduler.runAfter(0, internal.security.invocationLogMigration.migrateInvocationLog, {});
  return true;
}

// Until the legacy log is empty, code that reads or deletes log rows covers it too.

/** Retention: deletes up to `limit` legacy rows of one scope older than `cutoff` (with stored outputs). */
export async function purgeLegacyInvocations(
  ctx: MutationCtx,
  workspaceId: Id<"workspaces"> | undefined,
  cutoff: number,
  limit: number,
): Promise<number> {
  // Every log row has a workspace: the global scope has none.
  if (limit <= 0 || workspaceId === undefined) return 0;
  const rows = await ctx.db
    .query("skillInvocationLog")
    .withIndex("by_workspace_at", (q) => q.eq("workspaceId", workspaceId).lt("at", cutoff))
    .take(limit);
  for (const r of rows) {
    if (r.outputStorageId) await ctx.storage.delete(r.outputStorageId);
    await ctx.db.delete("skillInvocationLog", r._id);
  }
  return rows.length;
}

/**
 * Erasure: deletes up to `limit` legacy rows written by `callerId` in `workspaceId` (with stored
 * outputs). Returns how many were deleted and whether none of that caller's rows are left.
 */
export async function eraseLegacyInvocationsOf(
  ctx: MutationCtx,
  workspaceId: Id<"workspaces">,
  callerId: string,
  limit: number,
): Promise<{ deleted: number; done: boolean }> {
  if (limit <= 0) return { deleted: 0, done: false };
  const rows = await ctx.db
    .query("skillInvocationLog")
    .withIndex("by_caller", (q) => q.eq("callerId", callerId))
    .take(limit);
  let deleted = 0;
  for (const r of rows) {
    if (r.workspaceId !== workspaceId) continue;
    if (r.outputStorageId) await ctx.storage.delete(r.outputStorageId);
    await ctx.db.delete("skillInvocationLog", r._id);
    deleted++;
  }
  return { deleted, done: rows.length < limit };
}

/** Image uploads: whether a legacy row names this storage object as its stored output. */
export async function legacyOutputReferences(ctx: QueryCtx, storageId: Id<"_storage">): Promise<boolean> {
  const row = await ctx.db
    .query("skillInvocationLog")
    .withIndex("by_output", (q) => q.eq("outputStorageId", storageId))
    .first();
  return row !== null;
}
