import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { newT, member, type T } from "../harness";
import { recordSecurityEvent } from "../../convex/security/events";
import { ABUSE_THRESHOLD } from "../../convex/lib/abuse";
import { DAY, HOUR } from "../../convex/lib/time";
import { ROLLUP_LAG_MS } from "../../convex/logs/summaries";
import { LIVE_TAIL_MAX } from "../../convex/logs/dashboard";
import type { Id } from "../../convex/_generated/dataModel";

afterEach(() => vi.useRealTimers());

async function seedLogs(t: T, workspaceId: Id<"workspaces">, n: number, at: number) {
  await t.run(async (ctx) => {
    for (let i = 0; i < n; i++) {
      await ctx.db.insert("invocationLog", {
        workspaceId,
        targetKind: "skill",
        targetName: "noop",
        callerKind: "agent",
        code: i % 3 ? "OK" : "RATE_LIMITED",
        allowed: i % 3 !== 0,
        durationMs: 1,
        inputBytes: 2,
        outputBytes: 2,
        at: at - i,
      });
      await ctx.db.insert("securityEvents", { workspaceId, code: "RATE_LIMITED", category: "skill", at: at - i });
      await ctx.db.insert("activityLog", {
        workspaceId,
        kind: "chat",
        summary: "x",
        visibility: "private",
        at: at - i,
      });
    }
  });
}

async function overviewReads(t: T, as: any) {
  return await as.run(async (ctx: any) => {
    await ctx.runQuery(api.logs.dashboard.overview, {});
    return ctx.meta.getTransactionMetrics();
  });
}

async function rollUp(t: T) {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + ROLLUP_LAG_MS + 1_000 });
  for (let i = 0; i < 50; i++) {
    const r = await t.mutation(internal.logs.summaries.rollupInvocations, {});
    if (!r.more) break;
  }
}

describe("dashboard reads stay bounded", () => {
  test("overview reads the same number of documents at 1k and 10k log rows", async () => {
    const t = newT();
    const a = await member(t);
    await seedLogs(t, a.workspaceId, 1_000, Date.now());
    await rollUp(t);
    const small = await overviewReads(t, a.as);
    await seedLogs(t, a.workspaceId, 9_000, Date.now()); // written after the first rollup, as in production
    await rollUp(t);
    const large = await overviewReads(t, a.as);
    expect(large.documentsRead.used).toBe(small.documentsRead.used);
    expect(large.documentsRead.used).toBeLessThan(100);
    const o = await a.as.query(api.logs.dashboard.overview, {});
    expect(o.totals.invocations).toBe(10_000);
    expect(o.liveTailTruncated).toBe(false);
  }, 120_000);

  test("rows the rollup has not reached are counted live, but at most LIVE_TAIL_MAX of them are read", async () => {
    const t = newT();
    const a = await member(t);
    await seedLogs(t, a.workspaceId, 300, Date.now());
    const o = await a.as.query(api.logs.dashboard.overview, {});
    expect(o.totals.invocations).toBe(300);
    expect(o.totals.denied).toBe(100);
    expect(o.liveTailTruncated).toBe(false);
    await seedLogs(t, a.workspaceId, LIVE_TAIL_MAX, Date.now() - 1_000);
    const reads = await overviewReads(t, a.as);
    expect(reads.documentsRead.used).toBeLessThan(LIVE_TAIL_MAX + 100);
    const capped = await a.as.query(api.logs.dashboard.overview, {});
    expect(capped.liveTailTruncated).toBe(true);
    expect(capped.totals.invocations).toBe(LIVE_TAIL_MAX);
    await rollUp(t);
    const after = await a.as.query(api.logs.dashboard.overview, {});
    expect(after.totals.invocations).toBe(300 + LIVE_TAIL_MAX);
    expect(after.liveTailTruncated).toBe(false);
  }, 120_000);
});

