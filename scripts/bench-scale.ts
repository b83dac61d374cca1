export {};
/**
 * npm run bench:scale — documents and bytes read by each SyncBoard dashboard query at 1k, 10k and
 * 100k rows in every log table. Target: identical at every size, for every query; and the overview's
 * totals equal the rows seeded in its window (the rollup path counts every row exactly once).
 * Reads are counted logically with ctx.meta.getTransactionMetrics (what the query reads through its
 * index range), not wall time: convex-test scans whole tables internally whatever the query does.
 *
 * Each size is a fresh deployment seeded the way production fills it:
 * - History spread evenly over SPAN_HOURS (3 days, from an hour boundary to a minute before "now"),
 *   so the overview's 24 h and the 7-day range read the hourly summaries, not the live tail. At 1k
 *   rows that is ~14 rows an hour, enough for every (hour, target kind), (hour, security code) and
 *   (hour, limit name) to exist at every size, so "identical" is a fair target rather than a
 *   consequence of empty hours.
 * - Security-event and rate-limit summaries are written with the rows, as recordSecurityEvent and
 *   recordRateLimitHit do (same hour buckets, same keys); the writers themselves are not called for
 *   100k rows (pseudonymisation and abuse detection are not what is measured here).
 * - The invocation rollup runs as production runs it: the cron's function
 *   (internal.logs.summaries.rollupInvocations) once, then the scheduler drains the continuations it
 *   schedules for itself while a backlog remains.
 * - Then live traffic arrives: LIVE_TAIL rows in every table inside the rollup lag (10 s), the same
 *   number at every size, which the overview counts from the log itself.
 * The clock (Date only) is pinned to the same point in an hour for every size, so every size sees
 * the same hour buckets however long seeding takes.
 *
 * The whole table is printed first, then every size and query is checked; a miss exits 1.
 * Run with tsx: it starts vitest on this file (convex-test needs Vite's import.meta.glob).
 */
const SIZES = (process.env.BENCH_SCALE_SIZES ?? "1000,10000,100000").split(",").map(Number);
const BATCH = 5_000;
const SPAN_HOURS = 72;
const LIVE_TAIL = 10;

