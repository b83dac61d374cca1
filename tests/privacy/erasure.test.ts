// @vitest-environment node
/**
 * Erasure on request and access-request export (issue 17.5): an owner erases one person (channel
 * user or web-chat session) with everything derived from them, in bounded batches, audited by id
 * only; other people and other workspaces are untouched. Export is owner-only and paged.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { expectCode, member, newT, type T } from "../harness";

afterEach(() => {
  vi.useRealTimers();
});

type Seeded = { channelUserId: Id<"channelUsers">; sessionId: Id<"chatSessions">; threadIds: Id<"threads">[] };

/** A channel user and a web session, each with `threads` threads of `n` messages, an approval and an invocation row per thread. */
async function seedPerson(
  t: T,
  ws: Id<"workspaces">,
  channelId: Id<"channelConfig">,
  ownerId: Id<"owners">,
  tag: string,
  threads = 2,
  n = 5,
): Promise<Seeded> {
  return await t.run(async (ctx) => {
    const now = Date.now();
    const sessionId = await ctx.db.insert("chatSessions", {
      workspaceId: ws,
      tokenHash: `h-${tag}`,
      createdAt: now,
      expiresAt: now + 1e9,
      lastSeenAt: now,
    });
    const channelUserId = await ctx.db.insert("channelUsers", {
      workspaceId: ws,
      channelId,
      platform: "telegram",
      platformUserId: `pid-${tag}`,
      displayName: `Display ${tag}`,
      contact: `contact-${tag}@example.org`,
      blocked: false,
      trust: "paired",
      firstSeenAt: now,
      lastSeenAt: now,
    });
    const threadIds: Id<"threads">[] = [];
    for (const owner of [{ channelUserId }, { sessionId }]) {
      for (let k = 0; k < threads; k++) {
        const threadId = await ctx.db.insert("threads", {
          workspaceId: ws,
          ...owner,
          title: `${tag}-${k}`,
          messageCount: n,
          createdAt: now,
          updatedAt: now,
        });
        threadIds.push(threadId);
        for (let i = 0; i < n; i++)
          await ctx.db.insert("messages", {
            workspaceId: ws,
            threadId,
            role: i % 2 ? "assistant" : "user",
            text: `${tag} says ${k}.${i}`,
            status: "done",
            createdAt: now + i,
          });
        await ctx.db.insert("toolApprovals", {
          workspaceId: ws,
          threadId,
          toolRef: "skill:x",
          toolLabel: "x",
          targetKind: "skill",
          skillName: "x",
          inputJson: `{"q":"${tag}"}`,
          inputPreview: tag,
          audience: "pairedSender",
          reason: "grant_ask",
          status: "denied",
          createdAt: now,
          expiresAt: now,
        });
        await ctx.db.insert("invocationLog", {
          workspaceId: ws,
          targetKind: "skill",
          targetName: "x",
          callerKind: "agent",
          callerId: threadId,
          code: "OK",
          allowed: true,
          durationMs: 1,
          inputBytes: 1,
          outputBytes: 1,
          inputPreview: tag,
          at: now,
        });
      }
    }
    await ctx.db.insert("channelOutbox", { workspaceId: ws, channelUserId, text: `${tag} queued`, createdAt: now });
    await ctx.db.insert("pairingCodes", {
      workspaceId: ws,
      channelId,
      codeHash: `code-${tag}`,
      trust: "paired",
      createdBy: ownerId,
      createdAt: now,
      expiresAt: now,
      usedAt: now,
      usedBy: channelUserId,
    });
    await ctx.db.insert("voiceSessions", {
      workspaceId: ws,
      chatSessionId: sessionId,
      startedAt: now,
      grantedSeconds: 60,
      status: "ended",
    });
    return { channelUserId, sessionId, threadIds };
  });
}

/** Everything in the database that mentions `tag` (texts, titles, previews, names), by table. */
async function traces(t: T, tag: string) {
  return await t.run(async (ctx) => {
    const out: Record<string, number> = {};
    for (const table of [
      "threads",
      "messages",
      "toolApprovals",
      "invocationLog",
      "channelOutbox",
      "pairingCodes",
      "channelUsers",
      "chatSessions",
    ] as const) {
      const rows = await ctx.db.query(table).collect();
      out[table] = rows.filter((r) => JSON.stringify(r).includes(tag)).length;
    }
    out.voiceSessions = (await ctx.db.query("voiceSessions").collect()).length;
    return out;
  });
}

