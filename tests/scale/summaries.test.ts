import { afterEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import { internal } from "../../convex/_generated/api";
import { newT, member } from "../harness";
import { writeInvocationLog } from "../../convex/security/checkerLog";
import { recordSecurityEvent } from "../../convex/security/events";
import { HOUR, hourBucket } from "../../convex/lib/time";

afterEach(() => vi.useRealTimers());

describe("summary tables", () => {
  test("totals equal a recount after random interleavings of writes and reconcile reruns", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant("ok"), fc.constant("deny"), fc.constant("event"), fc.constant("reconcile"), fc.constant("tick")), {
          minLength: 5,
          maxLength: 40,
        }),
        async (ops) => {
          vi.useFakeTimers();
          vi.setSystemTime(new Date("2026-11-23T10:00:00Z"));
          const t = newT();
          const a = await member(t);
          for (const op of ops) {
            if (op === "tick") vi.setSystemTime(Date.now() + 20 * 60_000);
            else if (op === "reconcile") {
              await t.mutation(internal.logs.summaries.reconcilePreviousHour, {});
              await t.finishAllScheduledFunctions(vi.runAllTimers);
            } else if (op === "event") {
              await t.run((ctx) => recordSecurityEvent(ctx, { workspaceId: a.workspaceId, code: "INPUT_INVALID", category: "skill" }));
            } else {
              await t.run((ctx) =>
                writeInvocationLog(ctx, {
                  workspaceId: a.workspaceId, targetKind: "skill", targetName: "s", callerKind: "agent",
                  code: op === "ok" ? "OK" : "SKILL_NOT_APPROVED", allowed: op === "ok", durationMs: 3, inputBytes: 1, outputBytes: 1,
                }),
              );
            }
          }
          // Rerun reconciliation for every closed hour twice: totals must not move.
          vi.setSystemTime(Date.now() + 2 * HOUR);
          for (let run = 0; run < 2; run++) {
            for (let b = hourBucket(new Date("2026-11-23T10:00:00Z").getTime()); b + HOUR <= Date.now(); b += HOUR) {
              await t.mutation(internal.logs.summaries.recountInvocationHour, { workspaceId: a.workspaceId, bucket: b, cursor: null, tally: {} });
              await t.mutation(internal.logs.summaries.recountSecurityHour, { workspaceId: a.workspaceId, bucket: b, cursor: null, tally: {} });
            }
            await t.finishAllScheduledFunctions(vi.runAllTimers);
            const { summary, recount } = await t.run(async (ctx) => {
              const logs = await ctx.db.query("skillInvocationLog").withIndex("by_workspace_at", (q) => q.eq("workspaceId", a.workspaceId)).take(1000);
              const events = await ctx.db.query("securityEvents").withIndex("by_workspace_at", (q) => q.eq("workspaceId", a.workspaceId)).take(1000);
              const sums = await ctx.db.query("skillInvocationSummary").withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", a.workspaceId)).take(1000);
              const esums = await ctx.db.query("securityEventSummary").withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", a.workspaceId)).take(1000);
              return {
                summary: {
                  total: sums.reduce((n, s) => n + s.total, 0),
                  denied: sums.reduce((n, s) => n + s.denied, 0),
                  events: esums.reduce((n, s) => n + s.count, 0),
                },
                recount: { total: logs.length, denied: logs.filter((l) => !l.allowed).length, events: events.length },
              };
            });
            expect(summary).toEqual(recount);
          }
          vi.useRealTimers();
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);

  test("an open hour cannot be recounted (it would race the live writers)", async () => {
    const t = newT();
    const a = await member(t);
    await expect(
      t.mutation(internal.logs.summaries.recountInvocationHour, { workspaceId: a.workspaceId, bucket: hourBucket(Date.now()), cursor: null, tally: {} }),
    ).rejects.toThrow(/closed hour/);
  });
});
