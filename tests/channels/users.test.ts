// @vitest-environment node
/** Channel users: verified ids, per-user limits per platform, blocking, and what SyncBoard sees. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { expectCode, member, newT, type T } from "../harness";
import { MockVendor, drain, post, setupChannel } from "./helpers";
import { KITS } from "./kits";
import type { Platform } from "../../convex/channels/platforms";
import { NOTICE_SLOW_DOWN, NOTICE_UNAVAILABLE } from "../../convex/channels/vendors";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});
afterEach(() => mock.reset());

const kit = (p: Platform) => KITS.find((k) => k.platform === p)!;
const handoffs = async (t: T) =>
  (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
    (j) => j.name === "agent/run:handleChannelMessage",
  );
const limitHits = async (t: T) =>
  (await t.run((ctx) => ctx.db.query("securityEvents").collect())).filter(
    (e) => e.code === "RATE_LIMITED" && e.detail === "limit=channelUser",
  );

/** A channel whose per-user limit is 2/min (an admin override, read at call time). */
async function limited(platform: Platform) {
  const t = newT();
  const ch = await setupChannel(t, platform);
  await ch.as.mutation(api.limits.manage.set, { name: "channelUser", rate: 2, periodMs: 60_000 });
  return { t, ch };
}

describe("per-user limit (configurable; 20/min default)", () => {
  test("Twilio: 429 + Retry-After past the limit; every hit logged; nothing queued", async () => {
    const { t, ch } = await limited("twilio");
    for (const n of [1, 2]) expect((await post(t, ch.path, await kit("twilio").valid(ch, n))).status).toBe(200);
    const res = await post(t, ch.path, await kit("twilio").valid(ch, 3));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await res.json()).toEqual({ error: "RATE_LIMITED" });
    expect((await post(t, ch.path, await kit("twilio").valid(ch, 4))).status).toBe(429);
    await drain(t);
    expect(await handoffs(t)).toHaveLength(2);
    expect(await limitHits(t)).toHaveLength(2);
    const replies = mock.requests.filter((r) => r.url.includes("/Messages.json"));
    expect(replies).toHaveLength(2); // the two admitted messages only; no "slow down" SMS
  });

  test("Telegram: 200 (Telegram retries non-2xx) and one polite reply per window", async () => {
    const { t, ch } = await limited("telegram");
    for (const n of [1, 2, 3, 4, 5])
      expect((await post(t, ch.path, await kit("telegram").valid(ch, n))).status).toBe(200);
    await drain(t);
    expect(await handoffs(t)).toHaveLength(2);
    expect(await limitHits(t)).toHaveLength(3);
    const notices = mock.requests.filter((r) => JSON.parse(r.body).text === NOTICE_SLOW_DOWN);
    expect(notices).toHaveLength(1);
  });

  test("Slack: 200 and one polite reply per window", async () => {
    const { t, ch } = await limited("slack");
    for (const n of [1, 2, 3, 4]) expect((await post(t, ch.path, await kit("slack").valid(ch, n))).status).toBe(200);
    await drain(t);
    expect(await handoffs(t)).toHaveLength(2);
    expect(mock.requests.filter((r) => JSON.parse(r.body).text === NOTICE_SLOW_DOWN)).toHaveLength(1);
  });

  test("Discord: an ephemeral notice as the interaction response", async () => {
    const { t, ch } = await limited("discord");
    for (const n of [1, 2]) await post(t, ch.path, await kit("discord").valid(ch, n));
    const res = await post(t, ch.path, await kit("discord").valid(ch, 3));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 4, data: { content: NOTICE_SLOW_DOWN, flags: 64 } });
    await drain(t);
    expect(await handoffs(t)).toHaveLength(2);
  });

  test("Resend: 200 and dropped (no backscatter mail), hit logged", async () => {
    const { t, ch } = await limited("resend");
    for (const n of [1, 2, 3]) expect((await post(t, ch.path, await kit("resend").valid(ch, n))).status).toBe(200);
    await drain(t);
    expect(await handoffs(t)).toHaveLength(2);
    expect(await limitHits(t)).toHaveLength(1);
    expect(mock.requests.filter((r) => r.url === "/resend/emails")).toHaveLength(2);
  });

  test("the limit is per user: another user of the same channel is not affected", async () => {
    const { t, ch } = await limited("telegram");
    const { telegramUpdate, signTelegram } = await import("./helpers");
    for (const n of [1, 2, 3]) await post(t, ch.path, signTelegram(telegramUpdate(n, 1111, "a")));
    await post(t, ch.path, signTelegram(telegramUpdate(10, 2222, "b")));
    await drain(t);
    expect(await handoffs(t)).toHaveLength(3);
  });

  test("default is 20/min", async () => {
    const t = newT();
    const ch = await setupChannel(t, "twilio");
    const statuses: number[] = [];
    for (let n = 1; n <= 21; n++) statuses.push((await post(t, ch.path, await kit("twilio").valid(ch, n))).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses[20]).toBe(429);
    await drain(t);
  }, 60_000);
});

