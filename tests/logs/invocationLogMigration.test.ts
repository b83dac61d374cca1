// The upgrade from skillInvocationLog / skillInvocationSummary / skillInvocationRollup to
// invocationLog / invocationSummary / invocationRollup (convex/security/invocationLogMigration.ts):
// rows are moved with every field, summaries merged without double counting, the watermark moved,
// in bounded steps that the rollup cron starts, while new calls keep being logged.
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Doc, Id } from "../../convex/_generated/dataModel";
import schema from "../../convex/schema";
import { writeInvocationLog } from "../../convex/security/checkerLog";
import { MIGRATION_BATCH } from "../../convex/security/invocationLogMigration";
import { deleteThread } from "../../convex/privacy/cascade";
import { HOUR, DAY, hourBucket } from "../../convex/lib/time";
import { expectCode, member, newT, type T } from "../harness";

afterEach(() => vi.useRealTimers());

const NOW = new Date("2026-11-23T10:20:00Z").getTime();
const KINDS = ["skill", "mcp", "webhook"] as const;
type Row = Omit<Doc<"invocationLog">, "_id" | "_creationTime">;
type Counts = { total: number; allowed: number; denied: number; totalDurationMs: number };

const fieldsOf = <D extends { _id: unknown; _creationTime: number }>(d: D): Omit<D, "_id" | "_creationTime"> => {
  const { _id, _creationTime, ...rest } = d;
  return rest;
};

/** What the rollup would hold for these rows below `through`: (workspace|hour|kind) → counts. */
function tally(rows: Row[], through: number): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const r of rows) {
    if (r.at >= through) continue;
    const k = (out[`${r.workspaceId}|${hourBucket(r.at)}|${r.targetKind}`] ??= {
      total: 0,
      allowed: 0,
      denied: 0,
      totalDurationMs: 0,
    });
    k.total++;
    if (r.allowed) k.allowed++;
    else k.denied++;
    k.totalDurationMs += r.durationMs;
  }
  return out;
}

/** `n` legacy-shaped rows spread over the `hours` before NOW, some sharing a millisecond, some with optional fields. */
function makeRows(workspaces: Id<"workspaces">[], n: number, hours: number, tag: string): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const at = i % 40 === 1 ? rows[i - 1].at : NOW - hours * HOUR + Math.floor((i * hours * HOUR) / n) + 1;
    rows.push({
      workspaceId: workspaces[i % workspaces.length],
      targetKind: KINDS[i % 3],
      targetName: `${tag}-${i % 7}`,
      callerKind: i % 2 ? "agent" : "channel-webhook",
      ...(i % 3 === 0 ? { callerId: `caller-${i % 5}` } : {}),
      code: i % 4 === 0 ? "DOMAIN_NOT_ALLOWED" : "OK",
      allowed: i % 4 !== 0,
      durationMs: (i * 37) % 500,
      inputBytes: i,
      outputBytes: 2 * i,
      ...(i % 5 === 0 ? { inputPreview: `{"i":${i}}`, outputPreview: `out ${i}` } : {}),
      at,
    });
  }
  return rows;
}

/** Seeds the legacy tables as the old rollup left them: rows, the summaries below `through`, the watermark. */
async function seedLegacy(t: T, rows: Row[], through: number | null) {
  await t.run(async (ctx) => {
    for (const r of rows) await ctx.db.insert("skillInvocationLog", r);
    if (through === null) return;
    for (const [key, c] of Object.entries(tally(rows, through))) {
      const [workspaceId, bucket, targetKind] = key.split("|");
      await ctx.db.insert("skillInvocationSummary", {
        workspaceId: workspaceId as Id<"workspaces">,
        bucket: Number(bucket),
        targetKind,
        ...c,
      });
    }
    await ctx.db.insert("skillInvocationRollup", { through });
  });
}

