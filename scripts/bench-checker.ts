export {};
/**
 * npm run bench:checker — per-invocation overhead of the security checker.
 *
 * Same run, same convex-test instance, same no-op template skill (calculator "1"):
 *   pipeline: internal.security.checker.invokeSkill (approval, status, schema, per-skill and
 *             global limits, executor action, output size, redaction, log row)
 *   direct:   internal.skills.execute.run with the same arguments (the executor alone)
 * Calls alternate in slices so machine load hits both alike. Also prints documents read and
 * written per allowed invocation (ctx.meta.getTransactionMetrics over the checker's two
 * mutations, exactly as invokeSkill calls them), for a local template and a network skill.
 *
 * Run with tsx: it starts vitest on this file (convex-test needs Vite's import.meta.glob).
 */
const SLICES = 5;
const PER_SLICE = 40;
const WARMUP = 20;

if (!process.env.VITEST) {
  const { startVitest } = await import("vitest/node");
  const ctx = await startVitest("test", [], {
    include: ["scripts/bench-checker.ts"],
    watch: false,
    run: true,
    reporters: ["default"],
  });
  await ctx?.close();
  process.exit(ctx?.state.getCountOfFailedTests() ? 1 : 0);
} else {
  const { test, expect } = await import("vitest");
  const { api, internal } = await import("../convex/_generated/api");
  const { newT, member } = await import("../tests/harness");

  test("bench: checker overhead per invocation", async () => {
    const t = newT();
    const owner = await member(t, { workspace: "bench" });
    const workspaceId = owner.workspaceId;
    const calc = await owner.as.mutation(api.skills.registry.create, {
      name: "noop",
      description: "no-op calculator",
      type: "template",
      config: { template: "calculator" },
      allowedDomains: [],
      rateLimitPerMinute: 1000,
    });
    await owner.as.mutation(api.skills.registry.approve, { skillId: calc });
    const hook = await owner.as.mutation(api.skills.registry.create, {
      name: "hook",
      description: "network skill (not executed here)",
      type: "webhook",
      config: { urlTemplate: "https://api.example.com/v1/{q}", method: "GET" },
      allowedDomains: ["api.example.com"],
    });
    await owner.as.mutation(api.skills.registry.approve, { skillId: hook });
    // lift the global limits for the measurement only (the per-skill limit stays in force)
    await t.run(async (ctx) => {
      for (const name of ["globalInvocations", "webhookSkillsGlobal"]) {
        await ctx.db.insert("rateLimitConfig", {
          workspaceId,
          name,
          rate: 1_000_000,
          periodMs: 60_000,
          updatedAt: Date.now(),
        });
      }
    });

    const input = { expression: "1" };
    const pipeline = async () => {
      const r = await t.action(internal.security.checker.invokeSkill, {
        workspaceId,
        skillName: "noop",
        input,
        caller: { kind: "agent", audience: "ownerSender", tainted: false },
      });
      if (!r.ok) throw new Error(`denied: ${r.code}`);
    };
    const direct = async () => {
      const r = await t.action(internal.skills.execute.run, {
        workspaceId,
        type: "template",
        config: { template: "calculator" },
        input,
        maxOutputBytes: 50 * 1024,
      });
      if (!r.ok) throw new Error(`failed: ${r.code}`);
    };

    for (let i = 0; i < WARMUP; i++) {
      await pipeline();
      await direct();
    }
    const time = { pipeline: 0, direct: 0, n: 0 };
    for (let s = 0; s < SLICES; s++) {
      let t0 = performance.now();
      for (let i = 0; i < PER_SLICE; i++) await pipeline();
      time.pipeline += performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < PER_SLICE; i++) await direct();
      time.direct += performance.now() - t0;
      time.n += PER_SLICE;
    }
    const perPipeline = time.pipeline / time.n;
    const perDirect = time.direct / time.n;

    // documents per allowed invocation: the precheck and the result log, as invokeSkill runs them
    const measure = async (skillName: string, skillId: any) =>
      await t.run(async (ctx) => {
        const pre = await ctx.runMutation(internal.security.checker.precheckSkill, {
          workspaceId,
          skillName,
          input: skillName === "noop" ? input : { q: "x" },
          inputTooLarge: false,
          inputBytes: 16,
          inputPreview: "{}",
          caller: { kind: "agent", audience: "ownerSender", tainted: false },
          startedAt: Date.now(),
        });
        if (!pre.ok) throw new Error(`precheck denied: ${pre.code}`);
        const afterPre = await ctx.meta.getTransactionMetrics();
        await ctx.runMutation(internal.security.checker.logResult, {
          entry: {
            workspaceId,
            targetKind: "skill",
            skillId,
            targetName: skillName,
            callerKind: "agent",
            code: "OK",
            allowed: true,
            durationMs: 1,
            inputBytes: 16,
            outputBytes: 12,
          },
        });
        const total = await ctx.meta.getTransactionMetrics();
        return {
          precheck: { read: afterPre.documentsRead.used, written: afterPre.documentsWritten.used },
          log: {
            read: total.documentsRead.used - afterPre.documentsRead.used,
            written: total.documentsWritten.used - afterPre.documentsWritten.used,
          },
          total: { read: total.documentsRead.used, written: total.documentsWritten.used },
        };
      });
    await t.action(internal.security.checker.invokeSkill, {
      workspaceId,
      skillName: "hook",
      input: { q: "x" },
      caller: { kind: "agent", audience: "ownerSender", tainted: false },
    }); // warm its limiter rows
    const docsLocal = await measure("noop", calc);
    const docsNetwork = await measure("hook", hook);

    const rows = [
      ["direct template action", perDirect.toFixed(2) + " ms", "1.00×"],
      ["full checker pipeline", perPipeline.toFixed(2) + " ms", (perPipeline / perDirect).toFixed(2) + "×"],
      ["overhead per invocation", (perPipeline - perDirect).toFixed(2) + " ms", ""],
    ];
    console.log(`\nchecker benchmark (convex-test, ${time.n} calls each, alternating slices of ${PER_SLICE})`);
    for (const r of rows) console.log(`  ${r[0].padEnd(26)} ${r[1].padStart(10)}  ${r[2]}`);
    console.log("\ndocuments per allowed invocation (precheck + log mutations)");
    for (const [label, d] of [
      ["local template", docsLocal],
      ["network skill", docsNetwork],
    ] as const) {
      console.log(
        `  ${label.padEnd(16)} read ${d.total.read} (precheck ${d.precheck.read}, log ${d.log.read})   written ${d.total.written} (precheck ${d.precheck.written}, log ${d.log.written})`,
      );
    }
    console.log("  target: ≤ 8 read, ≤ 3 written — writes are 1 per limiter bucket + the log row; the hourly");
    console.log("  summary is rolled up from the log every 30 s (logs/summaries.ts), off the invocation path.");
    console.log("  A network skill also consumes the webhook-skills global bucket (seed 002: 100/min).\n");
    expect(docsLocal.total.read).toBeLessThanOrEqual(8);
    expect(docsLocal.total.written).toBeLessThanOrEqual(3);
  });
}
