import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { appendChannelTurn } from "../../convex/chat/turns";
import { expectCode, member } from "../harness";
import { publicChat, session, thread } from "../chat/setup";
import { ACTIVITY_TEMPLATES } from "../../convex/agent/activityTemplates";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const PII = [
  /ada@example\.com/i,
  /7700/,
  /900123/,
  /Lovelace/,
  /secret plan/i,
  /tg-user-77/,
  /hello from telegram/i,
  /\+44/,
];

describe("activity feed privacy", () => {
  test("entries default to private; the public feed has only owner-published entries with {kind, summary, at} and no PII", async () => {
    const { t, owner } = await publicChat();
    // PII in a web message
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, {
      sessionToken: s,
      threadId: th,
      text: "my secret plan: mail ada@example.com or call +44 7700 900123",
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    // PII in channel-user metadata and message
    const cu = await t.run(async (ctx) => {
      const channelId = await ctx.db.insert("channelConfig", {
        workspaceId: owner.workspaceId,
        platform: "twilio",
        name: "sms",
        enabled: true,
        settings: {},
        createdAt: 0,
        updatedAt: 0,
      });
      return await ctx.db.insert("channelUsers", {
        workspaceId: owner.workspaceId,
        channelId,
        platform: "twilio",
        platformUserId: "tg-user-77",
        displayName: "Ada Lovelace",
        contact: "+447700900123",
        blocked: false,
        firstSeenAt: 0,
        lastSeenAt: 0,
      });
    });
    const turn = await t.run((ctx) =>
      appendChannelTurn(ctx, {
        workspaceId: owner.workspaceId,
        channelUserId: cu,
        text: "hello from telegram, ada@example.com",
      }),
    );
    if (!turn.ok) throw new Error(turn.code);
    await t.action(internal.agent.run.handleChannelMessage, {
      channelUserId: cu,
      assistantMessageId: turn.assistantMessageId,
    });

    // before publishing: everything private, the feed is empty
    const all = await owner.as.query(api.agent.activity.list, { paginationOpts: { numItems: 50, cursor: null } });
    expect(all.page.length).toBeGreaterThan(0);
    expect(all.page.every((e) => e.visibility === "private")).toBe(true);
    expect(
      (await t.query(api.agent.activity.publicFeed, { paginationOpts: { numItems: 50, cursor: null } })).page,
    ).toEqual([]);

    // the owner's private view keeps no message text or channel-user data either
    const ownerText = JSON.stringify(
      await owner.as.query(api.agent.activity.list, { paginationOpts: { numItems: 50, cursor: null } }),
    );
    expect(ownerText).not.toMatch(/secret plan|hello from telegram|ada@example|Lovelace|\+447700900123/);
    // a viewer cannot publish; a non-publishable kind cannot be published
    const viewer = await member(t, { workspace: "default", role: "viewer" });
    const reply = all.page.find((e) => e.kind === "agent.reply")!;
    await expectCode(
      viewer.as.mutation(api.agent.activity.setVisibility, { activityId: reply._id, visibility: "public" }),
      "FORBIDDEN",
    );
    const fb = all.page.find((e) => !ACTIVITY_TEMPLATES[e.kind as keyof typeof ACTIVITY_TEMPLATES].publishable);
    if (fb)
      await expectCode(
        owner.as.mutation(api.agent.activity.setVisibility, { activityId: fb._id, visibility: "public" }),
        "ACTIVITY_NOT_PUBLISHABLE",
      );

    // the owner publishes everything publishable — and a row someone wrote PII into by hand
    await t.run((ctx) =>
      ctx.db.patch(reply._id, { summary: "Ada Lovelace (+44 7700 900123) asked about her secret plan" }),
    );
    for (const e of all.page) {
      if (ACTIVITY_TEMPLATES[e.kind as keyof typeof ACTIVITY_TEMPLATES].publishable) {
        await owner.as.mutation(api.agent.activity.setVisibility, { activityId: e._id, visibility: "public" });
      }
    }
    const feed = await t.query(api.agent.activity.publicFeed, { paginationOpts: { numItems: 50, cursor: null } });
    expect(feed.page.length).toBeGreaterThan(0);
    for (const e of feed.page) expect(Object.keys(e).sort()).toEqual(["at", "kind", "summary"]);
    const text = JSON.stringify(feed);
    for (const re of PII) expect(text).not.toMatch(re);
    expect(feed.page.map((e) => e.summary)).toEqual(
      expect.arrayContaining(["Answered a question in web chat", "Answered a question by SMS/WhatsApp"]),
    );
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.some((a) => a.action === "activity.setVisibility")).toBe(true);
  });

  test("the public feed is bounded and serves only the public workspace", async () => {
    const { t, owner } = await publicChat();
    const other = await member(t, { workspace: "ws-b" });
    await t.run(async (ctx) => {
      for (let i = 0; i < 70; i++) {
        await ctx.db.insert("activityLog", {
          workspaceId: owner.workspaceId,
          kind: "agent.reply",
          summary: "x",
          visibility: "public",
          channel: "web",
          at: i,
        });
      }
      await ctx.db.insert("activityLog", {
        workspaceId: other.workspaceId,
        kind: "agent.reply",
        summary: "B",
        visibility: "public",
        channel: "telegram",
        at: 1000,
      });
    });
    const feed = await t.query(api.agent.activity.publicFeed, { paginationOpts: { numItems: 1000, cursor: null } });
    expect(feed.page).toHaveLength(50);
    expect(feed.page.every((e) => e.summary === "Answered a question in web chat")).toBe(true);
  });
});
