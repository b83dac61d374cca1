export {};
/**
 * npm run bench:scale — documents and bytes read by each SyncBoard dashboard query at 1k, 10k and
 * 100k rows in every log table, side by side (target: identical at every size). Reads are counted
 * logically with ctx.meta.getTransactionMetrics (what the query reads through its index range),
 * not wall time: convex-test scans whole tables internally whatever the query does.
 *
 * Run with tsx: it starts vitest on this file (convex-test needs Vite's import.meta.glob).
 */
const SIZES = (process.env.BENCH_SCALE_SIZES ?? "1000,10000,100000").split(",").map(Number);
const BATCH = 5_000;

if (!process.env.VITEST) {
  const { startVitest } = await import("vitest/node");
  const ctx = await startVitest("test", [], {
    include: ["scripts/bench-scale.ts"],
    watch: false,
    run: true,
    reporters: ["default"],
    testTimeout: 1_800_000,
  });
  await ctx?.close();
  process.exit(ctx?.state.getCountOfFailedTests() ? 1 : 0);
} else {
  const { test, expect } = await import("vitest");
  const { api } = await import("../convex/_generated/api");
  const { newT, member } = await import("../tests/harness");

  test("bench: dashboard reads vs log size", async () => {
    const t = newT();
    const a = await member(t);
    const page = { paginationOpts: { numItems: 50, cursor: null } };
    const queries: [string, any, any][] = [
      ["logs/dashboard:overview", api.logs.dashboard.overview, {}],
      ["logs/browse:invocations", api.logs.browse.invocations, page],
      ["logs/browse:invocations(denied)", api.logs.browse.invocations, { ...page, deniedOnly: true }],
      ["logs/browse:securityEvents", api.logs.browse.securityEvents, page],
      ["logs/browse:audit", api.logs.browse.audit, page],
      ["logs/retention:list", api.logs.retention.list, {}],
    ];
    const results: Record<string, { docs: number; bytes: number }[]> = {};
    let rows = 0;
    for (const size of SIZES) {
      while (rows < size) {
        const n = Math.min(BATCH, size - rows);
        const base = rows;
        await t.run(async (ctx) => {
          const now = Date.now();
          for (let i = 0; i < n; i++) {
            const at = now - (base + i) * 10;
            await ctx.db.insert("skillInvocationLog", {
              workspaceId: a.workspaceId, targetKind: "skill", targetName: "bench", callerKind: "agent",
              code: i % 4 ? "OK" : "RATE_LIMITED", allowed: i % 4 !== 0, durationMs: 3, inputBytes: 10, outputBytes: 20,
              inputPreview: '{"q":"x"}', outputPreview: '{"ok":true}', at,
            });
            await ctx.db.insert("securityEvents", { workspaceId: a.workspaceId, code: "RATE_LIMITED", category: "skill", source: "ip:x", at });
            await ctx.db.insert("activityLog", { workspaceId: a.workspaceId, kind: "chat", summary: "answered", visibility: "private", at });
            await ctx.db.insert("auditLog", { workspaceId: a.workspaceId, actorLabel: "bench", action: "skill.update", at });
          }
        });
        rows += n;
      }
      for (const [name, ref, args] of queries) {
        const m = await a.as.run(async (ctx: any) => {
          await ctx.runQuery(ref, args);
          return ctx.meta.getTransactionMetrics();
        });
        (results[name] ??= []).push({ docs: m.documentsRead.used, bytes: m.bytesRead.used });
      }
    }
    const w = Math.max(...Object.keys(results).map((k) => k.length));
    console.log(`\nDocuments (bytes) read per dashboard query, by rows in each log table\n`);
    console.log(`${"query".padEnd(w)}  ${SIZES.map((s) => `${s.toLocaleString("en")} rows`.padStart(18)).join("")}  identical`);
    for (const [name, r] of Object.entries(results)) {
      const same = r.every((x) => x.docs === r[0].docs && x.bytes === r[0].bytes);
      console.log(`${name.padEnd(w)}  ${r.map((x) => `${x.docs} (${x.bytes} B)`.padStart(18)).join("")}  ${same ? "yes" : "NO"}`);
      expect(r.every((x) => x.docs === r[0].docs)).toBe(true);
    }
  });
}
