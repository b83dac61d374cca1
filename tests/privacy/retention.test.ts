// @vitest-environment node
/**
 * Conversation retention (issue 17.4): per-workspace "conversations" setting (default 90 days)
 * deletes threads, messages, queued replies, voice sessions, chat sessions, channel users and
 * delivery ids in bounded self-continuing batches; other workspaces keep their own setting.
 * Deleting a channel removes its users' threads and messages.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { DAY, HOUR } from "../../convex/lib/time";
import { member, newT, type T } from "../harness";

afterEach(() => {
  vi.useRealTimers();
});

/** One web visitor and one channel user, each with a thread of `n` messages, all `age` days old. */
async function seedPeople(t: T, ws: Id<"workspaces">, channelId: Id<"channelConfig">, tag: string, age: number, n = 3) {
  return await t.run(async (ctx) => {
    const at = Date.now() - age * DAY - HOUR;
    const sessionId = await ctx.db.insert("chatSessions", {
      workspaceId: ws,
      tokenHash: `h-${tag}`,
      createdAt: at,
      expiresAt: at + 30 * DAY,
      lastSeenAt: at,
    });
    const channelUserId = await ctx.db.insert("channelUsers", {
      workspaceId: ws,
      channelId,
      platform: "telegram",
      platformUserId: `u-${tag}`,
      displayName: `Name ${tag}`,
      contact: `+1555${age}`,
      blocked: tag.includes("blocked"),
      firstSeenAt: at,
      lastSeenAt: at,
    });
    for (const owner of [{ sessionId }, { channelUserId }]) {
      const threadId = await ctx.db.insert("threads", {
        workspaceId: ws,
        ...owner,
        title: tag,
        messageCount: n,
        createdAt: at,
        updatedAt: at,
      });
      for (let i = 0; i < n; i++)
        await ctx.db.insert("messages", {
          workspaceId: ws,
          threadId,
          role: "user",
          text: `${tag} message ${i}`,
          status: "done",
          createdAt: at - n + i,
        });
    }
    await ctx.db.insert("voiceSessions", {
      workspaceId: ws,
      chatSessionId: sessionId,
      startedAt: at,
      grantedSeconds: 60,
      status: "ended",
    });
    await ctx.db.insert("channelOutbox", { workspaceId: ws, channelUserId, text: `${tag} reply`, createdAt: at });
    await ctx.db.insert("webhookDeliveries", { workspaceId: ws, channelId, deliveryId: `d-${tag}`, receivedAt: at });
    return { sessionId, channelUserId };
  });
}

async function snapshot(t: T, ws: Id<"workspaces">) {
  return await t.run(async (ctx) => {
    const mine = <R extends { workspaceId: Id<"workspaces"> }>(rows: R[]) => rows.filter((r) => r.workspaceId === ws);
    return {
      threads: mine(await ctx.db.query("threads").collect())
        .map((x) => x.title)
        .sort(),
      messages: mine(await ctx.db.query("messages").collect())
        .map((x) => x.text)
        .sort(),
      sessions: mine(await ctx.db.query("chatSessions").collect())
        .map((x) => x.tokenHash)
        .sort(),
      users: mine(await ctx.db.query("channelUsers").collect())
        .map((x) => `${x.platformUserId}${x.displayName ? "+name" : ""}${x.contact ? "+contact" : ""}`)
        .sort(),
      voice: mine(await ctx.db.query("voiceSessions").collect()).length,
      outbox: mine(await ctx.db.query("channelOutbox").collect())
        .map((x) => x.text)
        .sort(),
      deliveries: mine(await ctx.db.query("webhookDeliveries").collect())
        .map((x) => x.deliveryId)
        .sort(),
    };
  });
}

async function setup(t: T, slug: string) {
  const m = await member(t, { workspace: slug });
  const channelId = await t.run((ctx) =>
    ctx.db.insert("channelConfig", {
      workspaceId: m.workspaceId,
      platform: "telegram",
      name: "tg",
      enabled: true,
      settings: {},
      createdAt: 0,
      updatedAt: 0,
    }),
  );
  return { ...m, channelId };
}