if (!process.env.VITEST) {
  const { startVitest } = await import("vitest/node");
  const ctx = await startVitest("test", [], {
    include: ["scripts/bench-scale.ts"],
    watch: false,
    run: true,
    reporters: ["default"],
    testTimeout: 3_600_000,
  });
  await ctx?.close();
  process.exit(ctx?.state.getCountOfFailedTests() ? 1 : 0);
} else {
  const { test, vi } = await import("vitest");
  const { api, internal } = await import("../convex/_generated/api");
  const { newT, member } = await import("../tests/harness");
  const { HOUR, DAY, hourBucket } = await import("../convex/lib/time");
  const { ROLLUP_LAG_MS, invocationRollupThrough } = await import("../convex/logs/summaries");

  const SECURITY_CODES = ["RATE_LIMITED", "WEBHOOK_SIGNATURE_INVALID", "SESSION_INVALID"] as const;
  const LIMIT_NAMES = ["skill", "global"] as const;
  const KINDS = ["skill", "mcp"] as const;

  test("bench: dashboard reads vs log size", async () => {
    // The same point in an hour (30 min in) for every size.
    const now = hourBucket(Date.now()) + 30 * 60_000;
    vi.useFakeTimers({ toFake: ["Date"], now });
    try {
      const page = { paginationOpts: { numItems: 50, cursor: null } };
      const range7d = { from: now - 7 * DAY };
      const queries: [string, any, any][] = [
        ["logs/dashboard:overview", api.logs.dashboard.overview, {}],
        ["logs/explore:overviewRange(7 days)", api.logs.explore.overviewRange, range7d],
        ["logs/browse:invocations", api.logs.browse.invocations, page],
        ["logs/browse:invocations(denied)", api.logs.browse.invocations, { ...page, deniedOnly: true }],
        ["logs/explore:invocations(7 days)", api.logs.explore.invocations, { ...page, ...range7d }],
        ["logs/browse:securityEvents", api.logs.browse.securityEvents, page],
        ["logs/browse:audit", api.logs.browse.audit, page],
        ["logs/retention:list", api.logs.retention.list, {}],
      ];
      const results: Record<string, { docs: number; bytes: number }[]> = {};
      const checks: {
        size: number;
        seconds: { seed: number; rollup: number };
        rollup: { cronRuns: number; continuations: number };
        overview: any;
        expected: any;
        range: any;
        rangeExpected: any;
      }[] = [];

      for (const size of SIZES) {
        const t = newT();
        const a = await member(t);
        const ws = a.workspaceId;
        const oldest = hourBucket(now) - (SPAN_HOURS - 1) * HOUR;
        const newest = now - 60_000;
        const step = (newest - oldest) / size;
        const since24h = hourBucket(now) - 23 * HOUR;
        const expected = { invocations: 0, denied: 0, securityEvents: 0, rateLimitHits: 0 };
        const secSummary = new Map<string, number>();
        const rlSummary = new Map<string, number>();
        const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

        const insertRow = async (ctx: any, i: number, at: number) => {
          const denied = i % 4 === 0;
          await ctx.db.insert("invocationLog", {
            workspaceId: ws,
            targetKind: KINDS[i % 2],
            targetName: "bench",
            callerKind: "agent",
            code: denied ? "RATE_LIMITED" : "OK",
            allowed: !denied,
            durationMs: 3,
            inputBytes: 10,
            outputBytes: 20,
            inputPreview: '{"q":"x"}',
            outputPreview: '{"ok":true}',
            at,
          });
          const code = SECURITY_CODES[i % 3];
          await ctx.db.insert("securityEvents", { workspaceId: ws, code, category: "skill", source: "ip:x", at });
          bump(secSummary, `${hourBucket(at)}|${code}`);
          if (code === "RATE_LIMITED") bump(rlSummary, `${hourBucket(at)}|${LIMIT_NAMES[Math.floor(i / 3) % 2]}`);
          await ctx.db.insert("activityLog", {
            workspaceId: ws,
            kind: "chat",
            summary: "answered",
            visibility: "private",
            at,
          });
          await ctx.db.insert("auditLog", { workspaceId: ws, actorLabel: "bench", action: "skill.update", at });
          if (at >= since24h) {
            expected.invocations++;
            if (denied) expected.denied++;
            expected.securityEvents++;
            if (code === "RATE_LIMITED") expected.rateLimitHits++;
          }
        };
        const writeSummaries = async () => {
          await t.run(async (ctx: any) => {
            for (const [k, count] of secSummary) {
              const [bucket, code] = k.split("|");
              const row = await ctx.db
                .query("securityEventSummary")
                .withIndex("by_workspace_code_bucket", (q: any) =>
                  q.eq("workspaceId", ws).eq("code", code).eq("bucket", Number(bucket)),
                )
                .unique();
              if (row) await ctx.db.patch(row._id, { count: row.count + count });
              else
                await ctx.db.insert("securityEventSummary", { workspaceId: ws, code, bucket: Number(bucket), count });
            }
            for (const [k, count] of rlSummary) {
              const [bucket, limitName] = k.split("|");
              const row = await ctx.db
                .query("rateLimitHitSummary")
                .withIndex("by_workspace_limit_bucket", (q: any) =>
                  q.eq("workspaceId", ws).eq("limitName", limitName).eq("bucket", Number(bucket)),
                )
                .unique();
              if (row) await ctx.db.patch(row._id, { count: row.count + count });
              else
                await ctx.db.insert("rateLimitHitSummary", {
                  workspaceId: ws,
                  limitName,
                  bucket: Number(bucket),
                  count,
                });
            }
          });
          secSummary.clear();
          rlSummary.clear();
        };

        // History, oldest first (as it was written).
        const t0 = performance.now();
        for (let done = 0; done < size;) {
          const n = Math.min(BATCH, size - done);
          const base = done;
          await t.run(async (ctx: any) => {
            for (let i = base; i < base + n; i++) await insertRow(ctx, i, Math.round(oldest + i * step));
          });
          done += n;
        }
        await writeSummaries();
        const t1 = performance.now();

        // The rollup, as production runs it: the cron's function, then the continuations it schedules
        // for itself while a backlog remains. If the chain stops short (convex-test gives up on a
        // continuation that does not start within a few event-loop turns), the cron fires again, as
        // it does every 30 s in production, until the watermark has caught up.
        const caughtUp = now - ROLLUP_LAG_MS;
        let cronRuns = 0;
        for (;;) {
          cronRuns++;
          await t.mutation(internal.logs.summaries.rollupInvocations, {});
          await t.finishAllScheduledFunctions(() => {}, 100_000);
          if ((await t.run((ctx: any) => invocationRollupThrough(ctx))) >= caughtUp) break;
          if (cronRuns >= 1_000) throw new Error("bench setup: the rollup does not catch up");
        }
        await t.finishInProgressScheduledFunctions();
        const continuations = await t.run(
          async (ctx: any) =>
            (await ctx.db.system.query("_scheduled_functions").collect()).filter((f: any) =>
              f.name.includes("rollupInvocations"),
            ).length,
        );
        const t2 = performance.now();

        // Live traffic since the last rollup step: inside the rollup lag, so the overview reads it from the log.
        await t.run(async (ctx: any) => {
          for (let j = 0; j < LIVE_TAIL; j++)
            await insertRow(ctx, size + j, now - Math.round(((j + 1) * ROLLUP_LAG_MS) / (LIVE_TAIL + 2)));
        });
        await writeSummaries();

        for (const [name, ref, args] of queries) {
          const m = await a.as.run(async (ctx: any) => {
            await ctx.runQuery(ref, args);
            return ctx.meta.getTransactionMetrics();
          });
          (results[name] ??= []).push({ docs: m.documentsRead.used, bytes: m.bytesRead.used });
        }
        const overview = await a.as.query(api.logs.dashboard.overview, {});
        const range = await a.as.query(api.logs.explore.overviewRange, range7d);
        const all = size + LIVE_TAIL;
        const deniedAll = Array.from({ length: all }, (_, i) => i).filter((i) => i % 4 === 0).length;
        const rlAll = Array.from({ length: all }, (_, i) => i).filter((i) => i % 3 === 0).length;
        checks.push({
          size,
          seconds: { seed: (t1 - t0) / 1000, rollup: (t2 - t1) / 1000 },
          rollup: { cronRuns, continuations },
          overview: { ...overview.totals, liveTailTruncated: overview.liveTailTruncated },
          expected: { ...expected, liveTailTruncated: false },
          range: { ...range.totals, truncated: range.truncated },
          rangeExpected: {
            invocations: all,
            denied: deniedAll,
            securityEvents: all,
            rateLimitHits: rlAll,
            truncated: false,
          },
        });
      }

      // 1. Print everything.
      const w = Math.max(...Object.keys(results).map((k) => k.length));
      console.log(`\nDocuments (bytes) read per dashboard query, by rows in each log table`);
      console.log(
        `(history over ${SPAN_HOURS} h, rollup run, ${LIVE_TAIL} live rows per table; clock pinned at ${new Date(now).toISOString()})\n`,
      );
      console.log(
        `${"query".padEnd(w)}  ${SIZES.map((s) => `${s.toLocaleString("en")} rows`.padStart(20)).join("")}  identical`,
      );
      const same = (r: { docs: number; bytes: number }[]) =>
        r.every((x) => x.docs === r[0].docs && x.bytes === r[0].bytes);
      for (const [name, r] of Object.entries(results)) {
        console.log(
          `${name.padEnd(w)}  ${r.map((x) => `${x.docs} (${x.bytes} B)`.padStart(20)).join("")}  ${same(r) ? "yes" : "NO"}`,
        );
      }
      console.log("");
      for (const c of checks) {
        console.log(
          `${c.size.toLocaleString("en")} rows: seeded in ${c.seconds.seed.toFixed(1)} s; rollup ${c.seconds.rollup.toFixed(1)} s ` +
            `(${c.rollup.cronRuns} cron run(s), ${c.rollup.continuations} scheduled continuation(s)); ` +
            `overview totals ${JSON.stringify(c.overview)} (expected ${JSON.stringify(c.expected)}); ` +
            `7-day range totals ${JSON.stringify(c.range)} (expected ${JSON.stringify(c.rangeExpected)})`,
        );
      }

      // 2. Then check every query at every size, and the totals.
      const misses: string[] = [];
      const canon = (o: Record<string, unknown>) =>
        JSON.stringify(Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1))));
      for (const [name, r] of Object.entries(results)) {
        if (!same(r)) misses.push(`${name}: ${r.map((x, i) => `${SIZES[i]}→${x.docs} docs/${x.bytes} B`).join(", ")}`);
      }
      for (const c of checks) {
        if (canon(c.overview) !== canon(c.expected))
          misses.push(`overview totals at ${c.size}: ${JSON.stringify(c.overview)} ≠ ${JSON.stringify(c.expected)}`);
        if (canon(c.range) !== canon(c.rangeExpected))
          misses.push(
            `7-day range totals at ${c.size}: ${JSON.stringify(c.range)} ≠ ${JSON.stringify(c.rangeExpected)}`,
          );
      }
      if (misses.length) {
        console.log(`\nTARGET MISSED:\n  ${misses.join("\n  ")}`);
        throw new Error(`bench:scale target missed (${misses.length})`);
      }
      console.log(
        "\ntarget met: every query reads identical documents and bytes at every size; totals match the seeded rows",
      );
    } finally {
      vi.useRealTimers();
    }
  });
}