const legacyCounts = (t: T) =>
  t.run(async (ctx) => ({
    log: (await ctx.db.query("skillInvocationLog").take(10_000)).length,
    summary: (await ctx.db.query("skillInvocationSummary").take(10_000)).length,
    rollup: (await ctx.db.query("skillInvocationRollup").take(10)).length,
    settings: (
      await ctx.db
        .query("retentionConfig")
        .withIndex("by_table", (q) => q.eq("table", "skillInvocationLog"))
        .take(100)
    ).length,
  }));

/** The new summary table as (workspace|hour|kind) → counts; fails on a duplicate key. */
const summaries = (t: T) =>
  t.run(async (ctx) => {
    const out: Record<string, Counts> = {};
    for (const s of await ctx.db.query("invocationSummary").take(10_000)) {
      const key = `${s.workspaceId}|${s.bucket}|${s.targetKind}`;
      if (out[key]) throw new Error(`duplicate summary row ${key}`);
      out[key] = { total: s.total, allowed: s.allowed, denied: s.denied, totalDurationMs: s.totalDurationMs };
    }
    return out;
  });

const newRows = (t: T) =>
  t.run(async (ctx) => {
    const rows = await ctx.db.query("invocationLog").withIndex("by_at").take(10_000);
    return rows.map(fieldsOf);
  });

const through = (t: T) => t.run(async (ctx) => (await ctx.db.query("invocationRollup").first())?.through ?? 0);

/** Pending or running migration steps in the scheduler. */
const pendingSteps = (t: T) =>
  t.run(
    async (ctx) =>
      (await ctx.db.system.query("_scheduled_functions").collect()).filter(
        (f) =>
          f.name.includes("invocationLogMigration") && (f.state.kind === "pending" || f.state.kind === "inProgress"),
      ).length,
  );

/** Everything the migration touches, to compare runs. */
const snapshot = (t: T) =>
  t.run(async (ctx) => ({
    log: (await ctx.db.query("invocationLog").take(10_000)).map((d) => [d._id, d._creationTime, d.at]),
    summary: await ctx.db.query("invocationSummary").take(10_000),
    rollup: (await ctx.db.query("invocationRollup").take(10)).map((r) => r.through),
    settings: await ctx.db.query("retentionConfig").take(100),
  }));

async function logCall(t: T, workspaceId: Id<"workspaces">, i: number) {
  await t.run((ctx) =>
    writeInvocationLog(ctx, {
      workspaceId,
      targetKind: KINDS[i % 3],
      targetName: "during-migration",
      callerKind: "agent",
      code: i % 2 ? "OK" : "SKILL_NOT_APPROVED",
      allowed: i % 2 === 1,
      durationMs: 10 + i,
      inputBytes: 1,
      outputBytes: 1,
    }),
  );
}