describe("conversation retention", () => {
  test("default 90 days, owner-set per workspace; exactly the expired rows go, in many small batches", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    const b = await setup(t, "ws-b");
    await a.as.mutation(api.logs.retention.set, { table: "conversations", days: 30 });
    const list = await a.as.query(api.logs.retention.list, {});
    expect(list.find((r) => r.table === "conversations")).toEqual({
      table: "conversations",
      days: 30,
      isDefault: false,
    });
    expect((await b.as.query(api.logs.retention.list, {})).find((r) => r.table === "conversations")).toEqual({
      table: "conversations",
      days: 90,
      isDefault: true,
    });

    for (const w of [a, b]) {
      await seedPeople(t, w.workspaceId, w.channelId, "fresh5", 5);
      await seedPeople(t, w.workspaceId, w.channelId, "mid60", 60);
      await seedPeople(t, w.workspaceId, w.channelId, "old120", 120, 7);
      await seedPeople(t, w.workspaceId, w.channelId, "old-blocked", 200);
    }
    // a live thread with one old message: the message goes, the thread stays (workspace a)
    await t.run(async (ctx) => {
      const th = (await ctx.db.query("threads").collect()).find(
        (x) => x.workspaceId === a.workspaceId && x.title === "fresh5",
      )!;
      await ctx.db.insert("messages", {
        workspaceId: a.workspaceId,
        threadId: th._id,
        role: "user",
        text: "fresh5 ancient",
        status: "done",
        createdAt: Date.now() - 45 * DAY,
      });
    });

    await t.mutation(internal.privacy.retention.step, {
      workspaceCursor: null,
      workspaceId: null,
      phase: 0,
      cursor: null,
      now: Date.now(),
      batchSize: 4,
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const steps = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
      (j) => j.name === "privacy/retention:step",
    );
    expect(steps.length).toBeGreaterThan(2 * 7 + 5); // more than one batch per phase somewhere
    expect(steps.every((j) => j.state.kind === "success")).toBe(true);

    const msgs = (tag: string, n = 3) =>
      [...Array(n).keys()].flatMap((i) => [`${tag} message ${i}`, `${tag} message ${i}`]);
    const sa = await snapshot(t, a.workspaceId);
    expect(sa.threads).toEqual(["fresh5", "fresh5"]);
    expect(sa.messages).toEqual(msgs("fresh5").sort());
    expect(sa.sessions).toEqual(["h-fresh5"]);
    // the blocked channel user stays as a tombstone (no name, no contact) so the block holds
    expect(sa.users).toEqual(["u-fresh5+name+contact", "u-old-blocked"]);
    expect(sa.voice).toBe(1);
    expect(sa.outbox).toEqual(["fresh5 reply"]);
    expect(sa.deliveries).toEqual(["d-fresh5"]);

    const sb = await snapshot(t, b.workspaceId);
    expect(sb.threads).toEqual(["fresh5", "fresh5", "mid60", "mid60"]);
    expect(sb.messages).toEqual([...msgs("fresh5"), ...msgs("mid60")].sort());
    expect(sb.sessions).toEqual(["h-fresh5", "h-mid60"]);
    expect(sb.users).toEqual(["u-fresh5+name+contact", "u-mid60+name+contact", "u-old-blocked"]);
    expect(sb.voice).toBe(2);
    expect(sb.outbox).toEqual(["fresh5 reply", "mid60 reply"]);
    // delivery ids never outlive 7 days, whatever the setting
    expect(sb.deliveries).toEqual(["d-fresh5"]);
  }, 120_000);

  test("the daily cron starts it after the log retention", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    await seedPeople(t, a.workspaceId, a.channelId, "old120", 120);
    await t.mutation(internal.logs.retention.start, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const s = await snapshot(t, a.workspaceId);
    expect([s.threads, s.messages, s.sessions, s.users, s.outbox]).toEqual([[], [], [], [], []]);
    expect(s.voice).toBe(0);
  });

  test("an unexpired session idle past the cutoff keeps its row; its old threads go", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    await a.as.mutation(api.logs.retention.set, { table: "conversations", days: 1 });
    const { sessionId } = await seedPeople(t, a.workspaceId, a.channelId, "idle", 5);
    await t.mutation(internal.privacy.retention.step, {
      workspaceCursor: null,
      workspaceId: null,
      phase: 0,
      cursor: null,
      now: Date.now(),
      batchSize: 2,
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const s = await snapshot(t, a.workspaceId);
    expect(s.sessions).toEqual(["h-idle"]);
    expect(s.threads).toEqual([]);
    expect(await t.run((ctx) => ctx.db.get(sessionId))).not.toBeNull();
  });
});

describe("deleting a channel", () => {
  test("removes its users' threads, messages and queued replies in batches; another channel is untouched", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    const other = await t.run((ctx) =>
      ctx.db.insert("channelConfig", {
        workspaceId: a.workspaceId,
        platform: "telegram",
        name: "tg2",
        enabled: true,
        settings: {},
        createdAt: 0,
        updatedAt: 0,
      }),
    );
    await seedPeople(t, a.workspaceId, a.channelId, "gone1", 1, 5);
    await seedPeople(t, a.workspaceId, a.channelId, "gone2", 1, 5);
    await seedPeople(t, a.workspaceId, other, "kept", 1, 2);
    await a.as.mutation(api.channels.manage.remove, { channelId: a.channelId });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    // and with tiny batches
    const s = await snapshot(t, a.workspaceId);
    expect(s.users).toEqual(["u-kept+name+contact"]);
    // web-chat data does not belong to the channel
    expect(s.threads).toEqual(["gone1", "gone2", "kept", "kept"]);
    expect(s.messages.filter((m) => m.startsWith("gone")).length).toBe(10);
    expect(s.outbox).toEqual(["kept reply"]);
    expect(s.deliveries).toEqual(["d-kept"]);
  });

  test("purge in batches of 3 leaves nothing of the channel", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    await seedPeople(t, a.workspaceId, a.channelId, "p1", 1, 6);
    await seedPeople(t, a.workspaceId, a.channelId, "p2", 1, 6);
    await t.run((ctx) => ctx.db.delete(a.channelId));
    await t.mutation(internal.channels.manage.purge, { channelId: a.channelId, batchSize: 3 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const runs = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
      (j) => j.name === "channels/manage:purge",
    );
    expect(runs.length).toBeGreaterThan(3);
    const s = await snapshot(t, a.workspaceId);
    expect(s.users).toEqual([]);
    expect(s.threads).toEqual(["p1", "p2"]); // the web visitors' threads
    expect(s.messages.length).toBe(12);
    expect(s.outbox).toEqual([]);
    expect(s.deliveries).toEqual([]);
  });
});
