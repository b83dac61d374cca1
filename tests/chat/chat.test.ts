import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { appendChannelTurn } from "../../convex/chat/turns";
import { expectCode, member } from "../harness";
import { sha256Hex } from "../../convex/lib/tokens";
import { OFFLINE_PREFIX } from "../../convex/lib/offlineModel";
import { messages, publicChat, session, thread } from "./setup";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("anonymous sessions", () => {
  test("token: ≥128 random bits, returned once, only its SHA-256 stored, 30-day expiry", async () => {
    const { t } = await publicChat();
    const r = await t.mutation(internal.chat.sessions.startFromHttp, { ip: "192.0.2.1" });
    if (!r.ok) throw new Error("limited");
    const raw = r.token.replace(/^wcs_/, "");
    expect(raw.length * 6).toBeGreaterThanOrEqual(128);
    const rows = await t.run((ctx) => ctx.db.query("chatSessions").collect());
    expect(rows).toHaveLength(1);
    expect(rows[0].tokenHash).toBe(await sha256Hex(r.token));
    expect(JSON.stringify(rows)).not.toContain(raw);
    expect(r.expiresAt - Date.now()).toBe(30 * 24 * 3600 * 1000);
    const r2 = await t.mutation(internal.chat.sessions.startFromHttp, { ip: "192.0.2.1" });
    expect(r2.ok && r2.token).not.toBe(r.token);
  });

  test("no public workspace → NOT_FOUND", async () => {
    const { t } = await publicChat();
    process.env.WARDEN_PUBLIC_WORKSPACE = "nope";
    try {
      await expectCode(t.mutation(internal.chat.sessions.startFromHttp, { ip: "192.0.2.1" }), "NOT_FOUND");
    } finally {
      delete process.env.WARDEN_PUBLIC_WORKSPACE;
    }
  });

  test("unknown, expired, revoked and blocked sessions → SESSION_INVALID", async () => {
    const { t, owner } = await publicChat();
    const opts = { paginationOpts: { numItems: 10, cursor: null } };
    await expectCode(
      t.query(api.chat.threads.listThreads, { sessionToken: "wcs_" + "A".repeat(43), ...opts }),
      "SESSION_INVALID",
    );
    await expectCode(t.query(api.chat.threads.listThreads, { sessionToken: "short", ...opts }), "SESSION_INVALID");

    const expired = await session(t);
    const expiredHash = await sha256Hex(expired);
    await t.query(api.chat.threads.listThreads, { sessionToken: expired, ...opts });
    await t.run(async (ctx) => {
      const row = await ctx.db
        .query("chatSessions")
        .withIndex("by_tokenHash", (q) => q.eq("tokenHash", expiredHash))
        .unique();
      await ctx.db.patch(row!._id, { expiresAt: Date.now() - 1 });
    });
    await expectCode(t.query(api.chat.threads.listThreads, { sessionToken: expired, ...opts }), "SESSION_INVALID");

    const revoked = await session(t);
    await t.query(api.chat.threads.listThreads, { sessionToken: revoked, ...opts });
    await t.mutation(api.chat.sessions.revoke, { sessionToken: revoked });
    await expectCode(t.mutation(api.chat.threads.createThread, { sessionToken: revoked }), "SESSION_INVALID");

    const blocked = await session(t);
    const row = await t.run(async (ctx) => (await ctx.db.query("chatSessions").collect()).at(-1)!);
    await owner.as.mutation(api.chat.sessions.block, { sessionId: row._id });
    await expectCode(t.query(api.chat.threads.listThreads, { sessionToken: blocked, ...opts }), "SESSION_INVALID");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.find((a) => a.action === "chat.session.block")).toMatchObject({
      actorId: owner.ownerId,
      after: { blocked: true },
    });
  });

  test("blockSession: viewers cannot, other workspaces cannot", async () => {
    const { t } = await publicChat();
    await session(t);
    const row = await t.run(async (ctx) => (await ctx.db.query("chatSessions").collect())[0]);
    const viewer = await member(t, { workspace: "default", role: "viewer" });
    await expectCode(viewer.as.mutation(api.chat.sessions.block, { sessionId: row._id }), "FORBIDDEN");
    const other = await member(t, { workspace: "ws-other", role: "owner" });
    await expectCode(other.as.mutation(api.chat.sessions.block, { sessionId: row._id }), "FORBIDDEN");
    expect((await t.run((ctx) => ctx.db.get(row._id)))?.blocked).toBeUndefined();
  });
});

