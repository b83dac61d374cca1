import { afterEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import { api, internal } from "../../convex/_generated/api";
import { newT, member } from "../harness";
import { writeInvocationLog } from "../../convex/security/checkerLog";
import { recordSecurityEvent } from "../../convex/security/events";
import { HOUR, hourBucket } from "../../convex/lib/time";

afterEach(() => vi.useRealTimers());

describe("summary tables", () => {
  test("dashboard totals equal a recount after every step of random writes, rollups and reconcile reruns", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom("ok", "deny", "event", "reconcile", "rollup", "tick", "nudge"), {
          minLength: 5,
          maxLength: 40,
        }),
        async (ops) => {
          vi.useFakeTimers();
          vi.setSystemTime(new Date("2026-11-23T10:00:00Z"));
          const t = newT();
          const a = await member(t);
          const recount = () =>
            t.run(async (ctx) => {
              const logs = await ctx.db
                .query("invocationLog")
                .withIndex("by_workspace_at", (q) => q.eq("workspaceId", a.workspaceId))
                .take(1000);
              const events = await ctx.db
                .query("securityEvents")
                .withIndex("by_workspace_at", (q) => q.eq("workspaceId", a.workspaceId))
                .take(1000);
              return { invocations: logs.length, denied: logs.filter((l) => !l.allowed).length, events: events.length };
            });
          for (const op of ops) {
            if (op === "tick") vi.setSystemTime(Date.now() + 20 * 60_000);
            else if (op === "nudge")
              vi.setSystemTime(Date.now() + 4_000); // inside the rollup lag
            else if (op === "rollup") {
              await t.mutation(internal.logs.summaries.rollupInvocations, {});
              await t.finishAllScheduledFunctions(vi.runAllTimers);
            } else if (op === "reconcile") {
              await t.mutation(internal.logs.summaries.reconcilePreviousHour, {});
              await t.finishAllScheduledFunctions(vi.runAllTimers);
            } else if (op === "event") {
              await t.run((ctx) =>
                recordSecurityEvent(ctx, { workspaceId: a.workspaceId, code: "INPUT_INVALID", category: "skill" }),
              );
            } else {
              await t.run((ctx) =>
                writeInvocationLog(ctx, {
                  workspaceId: a.workspaceId,
                  targetKind: "skill",
                  targetName: "s",
                  callerKind: "agent",
                  code: op === "ok" ? "OK" : "SKILL_NOT_APPROVED",
                  allowed: op === "ok",
                  durationMs: 3,
                  inputBytes: 1,
                  outputBytes: 1,
                }),
              );
            }
            // At every step the dashboard (summaries + live tail) shows exactly what the logs hold.
            const o = await a.as.query(api.logs.dashboard.overview, {});
            const r = await recount();
            expect({
              invocations: o.totals.invocations,
              denied: o.totals.denied,
              events: o.totals.securityEvents,
            }).toEqual(r);
          }
          // Settle: roll everything up, then rerun reconciliation for every closed hour twice.
          vi.setSystemTime(Date.now() + 2 * HOUR);
          await t.mutation(internal.logs.summaries.rollupInvocations, {});
          await t.finishAllScheduledFunctions(vi.runAllTimers);
          for (let run = 0; run < 2; run++) {
            for (let b = hourBucket(new Date("2026-11-23T10:00:00Z").getTime()); b + HOUR <= Date.now(); b += HOUR) {
              await t.mutation(internal.logs.summaries.recountInvocationHour, {
                workspaceId: a.workspaceId,
                bucket: b,
                cursor: null,
                tally: {},
              });
              await t.mutation(internal.logs.summaries.recountSecurityHour, {
                workspaceId: a.workspaceId,
                bucket: b,
                cursor: null,
                tally: {},
              });
            }
            await t.finishAllScheduledFunctions(vi.runAllTimers);
            const summary = await t.run(async (ctx) => {
              const sums = await ctx.db
                .query("invocationSummary")
                .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", a.workspaceId))
                .take(1000);
              const esums = await ctx.db
                .query("securityEventSummary")
                .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", a.workspaceId))
                .take(1000);
              return {
                invocations: sums.reduce((n, s) => n + s.total, 0),
                denied: sums.reduce((n, s) => n + s.denied, 0),
                events: esums.reduce((n, s) => n + s.count, 0),
              };
            });
            expect(summary).toEqual(await recount());
          }
          vi.useRealTimers();
        },
      ),
      { numRuns: 15 },
    );
  }, 180_000);

  test("the rollup counts each row once: reruns, overlapping steps and pages", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t = newT();
    const a = await member(t);
    const b = await member(t, { workspace: "ws-b" });
    // 2,300 rows over two workspaces and two hours, more than two rollup pages.
    const start = hourBucket(Date.now()) + HOUR - 60_000;
    await t.run(async (ctx) => {
      for (let i = 0; i < 2_300; i++) {
        await ctx.db.insert("invocationLog", {
          workspaceId: i % 2 ? a.workspaceId : b.workspaceId,
          targetKind: i % 5 ? "skill" : "mcp",
          targetName: "s",
          callerKind: "agent",
          code: "OK",
          allowed: i % 3 !== 0,
          durationMs: 1,
          inputBytes: 1,
          outputBytes: 1,
          at: start + Math.floor(i / 3) * 100,
        });
      }
    });
    vi.setSystemTime(start + 2 * HOUR);
    const steps: boolean[] = [];
    for (let i = 0; i < 10; i++) steps.push((await t.mutation(internal.logs.summaries.rollupInvocations, {})).more);
    expect(steps.slice(0, 3)).toEqual([true, true, false]);
    const sums = await t.run(async (ctx) => await ctx.db.query("invocationSummary").take(100));
    expect(sums.reduce((n, s) => n + s.total, 0)).toBe(2_300);
    expect(sums.reduce((n, s) => n + s.allowed, 0)).toBe(2_300 - Math.ceil(2_300 / 3));
    expect(new Set(sums.map((s) => `${s.workspaceId}|${s.bucket}|${s.targetKind}`)).size).toBe(sums.length);
    expect(new Set(sums.map((s) => s.bucket)).size).toBe(2);
  }, 120_000);

  test("an idle rollup step writes nothing unless the watermark crosses an hour", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-23T10:20:00Z"));
    const t = newT();
    await member(t);
    const state = () => t.run(async (ctx) => (await ctx.db.query("invocationRollup").first())?.through);
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    const first = await state(); // first step ever: crosses from 0
    vi.setSystemTime(Date.now() + 60_000);
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    expect(await state()).toBe(first);
    vi.setSystemTime(new Date("2026-11-23T11:00:30Z"));
    const r = await t.mutation(internal.logs.summaries.rollupInvocations, {});
    expect(await state()).toBe(r.through);
    expect(r.through).toBe(new Date("2026-11-23T11:00:20Z").getTime());
  });

  test("reconcile leaves an hour alone until the rollup has passed it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t = newT();
    const a = await member(t);
    const bucket = hourBucket(Date.now());
    await t.run((ctx) =>
      writeInvocationLog(ctx, {
        workspaceId: a.workspaceId,
        targetKind: "skill",
        targetName: "s",
        callerKind: "agent",
        code: "OK",
        allowed: true,
        durationMs: 3,
        inputBytes: 1,
        outputBytes: 1,
      }),
    );
    vi.setSystemTime(bucket + HOUR + 5 * 60_000);
    await t.mutation(internal.logs.summaries.recountInvocationHour, {
      workspaceId: a.workspaceId,
      bucket,
      cursor: null,
      tally: {},
    });
    expect(await t.run(async (ctx) => await ctx.db.query("invocationSummary").take(10))).toHaveLength(0);
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    await t.mutation(internal.logs.summaries.recountInvocationHour, {
      workspaceId: a.workspaceId,
      bucket,
      cursor: null,
      tally: {},
    });
    const rows = await t.run(async (ctx) => await ctx.db.query("invocationSummary").take(10));
    expect(rows.map((r) => r.total)).toEqual([1]);
    expect((await a.as.query(api.logs.dashboard.overview, {})).totals.invocations).toBe(1);
  });

  test("an open hour cannot be recounted (it would race the live writers)", async () => {
    const t = newT();
    const a = await member(t);
    await expect(
      t.mutation(internal.logs.summaries.recountInvocationHour, {
        workspaceId: a.workspaceId,
        bucket: hourBucket(Date.now()),
        cursor: null,
        tally: {},
      }),
    ).rejects.toThrow(/closed hour/);
  });
});