async function setup(t: T, slug: string) {
  const owner = await member(t, { workspace: slug, role: "owner" });
  const channelId = await t.run((ctx) =>
    ctx.db.insert("channelConfig", {
      workspaceId: owner.workspaceId,
      platform: "telegram",
      name: "tg",
      enabled: true,
      settings: {},
      createdAt: 0,
      updatedAt: 0,
    }),
  );
  return { ...owner, channelId };
}

describe("erasure", () => {
  test("a channel user: everything derived goes in batches of 3; a tombstone keeps the block; others untouched; audited by id", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    const b = await setup(t, "ws-b");
    const x = await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "xavier");
    await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "yolanda");
    await seedPerson(t, b.workspaceId, b.channelId, b.ownerId, "zed");
    const before = { y: await traces(t, "yolanda"), z: await traces(t, "zed") };

    await t.mutation(internal.privacy.erasure.start, {
      subject: { kind: "channelUser", id: x.channelUserId },
      keepBlocked: true,
      batchSize: 3,
    });
    // cut off at once: blocked, no name, no contact, no trust
    const cut = await t.run((ctx) => ctx.db.get(x.channelUserId));
    expect(cut).toMatchObject({ blocked: true });
    expect(cut?.displayName ?? cut?.contact ?? cut?.trust).toBeUndefined();
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    const steps = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
      (j) => j.name === "privacy/erasure:step",
    );
    // 2 threads × (5 messages + approval + invocation + thread) + outbox + pairing code = 18 rows → ≥ 6 batches
    expect(steps.length).toBeGreaterThanOrEqual(6);
    const xs = await traces(t, "xavier");
    // left: the web session (another person here) with 2 threads × (5 messages, approval, invocation), and the tombstone (platform id)
    expect(xs).toEqual({
      threads: 2,
      messages: 10,
      toolApprovals: 2,
      invocationLog: 2,
      channelOutbox: 0,
      pairingCodes: 0,
      channelUsers: 1,
      chatSessions: 1,
      voiceSessions: 3,
    });
    const kept = await t.run(async (ctx) =>
      (await ctx.db.query("threads").collect()).filter((th) => th.channelUserId === x.channelUserId),
    );
    expect(kept).toEqual([]);
    const tomb = await t.run((ctx) => ctx.db.get(x.channelUserId));
    expect(Object.keys(tomb!).sort()).toEqual([
      "_creationTime",
      "_id",
      "blocked",
      "channelId",
      "firstSeenAt",
      "lastSeenAt",
      "platform",
      "platformUserId",
      "workspaceId",
    ]);
    expect(await traces(t, "yolanda")).toEqual(before.y);
    expect(await traces(t, "zed")).toEqual(before.z);

    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    const rows = audit.filter((r) => r.action.startsWith("privacy.erase"));
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ["privacy.erase", x.channelUserId],
      ["privacy.erase.done", x.channelUserId],
    ]);
    expect(rows[1].after).toMatchObject({ rowsDeleted: 18, keptBlocked: true });
    expect(JSON.stringify(audit)).not.toMatch(/xavier/);
  });

  test("owner erases a web visitor: threads, messages, approvals, voice sessions and the session go", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    const x = await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "visitor", 3, 4);
    const other = await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "neighbour", 1, 2);
    await a.as.mutation(api.privacy.erasure.eraseChatSession, { sessionId: x.sessionId });
    expect((await t.run((ctx) => ctx.db.get(x.sessionId)))?.revokedAt).toBeDefined();
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await t.run((ctx) => ctx.db.get(x.sessionId))).toBeNull();
    const left = await t.run(async (ctx) => ({
      threads: (await ctx.db.query("threads").collect()).map((th) => th.sessionId ?? th.channelUserId),
      voice: (await ctx.db.query("voiceSessions").collect()).map((v) => v.chatSessionId),
    }));
    expect(left.threads.filter((id) => id === x.sessionId)).toEqual([]);
    expect(left.threads.filter((id) => id === x.channelUserId)).toHaveLength(3); // the channel identity is someone else
    expect(left.voice).toEqual([other.sessionId]);
    expect((await traces(t, "visitor")).messages).toBe(12); // only the channel user's 3 threads × 4
  });

  test("erase without block deletes the row; only owners may erase, only in their workspace", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await setup(t, "ws-a");
    const b = await setup(t, "ws-b");
    const x = await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "xena", 1, 2);
    const admin = await member(t, { workspace: "ws-a", role: "admin" });
    await expectCode(
      admin.as.mutation(api.privacy.erasure.eraseChannelUser, { channelUserId: x.channelUserId }),
      "FORBIDDEN",
    );
    await expectCode(
      b.as.mutation(api.privacy.erasure.eraseChannelUser, { channelUserId: x.channelUserId }),
      "FORBIDDEN",
    );
    await expectCode(b.as.mutation(api.privacy.erasure.eraseChatSession, { sessionId: x.sessionId }), "FORBIDDEN");
    expect((await traces(t, "xena")).channelUsers).toBe(1);
    await a.as.mutation(api.privacy.erasure.eraseChannelUser, { channelUserId: x.channelUserId });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await t.run((ctx) => ctx.db.get(x.channelUserId))).toBeNull();
  });
});

