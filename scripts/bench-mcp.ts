// @vitest-environment node
export {};
/**
 * npm run bench:mcp — tool-call round trips per second through Warden's /mcp (SDK Client →
 * Streamable HTTP → endpoint(): Origin, bearer token, audience, per-client limit, session check →
 * web-standard transport + McpServer → security checker invokeSkill → calculator skill) versus
 * calling the same skill directly through invokeSkill, in the same run; prints the ratio.
 * Then upstream calls (security checker callMcpTool → guarded fetch → a real SDK server on
 * 127.0.0.1, as tests/mcp/external.ts) against the same reference: median of interleaved pairs,
 * plus the TCP connections the upstream saw.
 *
 * Run with tsx: it starts vitest on this file (convex-test needs Vite's import.meta.glob).
 */
const WARMUP = 20;
const RUNS = 300;

if (!process.env.VITEST) {
  const { startVitest } = await import("vitest/node");
  const ctx = await startVitest("test", [], {
    include: ["scripts/bench-mcp.ts"],
    watch: false,
    run: true,
    reporters: ["default"],
  });
  await ctx?.close();
  process.exit(ctx?.state.getCountOfFailedTests() ? 1 : 0);
} else {
  const { test, expect, vi } = await import("vitest");
  // Test hosts resolve to the loopback SDK server; every other egress rule runs (tests/mcp/egress.ts).
  vi.doMock("../convex/lib/safeFetch.node", async () =>
    (await import("../tests/mcp/egress")).wrap(await vi.importActual("../convex/lib/safeFetch.node")),
  );
  const { internal, api } = await import("../convex/_generated/api");
  const { newT } = await import("../tests/harness");
  const { workspaceWithSkills, mint, connect } = await import("../tests/mcp/helpers");

  test("bench: /mcp tool calls vs direct invokeSkill", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    // Lift the limits for the measurement only (every check still runs).
    await t.run(async (ctx) => {
      for (const name of ["mcpPerClient", "allUsersGlobal", "skillPerSkill", "globalInvocations"]) {
        await ctx.db.insert("rateLimitConfig", {
          workspaceId: owner.workspaceId,
          name,
          rate: 1_000_000,
          periodMs: 60_000,
          updatedAt: Date.now(),
        });
      }
    });
    const tok = await mint(owner, ["calc"]);
    const { client } = await connect(t, tok.token);
    const input = { expression: "1" };

    const viaMcp = async () => {
      const r: any = await client.callTool({ name: "calc", arguments: input });
      if (r.isError) throw new Error(`mcp call failed: ${r.content?.[0]?.text}`);
    };
    const direct = async () => {
      const r = await t.action(internal.security.checker.invokeSkill, {
        workspaceId: owner.workspaceId,
        skillName: "calc",
        input,
        caller: { kind: "bench" },
      });
      if (!r.ok) throw new Error(`direct call failed: ${r.code}`);
    };

    for (let i = 0; i < WARMUP; i++) {
      await viaMcp();
      await direct();
    }
    const time = async (fn: () => Promise<void>) => {
      const t0 = performance.now();
      for (let i = 0; i < RUNS; i++) await fn();
      return (performance.now() - t0) / RUNS;
    };
    // Interleave two rounds each so drift affects both sides alike.
    const d1 = await time(direct);
    const m1 = await time(viaMcp);
    const d2 = await time(direct);
    const m2 = await time(viaMcp);
    const directMs = (d1 + d2) / 2;
    const mcpMs = (m1 + m2) / 2;
    await client.close();

    const line = (label: string, ms: number) =>
      `${label.padEnd(34)} ${ms.toFixed(2).padStart(7)} ms/call  ${(1000 / ms).toFixed(0).padStart(6)} calls/s`;
    console.log(
      [
        `MCP benchmark (${RUNS}×2 calls each, convex-test in-process, calculator skill)`,
        line("direct invokeSkill (reference)", directMs),
        line("through /mcp (SDK client)", mcpMs),
        `ratio /mcp ÷ direct: ${(mcpMs / directMs).toFixed(2)}× the time per call (${(mcpMs - directMs).toFixed(2)} ms overhead)`,
      ].join("\n"),
    );
    expect(mcpMs).toBeGreaterThan(0);
  }, 300_000);

  test("bench: upstream MCP tool calls (checker → guarded fetch → loopback SDK server) vs direct invokeSkill", async () => {
    const { externalServer, defaultTools } = await import("../tests/mcp/external");
    const { egress, allowLoopbackInThisProcess } = await import("../tests/mcp/egress");
    allowLoopbackInThisProcess();
    const ext = await externalServer({ mode: "json", tools: defaultTools() });
    egress.ports.set("bench.mcp-test.com", ext.port);
    const t = newT();
    const owner = await workspaceWithSkills(t);
    await t.run(async (ctx) => {
      for (const name of ["mcpPerServer", "skillPerSkill", "globalInvocations"]) {
        await ctx.db.insert("rateLimitConfig", {
          workspaceId: owner.workspaceId,
          name,
          rate: 1_000_000,
          periodMs: 60_000,
          updatedAt: Date.now(),
        });
      }
    });
    const serverId = await owner.as.mutation(api.mcp.outbound.servers.register, {
      name: "bench",
      url: "https://bench.mcp-test.com/mcp",
    });
    await owner.as.mutation(api.mcp.outbound.servers.approve, { serverId });
    await t.finishAllScheduledFunctions(() => {});

    const upstream = async () => {
      const r = await t.action(internal.security.checker.callMcpTool, {
        workspaceId: owner.workspaceId,
        serverId,
        toolName: "add",
        input: { a: 1, b: 2 },
        caller: { kind: "bench" },
      });
      if (!r.ok) throw new Error(`upstream call failed: ${r.code}`);
    };
    const direct = async () => {
      const r = await t.action(internal.security.checker.invokeSkill, {
        workspaceId: owner.workspaceId,
        skillName: "calc",
        input: { expression: "1" },
        caller: { kind: "bench" },
      });
      if (!r.ok) throw new Error(`direct call failed: ${r.code}`);
    };
    const once = async (fn: () => Promise<void>) => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };
    for (let i = 0; i < WARMUP; i++) {
      await upstream();
      await direct();
    }
    const reqBefore = ext.requests.length;
    const connBefore = ext.connections();
    const refs: number[] = [];
    const ups: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // alternate which side goes first, so neither always runs on a warmer cache
      const [r, u] =
        i % 2 === 0
          ? [await once(direct), await once(upstream)]
          : (([u2, r2]) => [r2, u2])([await once(upstream), await once(direct)]);
      refs.push(r);
      ups.push(u);
      ratios.push(u / r);
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const requests = ext.requests.length - reqBefore;
    const connections = ext.connections() - connBefore;
    await ext.close();
    const line = (label: string, ms: number) =>
      `${label.padEnd(34)} ${ms.toFixed(2).padStart(7)} ms/call  ${(1000 / ms).toFixed(0).padStart(6)} calls/s`;
    console.log(
      [
        `Upstream MCP benchmark (${RUNS} interleaved pairs, medians; JSON-mode SDK server on 127.0.0.1)`,
        line("direct invokeSkill (reference)", median(refs)),
        line("upstream tools/call via checker", median(ups)),
        `median ratio upstream ÷ direct: ${median(ratios).toFixed(2)}×`,
        `upstream saw ${requests} HTTP requests on ${connections} new TCP connections for ${RUNS} calls (after warm-up)`,
      ].join("\n"),
    );
    expect(median(ups)).toBeGreaterThan(0);
  }, 300_000);
}
