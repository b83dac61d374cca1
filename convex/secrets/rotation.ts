/**
 * Key rotation without downtime.
 *
 * 1. Set SKILL_SECRET_ENCRYPTION_KEY to a new key and put the old one in
 *    SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS: every row still decrypts (its keyVersion picks the key).
 * 2. `npx convex run secrets/rotation:start` pages through skillSecrets, channelSecrets and
 *    mcpServerSecrets in bounded batches, re-encrypting rows not on the current key; each batch
 *    schedules the next. Re-running is a no-op once converged; a run cut short resumes on restart.
 * 3. When `secrets/rotation:globalStatus` reports 0 remaining, drop the previous key.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { adminQuery } from "../access/builders";
import { recordSecurityEvent } from "../security/events";
import { reencrypt, SecretboxError } from "../lib/secretbox";
import {
  SECRET_TABLES,
  identityOf,
  keyRingOrFail,
  ownerIdOf,
  secretTableValidator,
  type SecretRow,
  type SecretTable,
} from "./store";

export const DEFAULT_BATCH_SIZE = 50;
const MAX_BATCH_SIZE = 200;
/** Status reads at most this many documents in total; beyond it counts are lower bounds. */
const STATUS_READ_BUDGET = 1000;
const MAX_VERSIONS = 16;

function nextTable(table: SecretTable): SecretTable | null {
  const i = SECRET_TABLES.indexOf(table);
  return i >= 0 && i + 1 < SECRET_TABLES.length ? SECRET_TABLES[i + 1] : null;
}

export const reencryptBatch = internalMutation({
  args: {
    table: secretTableValidator,
    cursor: v.optional(v.union(v.string(), v.null())),
    batchSize: v.optional(v.number()),
  },
  returns: v.object({
    table: secretTableValidator,
    scanned: v.number(),
    reencrypted: v.number(),
    failed: v.number(),
    next: v.union(v.object({ table: secretTableValidator, cursor: v.union(v.string(), v.null()) }), v.null()),
  }),
  handler: async (ctx, { table, cursor, batchSize }) => {
    const ring = keyRingOrFail();
    const numItems = Math.max(1, Math.min(MAX_BATCH_SIZE, Math.floor(batchSize ?? DEFAULT_BATCH_SIZE)));
    // Creation order: stable under the patches below, so the cursor never skips a row.
    const page = await (ctx.db.query(table) as any)
      .withIndex("by_creation_time")
      .paginate({ cursor: cursor ?? null, numItems });
    let reencrypted = 0;
    let failed = 0;
    for (const row of page.page as SecretRow[]) {
      if (row.keyVersion === ring.currentVersion) continue;
      try {
        const sealed = reencrypt(row, identityOf(table, ownerIdOf(table, row), row.name), ring);
        await ctx.db.patch(table, row._id, { ciphertext: sealed.ciphertext, keyVersion: sealed.keyVersion });
        reencrypted++;
      } catch (e) {
        if (!(e instanceof SecretboxError)) throw e;
        // Unknown key or tampered row: leave it as is (still unreadable) and report it.
        failed++;
        await recordSecurityEvent(ctx, {
          workspaceId: row.workspaceId,
          code: "SECRET_DECRYPT_FAILED",
          category: "secret",
          source: "rotation",
          detail: `table=${table} id=${row._id} name=${row.name} keyVersion=${row.keyVersion}`,
        });
      }
    }
    let next: { table: SecretTable; cursor: string | null } | null = null;
    if (!page.isDone) next = { table, cursor: page.continueCursor };
    else {
      const t = nextTable(table);
      if (t) next = { table: t, cursor: null };
    }
    if (next)
      await ctx.scheduler.runAfter(0, internal.secrets.rotation.reencryptBatch, { ...next, batchSize: numItems });
    return { table, scanned: page.page.length, reencrypted, failed, next };
  },
});

/** Kicks off (or restarts) a full pass over all three tables. */
export const start = internalMutation({
  args: { batchSize: v.optional(v.number()) },
  returns: v.object({ current: v.string() }),
  handler: async (ctx, { batchSize }) => {
    const ring = keyRingOrFail(); // refuse to schedule anything without a usable key
    await ctx.scheduler.runAfter(0, internal.secrets.rotation.reencryptBatch, {
      table: SECRET_TABLES[0],
      cursor: null,
      batchSize: batchSize ?? DEFAULT_BATCH_SIZE,
    });
    return { current: ring.currentVersion };
  },
});

const statusValidator = v.object({
  current: v.string(),
  /** versions of the configured previous keys */
  previous: v.array(v.string()),
  remainingOnOldVersions: v.number(),
  byVersion: v.record(v.string(), v.number()),
  /** rows on a version no configured key can open (data loss if not fixed) */
  unreadable: v.number(),
  /** true when the read budget ran out: counts are lower bounds */
  capped: v.boolean(),
});

async function countVersions(ctx: QueryCtx, workspaceId: Id<"workspaces"> | null) {
  const ring = keyRingOrFail();
  const index = workspaceId ? "by_workspace_keyVersion" : "by_keyVersion";
  const scope = (q: any) => (workspaceId ? q.eq("workspaceId", workspaceId) : q);
  const byVersion: Record<string, number> = {};
  let budget = STATUS_READ_BUDGET;
  let capped = false;
  // Walk the distinct versions of each table through the index, counting each with a bounded take.
  for (const table of SECRET_TABLES) {
    let last: string | null = null;
    for (let seen = 0; !capped; seen++) {
      const after: string | null = last;
      const first: SecretRow | null = await (ctx.db.query(table) as any)
        .withIndex(index, (q: any) => (after === null ? scope(q) : scope(q).gt("keyVersion", after)))
        .first();
      if (!first) break;
      if (seen === MAX_VERSIONS) capped = true;
      else {
        const version = first.keyVersion;
        const rows: SecretRow[] = await (ctx.db.query(table) as any)
          .withIndex(index, (q: any) => scope(q).eq("keyVersion", version))
          .take(budget);
        budget -= rows.length;
        byVersion[version] = (byVersion[version] ?? 0) + rows.length;
        if (budget <= 0) capped = true;
        last = version;
      }
    }
    if (capped) break;
  }
  let remaining = 0;
  let unreadable = 0;
  for (const [version, n] of Object.entries(byVersion)) {
    if (version === ring.currentVersion) continue;
    remaining += n;
    if (!ring.has(version)) unreadable += n;
  }
  return {
    current: ring.currentVersion,
    previous: ring.versions.filter((x) => x !== ring.currentVersion),
    remainingOnOldVersions: remaining,
    byVersion,
    unreadable,
    capped,
  };
}

/** Rotation progress for the caller's workspace (SyncBoard). */
export const status = adminQuery({
  args: {},
  returns: statusValidator,
  handler: (ctx) => countVersions(ctx, ctx.principal.workspaceId),
});

/** Deployment-wide progress for the operator: `npx convex run secrets/rotation:globalStatus`. */
export const globalStatus = internalQuery({
  args: {},
  returns: statusValidator,
  handler: (ctx) => countVersions(ctx, null),
});