describe("export", () => {
  test("owner-only, paged, the person's own data; no reply address", async () => {
    const t = newT();
    const a = await setup(t, "ws-a");
    const b = await setup(t, "ws-b");
    const x = await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "xavier", 3, 5);
    await seedPerson(t, a.workspaceId, a.channelId, a.ownerId, "yolanda", 1, 1);
    const subject = { kind: "channelUser" as const, id: x.channelUserId };

    const person = await a.as.query(api.privacy.export.person, { subject });
    expect(person).toMatchObject({
      kind: "channelUser",
      platformUserId: "pid-xavier",
      displayName: "Display xavier",
      hasContact: true,
    });
    expect(JSON.stringify(person)).not.toContain("contact-xavier");

    const threads: string[] = [];
    const texts: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: any = await a.as.query(api.privacy.export.threads, {
        subject,
        paginationOpts: { numItems: 2, cursor },
      });
      expect(page.page.length).toBeLessThanOrEqual(2);
      for (const th of page.page) {
        threads.push(th.title);
        let mc: string | null = null;
        for (;;) {
          const m: any = await a.as.query(api.privacy.export.messages, {
            threadId: th._id,
            paginationOpts: { numItems: 2, cursor: mc },
          });
          texts.push(...m.page.map((r: { text: string }) => r.text));
          if (m.isDone) break;
          mc = m.continueCursor;
        }
      }
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    expect(threads.sort()).toEqual(["xavier-0", "xavier-1", "xavier-2"]);
    expect(texts).toHaveLength(15);
    expect(texts.every((s) => s.startsWith("xavier says"))).toBe(true);

    const web = await a.as.query(api.privacy.export.person, { subject: { kind: "chatSession", id: x.sessionId } });
    expect(web).toMatchObject({ kind: "chatSession", voiceSessions: [expect.objectContaining({ status: "ended" })] });

    const admin = await member(t, { workspace: "ws-a", role: "admin" });
    await expectCode(admin.as.query(api.privacy.export.person, { subject }), "FORBIDDEN");
    await expectCode(
      admin.as.query(api.privacy.export.threads, { subject, paginationOpts: { numItems: 5, cursor: null } }),
      "FORBIDDEN",
    );
    await expectCode(b.as.query(api.privacy.export.person, { subject }), "FORBIDDEN");
    await expectCode(
      b.as.query(api.privacy.export.threads, { subject, paginationOpts: { numItems: 5, cursor: null } }),
      "FORBIDDEN",
    );
    await expectCode(
      b.as.query(api.privacy.export.messages, {
        threadId: x.threadIds[0],
        paginationOpts: { numItems: 5, cursor: null },
      }),
      "FORBIDDEN",
    );
  });
});