describe("abuse detection", () => {
  test(`${ABUSE_THRESHOLD} denials from one source within the window raise exactly one alert + notification`, async () => {
    const t = newT();
    const a = await member(t);
    const deny = (source: string) =>
      t.run((ctx) =>
        recordSecurityEvent(ctx, {
          workspaceId: a.workspaceId,
          code: "WEBHOOK_SIGNATURE_INVALID",
          category: "webhook",
          source,
        }),
      );
    for (let i = 0; i < ABUSE_THRESHOLD - 1; i++) await deny("ip:198.51.100.9");
    const count = () =>
      t.run(async (ctx) => ({
        alerts: (
          await ctx.db
            .query("securityEvents")
            .withIndex("by_workspace_code_at", (q) => q.eq("workspaceId", a.workspaceId).eq("code", "ABUSE_ALERT"))
            .take(10)
        ).length,
        notes: (
          await ctx.db
            .query("notifications")
            .withIndex("by_workspace_created", (q) => q.eq("workspaceId", a.workspaceId))
            .take(10)
        ).length,
      }));
    expect(await count()).toEqual({ alerts: 0, notes: 0 });
    await deny("ip:198.51.100.10"); // another source does not add up
    expect((await count()).alerts).toBe(0);
    await deny("ip:198.51.100.9");
    expect(await count()).toEqual({ alerts: 1, notes: 1 });
    for (let i = 0; i < 5; i++) await deny("ip:198.51.100.9");
    expect(await count()).toEqual({ alerts: 1, notes: 1 });
    const overview = await a.as.query(api.logs.dashboard.overview, {});
    expect(overview.notifications[0].kind).toBe("abuse");
  });
});

describe("retention", () => {
  test("deletes exactly the expired rows, per workspace setting, in bounded self-continuing batches", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    await a.as.mutation(api.logs.retention.set, { table: "activityLog", days: 7 });
    const now = Date.now();
    const ages = [1, 6, 8, 29, 31, 90];
    await t.run(async (ctx) => {
      for (const ws of [a.workspaceId, b.workspaceId]) {
        for (const d of ages) {
          await ctx.db.insert("activityLog", {
            workspaceId: ws,
            kind: `age-${d}`,
            summary: "x",
            visibility: "private",
            at: now - d * DAY - HOUR,
          });
        }
        // more than one batch of expired invocation rows
        for (let i = 0; i < 250; i++) {
          await ctx.db.insert("invocationLog", {
            workspaceId: ws,
            targetKind: "skill",
            targetName: "s",
            callerKind: "agent",
            code: "OK",
            allowed: true,
            durationMs: 1,
            inputBytes: 1,
            outputBytes: 1,
            at: now - 40 * DAY - i,
          });
        }
        await ctx.db.insert("invocationLog", {
          workspaceId: ws,
          targetKind: "skill",
          targetName: "fresh",
          callerKind: "agent",
          code: "OK",
          allowed: true,
          durationMs: 1,
          inputBytes: 1,
          outputBytes: 1,
          at: now - DAY,
        });
      }
    });
    await t.mutation(internal.logs.retention.start, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = await t.run(async (ctx) => {
      const kinds = async (ws: Id<"workspaces">) =>
        (
          await ctx.db
            .query("activityLog")
            .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws))
            .take(100)
        )
          .map((r) => r.kind)
          .sort();
      const inv = async (ws: Id<"workspaces">) =>
        (
          await ctx.db
            .query("invocationLog")
            .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws))
            .take(1000)
        ).map((r) => r.targetName);
      return {
        a: await kinds(a.workspaceId),
        b: await kinds(b.workspaceId),
        ia: await inv(a.workspaceId),
        ib: await inv(b.workspaceId),
      };
    });
    expect(left.a).toEqual(["age-1", "age-6"]);
    expect(left.b).toEqual(["age-1", "age-29", "age-6", "age-8"]);
    expect(left.ia).toEqual(["fresh"]);
    expect(left.ib).toEqual(["fresh"]);
  }, 120_000);

  test("retention settings are validated and audited; viewers cannot change them", async () => {
    const t = newT();
    const a = await member(t);
    const v = await member(t, { role: "viewer" });
    await expect(a.as.mutation(api.logs.retention.set, { table: "owners", days: 5 })).rejects.toThrow();
    await expect(a.as.mutation(api.logs.retention.set, { table: "activityLog", days: 0 })).rejects.toThrow();
    await expect(v.as.mutation(api.logs.retention.set, { table: "activityLog", days: 5 })).rejects.toThrow();
    await a.as.mutation(api.logs.retention.set, { table: "activityLog", days: 5 });
    const list = await v.as.query(api.logs.retention.list, {});
    expect(list.find((r) => r.table === "activityLog")).toEqual({ table: "activityLog", days: 5, isDefault: false });
  });
});
