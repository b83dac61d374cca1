export {};
/**
 * npm run bench:chat — messages per second through the full public-chat path on the offline
 * provider (convex-test: chat.send mutation with its limits → scheduled agent action → context
 * query → offline model → finish mutation), and documents read/written per message
 * (ctx.meta.getTransactionMetrics). Reference in the same run: a one-insert mutation.
 *
 * Run with tsx: it starts vitest on this file (convex-test needs Vite's import.meta.glob).
 */
const N_SESSIONS = 20;
const PER_SESSION = 10; // the per-session limit: 10/min
const REF_RUNS = 200;

if (!process.env.VITEST) {
  const { startVitest } = await import("vitest/node");
  const ctx = await startVitest("test", [], {
    include: ["scripts/bench-chat.ts"],
    watch: false,
    run: true,
    reporters: ["default"],
  });
  await ctx?.close();
  process.exit(ctx?.state.getCountOfFailedTests() ? 1 : 0);
} else {
  const { test, vi } = await import("vitest");
  const { api, internal } = await import("../convex/_generated/api");
  const { newT, member } = await import("../tests/harness");

  test("bench: public chat on the offline provider", async () => {
    // fake timers drive the scheduler; performance.now stays real for the measurement
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate", "Date"],
    });
    const t = newT();
    const owner = await member(t, { workspace: "default" });
    // lift the global limit for the measurement only (per-session limit stays in force)
    await t.run((ctx) =>
      ctx.db.insert("rateLimitConfig", {
        workspaceId: owner.workspaceId,
        name: "chatGlobal",
        rate: 100_000,
        periodMs: 60_000,
        updatedAt: Date.now(),
      }),
    );
    const sessions: { token: string; threadId: string }[] = [];
    for (let i = 0; i < N_SESSIONS; i++) {
      const s = await t.mutation(internal.chat.sessions.startFromHttp, { ip: `198.51.100.${i % 250}` });
      if (!s.ok) throw new Error("session limited");
      const th = await t.mutation(api.chat.threads.createThread, { sessionToken: s.token });
      if (!th.ok) throw new Error("thread limited");
      sessions.push({ token: s.token, threadId: th.threadId });
    }

    // reference: the cheapest mutation convex-test can run
    const r0 = performance.now();
    for (let i = 0; i < REF_RUNS; i++) {
      await t.run((ctx) =>
        ctx.db.insert("activityLog", {
          workspaceId: owner.workspaceId,
          kind: "bench",
          summary: "",
          visibility: "private",
          at: i,
        }),
      );
    }
    const refMs = (performance.now() - r0) / REF_RUNS;

    // full path
    const total = N_SESSIONS * PER_SESSION;
    const t0 = performance.now();
    for (let round = 0; round < PER_SESSION; round++) {
      for (const s of sessions) {
        const r = await t.mutation(api.chat.threads.send, {
          sessionToken: s.token,
          threadId: s.threadId,
          text: `message ${round} from a visitor`,
        });
        if (!r.ok) throw new Error(`limited: ${r.code}`);
        await t.finishAllScheduledFunctions(vi.runAllTimers);
      }
    }
    const elapsed = performance.now() - t0;
    const done = await t.run(
      async (ctx) =>
        (await ctx.db.query("messages").collect()).filter((m) => m.role === "assistant" && m.status === "done").length,
    );
    if (done !== total) throw new Error(`expected ${total} replies, got ${done}`);

    // documents read / written per message: send + agent context query + finish mutation
    const fresh = await t.mutation(internal.chat.sessions.startFromHttp, { ip: "192.0.2.1" });
    if (!fresh.ok) throw new Error();
    const th = await t.mutation(api.chat.threads.createThread, { sessionToken: fresh.token });
    if (!th.ok) throw new Error();
    // one warm-up message so the thread has history like a real conversation
    await t.mutation(api.chat.threads.send, { sessionToken: fresh.token, threadId: th.threadId, text: "warm up" });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const send = await t.run(async (ctx) => {
      const r = await ctx.runMutation(api.chat.threads.send, {
        sessionToken: fresh.token,
        threadId: th.threadId,
        text: "measured",
      });
      return { r, m: await ctx.meta.getTransactionMetrics() };
    });
    if (!send.r.ok) throw new Error();
    const assistantMessageId = send.r.assistantMessageId;
    const load = await t.run(async (ctx) => {
      await ctx.runMutation(internal.agent.runs.startRun, { assistantMessageId });
      return await ctx.meta.getTransactionMetrics();
    });
    const finish = await t.run(async (ctx) => {
      await ctx.runMutation(internal.agent.context.finish, {
        assistantMessageId,
        text: "reply",
        status: "done",
        activity: [{ kind: "agent.reply", meta: { provider: "offline" } }],
      });
      return await ctx.meta.getTransactionMetrics();
    });
    const sum = (k: "documentsRead" | "documentsWritten") =>
      [send.m, load, finish].reduce((n, m) => n + (m as any)[k].used, 0);
    const perMsgMs = elapsed / total;
    const lines = [
      `public chat, offline provider, convex-test (${total} messages, ${N_SESSIONS} sessions)`,
      `  messages/second (send + scheduled agent + reply): ${(total / (elapsed / 1000)).toFixed(1)}`,
      `  per message: ${perMsgMs.toFixed(2)} ms = ${(perMsgMs / refMs).toFixed(1)}× a one-insert mutation (${refMs.toFixed(2)} ms, same run)`,
      `  documents read per message:    ${sum("documentsRead")} (send ${(send.m as any).documentsRead.used}, agent context ${(load as any).documentsRead.used}, finish ${(finish as any).documentsRead.used})`,
      `  documents written per message: ${sum("documentsWritten")} (send ${(send.m as any).documentsWritten.used}, finish ${(finish as any).documentsWritten.used})`,
    ];
    console.log(lines.join("\n"));
    vi.useRealTimers();
  }, 300_000);
}