/** Settles the rollup at the current time and checks the summaries against a fresh rollup of every row. */
async function expectSummariesEqualFreshRollup(t: T) {
  vi.setSystemTime(Date.now() + 60_000);
  await t.mutation(internal.logs.summaries.rollupInvocations, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const w = await through(t);
  const rows = await newRows(t);
  // every row is below the watermark, so every row must be counted
  expect(w).toBeGreaterThan(Math.max(...rows.map((r) => r.at)));
  expect(await summaries(t)).toEqual(tally(rows, w));
}

describe("moving the legacy invocation log", () => {
  test("the rollup cron moves every row, summary and the watermark in bounded steps while calls go on", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    const legacy = makeRows([a.workspaceId, b.workspaceId], 700, 10, "old");
    // The old rollup had counted everything up to 3 h 43 min ago; the rows after are its live tail.
    const legacyThrough = legacy[Math.floor(legacy.length * 0.63)].at;
    await seedLegacy(t, legacy, legacyThrough);
    // A retention setting saved under the old table name.
    await t.run((ctx) =>
      ctx.db.insert("retentionConfig", {
        workspaceId: a.workspaceId,
        table: "skillInvocationLog",
        days: 9,
        updatedAt: 1,
      }),
    );
    const legacyInOrder = await t.run(async (ctx) =>
      (await ctx.db.query("skillInvocationLog").take(10_000))
        .sort((x, y) => x.at - y.at || x._creationTime - y._creationTime)
        .map(fieldsOf),
    );
    const before = await legacyCounts(t);
    expect(before).toEqual({ log: 700, summary: expect.any(Number), rollup: 1, settings: 1 });
    expect(before.summary).toBeGreaterThan(30);

    // The cron starts the migration; then step by step, with calls, cron ticks and time in between.
    let i = 0;
    let last = before;
    const moved: number[] = [];
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    expect(await pendingSteps(t)).toBe(1);
    for (; i < 50 && (await pendingSteps(t)) > 0; i++) {
      vi.runOnlyPendingTimers();
      await t.finishInProgressScheduledFunctions();
      const now = await legacyCounts(t);
      const step = last.log - now.log + (last.summary - now.summary) + (last.settings - now.settings);
      moved.push(step);
      expect(step).toBeLessThanOrEqual(MIGRATION_BATCH);
      last = now;
      if (i === 0) {
        // The hourly reconcile lands on an hour that is half moved: it must not reset its counts.
        const oldest = await t.run(async (ctx) => {
          const left = await ctx.db.query("skillInvocationLog").take(10_000);
          return Math.min(...left.map((r) => r.at));
        });
        for (const w of [a.workspaceId, b.workspaceId])
          await t.mutation(internal.logs.summaries.recountInvocationHour, {
            workspaceId: w,
            bucket: hourBucket(oldest),
            cursor: null,
            tally: {},
          });
      }
      await logCall(t, a.workspaceId, i);
      await logCall(t, b.workspaceId, i + 1);
      vi.setSystemTime(Date.now() + 7_000);
      // The cron keeps ticking (rolling up the new calls) and never starts a second chain.
      await t.mutation(internal.logs.summaries.rollupInvocations, {});
      expect(await pendingSteps(t)).toBeLessThanOrEqual(1);
    }
    expect(moved.length).toBeGreaterThanOrEqual(Math.ceil((700 + before.summary + 1) / MIGRATION_BATCH));
    expect(moved.reduce((x, y) => x + y, 0)).toBe(700 + before.summary + 1);

    // Legacy tables are empty, the setting is under the new name.
    expect(await legacyCounts(t)).toEqual({ log: 0, summary: 0, rollup: 0, settings: 0 });
    const settings = await t.run((ctx) => ctx.db.query("retentionConfig").take(10));
    expect(settings.map((s) => [s.table, s.days])).toEqual([["invocationLog", 9]]);

    // Every legacy row is in the new log with identical fields, in the same order (ties on `at` too).
    const rows = await newRows(t);
    expect(rows.filter((r) => r.targetName !== "during-migration")).toEqual(legacyInOrder);
    // The calls logged during the move are all there.
    expect(rows.filter((r) => r.targetName === "during-migration")).toHaveLength(2 * i);

    // The summaries equal a fresh rollup of all rows: nothing counted twice, nothing dropped.
    await expectSummariesEqualFreshRollup(t);

    // A second run is a no-op: the cron schedules nothing, a step finds nothing.
    const done = await snapshot(t);
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    expect(await pendingSteps(t)).toBe(0);
    expect(await t.mutation(internal.security.invocationLogMigration.migrateInvocationLog, {})).toEqual({
      settings: 0,
      summaries: 0,
      rows: 0,
      more: false,
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await snapshot(t)).toEqual(done);
  });

  test("each step reads and writes a bounded number of documents", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    const t = newT();
    const a = await member(t);
    const legacy = makeRows([a.workspaceId], 900, 30, "old");
    await seedLegacy(t, legacy, legacy[500].at);
    for (let n = 0; n < 20; n++) {
      const m = await t.run(async (ctx) => {
        const step = await ctx.runMutation(internal.security.invocationLogMigration.migrateInvocationLog, {});
        return { step, metrics: await ctx.meta.getTransactionMetrics() };
      });
      const { settings, summaries: s, rows } = m.step;
      expect(settings + s + rows).toBeLessThanOrEqual(MIGRATION_BATCH);
      // a moved row is one insert and one delete; a merged summary one write and one delete
      expect(m.metrics.documentsWritten.used).toBeLessThanOrEqual(2 * MIGRATION_BATCH + 4);
      expect(m.metrics.documentsRead.used).toBeLessThanOrEqual(2 * MIGRATION_BATCH + 16);
      if (!m.step.more) break;
    }
    expect(await legacyCounts(t)).toEqual({ log: 0, summary: 0, rollup: 0, settings: 0 });
    expect((await newRows(t)).length).toBe(900);
    await expectSummariesEqualFreshRollup(t);
  });

  // A deployment that already has the new watermark and summaries (say, upgraded, rolled back while
  // the old release kept logging, upgraded again): the two watermarks differ and both summaries hold
  // counts for the same hours.
  test.each([
    ["legacy watermark ahead", 0.8, 0.4],
    ["legacy watermark behind", 0.3, 0.7],
  ])("counts stay exact when both watermarks exist (%s)", async (_name, legacyAt, newAt) => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    const t = newT();
    const a = await member(t);
    const legacy = makeRows([a.workspaceId], 400, 6, "old");
    const current = makeRows([a.workspaceId], 300, 6, "new");
    await seedLegacy(t, legacy, legacy[Math.floor(legacy.length * legacyAt)].at);
    const newThrough = current[Math.floor(current.length * newAt)].at;
    await t.run(async (ctx) => {
      for (const r of current) await ctx.db.insert("invocationLog", r);
      for (const [key, c] of Object.entries(tally(current, newThrough))) {
        const [workspaceId, bucket, targetKind] = key.split("|");
        await ctx.db.insert("invocationSummary", {
          workspaceId: workspaceId as Id<"workspaces">,
          bucket: Number(bucket),
          targetKind,
          ...c,
        });
      }
      await ctx.db.insert("invocationRollup", { through: newThrough });
    });
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await legacyCounts(t)).toEqual({ log: 0, summary: 0, rollup: 0, settings: 0 });
    expect((await newRows(t)).length).toBe(700);
    await expectSummariesEqualFreshRollup(t);
  });

  test("a lost step is restarted by the cron once its lease has passed", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    const t = newT();
    const a = await member(t);
    await seedLegacy(t, makeRows([a.workspaceId], 500, 3, "old"), NOW - HOUR);
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    // The scheduled step is lost (a deployment error, say).
    await t.run(async (ctx) => {
      for (const f of await ctx.db.system.query("_scheduled_functions").collect())
        if (f.state.kind === "pending") await ctx.scheduler.cancel(f._id);
    });
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    expect(await pendingSteps(t)).toBe(0);
    vi.setSystemTime(NOW + 61_000);
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    expect(await pendingSteps(t)).toBe(1);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await legacyCounts(t)).toEqual({ log: 0, summary: 0, rollup: 0, settings: 0 });
  });

  test("no table holds an id of the invocation log, so there are no references to remap", () => {
    const found: string[] = [];
    const walk = (table: string, path: string, val: any) => {
      if (!val || typeof val !== "object") return;
      if (val.kind === "id" && /invocation/i.test(val.tableName)) found.push(`${table}.${path}`);
      if (val.kind === "object")
        for (const [k, f] of Object.entries(val.fields ?? {})) walk(table, path ? `${path}.${k}` : k, f);
      if (val.kind === "array") walk(table, path, val.element);
      if (val.kind === "union") for (const m of val.members ?? []) walk(table, path, m);
      if (val.kind === "record") walk(table, path, val.value);
    };
    for (const [name, def] of Object.entries((schema as any).tables)) walk(name, "", (def as any).validator);
    expect(found).toEqual([]);
  });
});