describe("blocking", () => {
  test("blocked users are dropped with a logged event; unblock restores; admin-only and audited", async () => {
    const t = newT();
    const ch = await setupChannel(t, "discord");
    await post(t, ch.path, await kit("discord").valid(ch, 1));
    await drain(t);
    const [user] = await ch.as.query(api.channels.users.list, { channelId: ch.channelId });

    const viewer = await member(t, { role: "viewer" });
    await expectCode(viewer.as.mutation(api.channels.users.block, { channelUserId: user._id }), "FORBIDDEN");
    const admin = await member(t, { role: "admin" });
    await admin.as.mutation(api.channels.users.block, { channelUserId: user._id });

    const res = await post(t, ch.path, await kit("discord").valid(ch, 2));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 4, data: { content: NOTICE_UNAVAILABLE, flags: 64 } });
    await drain(t);
    expect(await handoffs(t)).toHaveLength(1);
    const blockedEvents = (await t.run((ctx) => ctx.db.query("securityEvents").collect())).filter(
      (e) => e.code === "CHANNEL_USER_BLOCKED",
    );
    expect(blockedEvents).toHaveLength(1);
    expect(blockedEvents[0].workspaceId).toBe(ch.workspaceId);

    await admin.as.mutation(api.channels.users.unblock, { channelUserId: user._id });
    await post(t, ch.path, await kit("discord").valid(ch, 3));
    await drain(t);
    expect(await handoffs(t)).toHaveLength(2);

    const audit = (await t.run((ctx) => ctx.db.query("auditLog").collect())).filter((a) =>
      a.action.startsWith("channelUser."),
    );
    expect(audit.map((a) => a.action)).toEqual(["channelUser.block", "channelUser.unblock"]);
    expect(audit[0].actorId).toBe(admin.ownerId);
  });

  test("another workspace cannot list or block this workspace's users", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await post(t, ch.path, await kit("telegram").valid(ch, 1));
    await drain(t);
    const [user] = await t.run((ctx) => ctx.db.query("channelUsers").collect());
    const outsider = await member(t, { role: "owner", workspace: "ws-b" });
    await expectCode(outsider.as.mutation(api.channels.users.block, { channelUserId: user._id }), "FORBIDDEN");
    await expectCode(outsider.as.query(api.channels.users.list, { channelId: ch.channelId }), "FORBIDDEN");
    expect(await outsider.as.query(api.channels.users.list, {})).toEqual([]);
  });

  test("users are keyed by the verified id: the same person twice is one row; phone/e-mail ids are pseudonyms", async () => {
    const t = newT();
    const tw = await setupChannel(t, "twilio");
    await post(t, tw.path, await kit("twilio").valid(tw, 1));
    await post(t, tw.path, await kit("twilio").valid(tw, 2));
    await drain(t);
    const rows = await t.run((ctx) => ctx.db.query("channelUsers").collect());
    expect(rows).toHaveLength(1);
    expect(rows[0].platformUserId).toMatch(/^h:[0-9a-f]{40}$/);
    expect(rows[0].contact).toBe("+15557654321");
    const listed = await tw.as.query(api.channels.users.list, {});
    expect(listed[0]).not.toHaveProperty("contact");
    expect(listed[0]).not.toHaveProperty("replyTarget");
    expect(listed[0].hasContact).toBe(true);
    expect(JSON.stringify(listed)).not.toContain("5557654321");
  });
});