describe("threads are bound to their session", () => {
  test("two sessions cannot see each other's threads or messages by id; the error leaks nothing", async () => {
    const { t } = await publicChat();
    const a = await session(t);
    const b = await session(t);
    const ta = await thread(t, a);
    await t.mutation(api.chat.threads.send, { sessionToken: a, threadId: ta, text: "my secret plan: PLAN-X-42" });
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    for (const call of [
      t.query(api.chat.threads.getThread, { sessionToken: b, threadId: ta }),
      t.query(api.chat.threads.listMessages, {
        sessionToken: b,
        threadId: ta,
        paginationOpts: { numItems: 10, cursor: null },
      }),
      t.mutation(api.chat.threads.send, { sessionToken: b, threadId: ta, text: "hi" }),
    ]) {
      let err: any;
      try {
        await call;
      } catch (e) {
        err = e;
      }
      expect(err?.data?.code).toBe("FORBIDDEN");
      expect(JSON.stringify(err.data) + String(err.message)).not.toContain("PLAN-X-42");
    }
    // a bad id is indistinguishable from someone else's
    await expectCode(t.query(api.chat.threads.getThread, { sessionToken: b, threadId: "nonsense" }), "FORBIDDEN");
    const listB = await t.query(api.chat.threads.listThreads, {
      sessionToken: b,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(listB.page).toHaveLength(0);
    const listA = await t.query(api.chat.threads.listThreads, {
      sessionToken: a,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(listA.page.map((x) => x._id)).toEqual([ta]);
    // B's message was not added to A's thread
    expect((await messages(t, a, ta)).map((m) => m.role)).toEqual(["user", "assistant"]);
  });

  test("no public query returns thread messages: owners read them only through workspace-scoped viewer queries", async () => {
    const { t, owner } = await publicChat();
    const a = await session(t);
    const ta = await thread(t, a);
    await t.mutation(api.chat.threads.send, { sessionToken: a, threadId: ta, text: "hello owner" });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const page = await owner.as.query(api.chat.owner.listThreads, { paginationOpts: { numItems: 10, cursor: null } });
    expect(page.page[0]).toMatchObject({ _id: ta, messageCount: 2 });
    const msgs = await owner.as.query(api.chat.owner.listMessages, {
      threadId: ta,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(msgs.page.map((m) => m.text)).toContain("hello owner");
    const other = await member(t, { workspace: "ws-b" });
    await expectCode(
      other.as.query(api.chat.owner.listMessages, { threadId: ta, paginationOpts: { numItems: 10, cursor: null } }),
      "FORBIDDEN",
    );
    await expectCode(
      t.query(api.chat.owner.listMessages, { threadId: ta, paginationOpts: { numItems: 10, cursor: null } }),
      "UNAUTHENTICATED",
    );
  });
});

describe("send", () => {
  test("the reply arrives through the scheduled agent (pending → done)", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    const r = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "Hello agent" });
    expect(r.ok).toBe(true);
    let msgs = await messages(t, s, th);
    expect(msgs.map((m) => [m.role, m.status])).toEqual([
      ["user", "done"],
      ["assistant", "pending"],
    ]);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    msgs = await messages(t, s, th);
    expect(msgs[1]).toMatchObject({
      role: "assistant",
      status: "done",
      text: `${OFFLINE_PREFIX}: you said “Hello agent” (11 characters).`,
    });
    const act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    const reply = act.find((x) => x.kind === "agent.reply")!;
    expect(reply).toMatchObject({ visibility: "private", channel: "web", summary: "Answered a question in web chat" });
    expect(JSON.stringify(act)).not.toContain("Hello agent");
  });

  test("MESSAGE_TOO_LONG above 4,000 characters; exactly 4,000 passes; configurable by admins", async () => {
    const { t, owner } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    await expectCode(
      t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "a".repeat(4001) }),
      "MESSAGE_TOO_LONG",
    );
    expect(
      (await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "a".repeat(4000) })).ok,
    ).toBe(true);
    const viewer = await member(t, { workspace: "default", role: "viewer" });
    await expectCode(viewer.as.mutation(api.chat.owner.setMaxMessageChars, { maxMessageChars: 10 }), "FORBIDDEN");
    await expectCode(owner.as.mutation(api.chat.owner.setMaxMessageChars, { maxMessageChars: 0 }), "CONFIG_INVALID");
    await owner.as.mutation(api.chat.owner.setMaxMessageChars, { maxMessageChars: 10 });
    expect((await owner.as.query(api.chat.owner.settings, {})).maxMessageChars).toBe(10);
    await expectCode(
      t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "a".repeat(11) }),
      "MESSAGE_TOO_LONG",
    );
    expect((await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "😀".repeat(10) })).ok).toBe(
      true,
    );
  });

  test("control characters are stripped before storage; empty messages refused", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "hi\u0000\u001b[31m there\u202E" });
    expect((await messages(t, s, th))[0].text).toBe("hi[31m there");
    await expectCode(
      t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: " \u0000 " }),
      "ARGS_INVALID",
    );
  });

  test("per-session limit: exactly 10 per minute, then RATE_LIMITED with retryAfterMs; logged; refills", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    for (let i = 0; i < 10; i++) {
      expect(
        (await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: `m${i}` })).ok,
        `msg ${i}`,
      ).toBe(true);
    }
    const denied = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "m10" });
    expect(denied).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    if (denied.ok) throw new Error();
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(6000);
    // another session is unaffected
    const s2 = await session(t);
    expect(
      (await t.mutation(api.chat.threads.send, { sessionToken: s2, threadId: await thread(t, s2), text: "x" })).ok,
    ).toBe(true);
    const ev = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(ev.some((e) => e.code === "RATE_LIMITED" && e.detail === "limit=chatPerSession")).toBe(true);
    expect((await messages(t, s, th)).filter((m) => m.role === "user")).toHaveLength(10);
    vi.advanceTimersByTime(denied.retryAfterMs);
    expect((await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "again" })).ok).toBe(true);
  });

  test("global limit across sessions (overridden to 3/min for the workspace)", async () => {
    const { t, owner } = await publicChat();
    await t.run((ctx) =>
      ctx.db.insert("rateLimitConfig", {
        workspaceId: owner.workspaceId,
        name: "chatGlobal",
        rate: 3,
        periodMs: 60_000,
        updatedAt: Date.now(),
      }),
    );
    const results = [];
    for (let i = 0; i < 4; i++) {
      const s = await session(t);
      results.push(
        await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: await thread(t, s), text: "x" }),
      );
    }
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(results[3]).toMatchObject({ code: "RATE_LIMITED" });
  });

  test("channel hand-off: runs the agent on the channel user's thread and makes the platform reply's first attempt", async () => {
    const { t, owner } = await publicChat();
    const cu = await t.run(async (ctx) => {
      const channelId = await ctx.db.insert("channelConfig", {
        workspaceId: owner.workspaceId,
        platform: "telegram",
        name: "tg",
        enabled: true,
        settings: {},
        createdAt: 0,
        updatedAt: 0,
      });
      return await ctx.db.insert("channelUsers", {
        workspaceId: owner.workspaceId,
        channelId,
        platform: "telegram",
        platformUserId: "42",
        displayName: "Ada Lovelace",
        contact: "+447700900123",
        blocked: false,
        firstSeenAt: 0,
        lastSeenAt: 0,
      });
    });
    const turn = await t.run((ctx) =>
      appendChannelTurn(ctx, { workspaceId: owner.workspaceId, channelUserId: cu, text: "hi from telegram" }),
    );
    if (!turn.ok) throw new Error(turn.code);
    const r = await t.action(internal.agent.run.handleChannelMessage, {
      channelUserId: cu,
      assistantMessageId: turn.assistantMessageId,
    });
    expect(r).toEqual({ ok: true });
    // the run makes the reply's first attempt itself (no scheduled send); this channel has no bot
    // token, so the attempt fails for good: the row is gone and the answer is marked undelivered
    const sched = await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
    expect(sched.filter((s) => s.name.includes("channels/replies"))).toEqual([]);
    expect(await t.run((ctx) => ctx.db.query("channelOutbox").collect())).toEqual([]);
    const answer = await t.run((ctx) => ctx.db.get(turn.assistantMessageId));
    expect(answer).toMatchObject({
      text: `${OFFLINE_PREFIX}: you said “hi from telegram” (16 characters).`,
      status: "error",
      errorCode: "CHANNEL_NOT_CONFIGURED",
    });
    const th = await t.run((ctx) =>
      ctx.db
        .query("threads")
        .withIndex("by_channelUser", (q) => q.eq("channelUserId", cu))
        .collect(),
    );
    expect(th).toHaveLength(1);
    const act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    expect(act.find((a) => a.kind === "agent.reply")?.summary).toBe("Answered a question on Telegram");
    expect(JSON.stringify(act)).not.toMatch(/Ada|447700900123|hi from telegram/);
    // a second message reuses the thread; a foreign workspace id is refused
    const other = await member(t, { workspace: "ws-x" });
    expect(
      await t.run((ctx) => appendChannelTurn(ctx, { workspaceId: other.workspaceId, channelUserId: cu, text: "x" })),
    ).toEqual({ ok: false, code: "FORBIDDEN" });
    const long = await t.run((ctx) =>
      appendChannelTurn(ctx, { workspaceId: owner.workspaceId, channelUserId: cu, text: "a".repeat(4001) }),
    );
    expect(long).toEqual({ ok: false, code: "MESSAGE_TOO_LONG", maxChars: 4000 });
  });
});