describe("rows not moved yet", () => {
  const row = (workspaceId: Id<"workspaces">, at: number, extra: Partial<Row> = {}): Row => ({
    workspaceId,
    targetKind: "skill",
    targetName: "s",
    callerKind: "agent",
    code: "OK",
    allowed: true,
    durationMs: 1,
    inputBytes: 1,
    outputBytes: 1,
    at,
    ...extra,
  });

  test("retention purges them, under a setting saved with the old table name", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    const t = newT();
    const a = await member(t);
    const ids = await t.run(async (ctx) => {
      await ctx.db.insert("retentionConfig", {
        workspaceId: a.workspaceId,
        table: "skillInvocationLog",
        days: 7,
        updatedAt: 1,
      });
      const out = await ctx.storage.store(new Blob(["big output"]));
      return {
        out,
        keep: await ctx.db.insert("skillInvocationLog", row(a.workspaceId, NOW - 3 * DAY)),
        old: await ctx.db.insert("skillInvocationLog", row(a.workspaceId, NOW - 10 * DAY, { outputStorageId: out })),
        older: await ctx.db.insert("skillInvocationLog", row(a.workspaceId, NOW - 40 * DAY)),
        moved: await ctx.db.insert("invocationLog", row(a.workspaceId, NOW - 10 * DAY)),
      };
    });
    expect((await a.as.query(api.logs.retention.list, {})).find((r) => r.table === "invocationLog")).toEqual({
      table: "invocationLog",
      days: 7,
      isDefault: false,
    });
    await t.mutation(internal.logs.retention.start, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = await t.run(async (ctx) => ({
      keep: await ctx.db.get(ids.keep),
      old: await ctx.db.get(ids.old),
      older: await ctx.db.get(ids.older),
      moved: await ctx.db.get(ids.moved),
      out: await ctx.db.system.get(ids.out),
    }));
    expect(left.keep).not.toBeNull();
    expect([left.old, left.older, left.moved, left.out]).toEqual([null, null, null, null]);
  });

  test("erasing a thread deletes them with their stored outputs", async () => {
    const t = newT();
    const a = await member(t);
    const ids = await t.run(async (ctx) => {
      const thread = await ctx.db.insert("threads", { workspaceId: a.workspaceId, createdAt: 1, updatedAt: 1 });
      const out = await ctx.storage.store(new Blob(["tool output"]));
      const legacy = [];
      for (let i = 0; i < 3; i++)
        legacy.push(
          await ctx.db.insert(
            "skillInvocationLog",
            row(a.workspaceId, NOW + i, { callerId: thread, ...(i === 0 ? { outputStorageId: out } : {}) }),
          ),
        );
      const other = await ctx.db.insert("skillInvocationLog", row(a.workspaceId, NOW, { callerId: "someone-else" }));
      return { thread, out, legacy, other };
    });
    const finished = await t.run(async (ctx) =>
      deleteThread(ctx, (await ctx.db.get(ids.thread))!, { left: 100 }, { invocations: true }),
    );
    expect(finished).toBe(true);
    const left = await t.run(async (ctx) => ({
      legacy: await Promise.all(ids.legacy.map((id) => ctx.db.get(id))),
      other: await ctx.db.get(ids.other),
      out: await ctx.db.system.get(ids.out),
    }));
    expect(left.legacy).toEqual([null, null, null]);
    expect(left.out).toBeNull();
    expect(left.other).not.toBeNull();
  });

  test("an output they store is never claimed as an image upload", async () => {
    const t = newT();
    const a = await member(t, { role: "admin" });
    const bytes = new TextEncoder().encode(JSON.stringify({ secretish: "x".repeat(5000) }));
    const sha256 = Buffer.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))).toString("base64");
    await a.as.mutation(api.skills.images.generateUploadUrl, { sha256 });
    const out = await t.run(async (ctx) => {
      const id = await ctx.storage.store(new Blob([bytes]));
      await ctx.db.insert("skillInvocationLog", row(a.workspaceId, NOW, { outputStorageId: id }));
      return id;
    });
    await expectCode(a.as.action(api.skills.images.register, { storageId: out }), "FORBIDDEN");
    expect(await t.run(async (ctx) => await ctx.db.system.get(out))).not.toBeNull();
  });
});
