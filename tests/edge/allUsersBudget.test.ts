// @vitest-environment node
/**
 * One admission budget per workspace for all users combined (seed 002 "Global: all users
 * combined, default 200/min"): web chat, voice transcripts, every channel and MCP clients draw
 * from the same `allUsersGlobal` bucket. Over it: 429 + Retry-After over HTTP, each vendor's
 * polite equivalent on channels. It fails closed and is configurable per workspace.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { LIMIT_DEFAULTS } from "../../convex/lib/limitsCatalog";
import { NOTICE_SLOW_DOWN } from "../../convex/channels/vendors";
import type { Platform } from "../../convex/channels/platforms";
import { newT, type T } from "../harness";
import { MockVendor, drain, post as postWebhook, setupChannel } from "../channels/helpers";
import { KITS } from "../channels/kits";
import { initialize, mint, post as postMcp } from "../mcp/helpers";
import { session, thread } from "../chat/setup";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => await mock.stop());
afterEach(() => mock.reset());

const kit = (p: Platform) => KITS.find((k) => k.platform === p)!;
const hits = async (t: T) =>
  (await t.run((ctx) => ctx.db.query("securityEvents").collect())).filter((e) => e.detail === "limit=allUsersGlobal");

/** The public workspace ("default") with channels and an MCP client, its all-users budget set to `rate`/min. */
async function world(rate: number) {
  const t = newT();
  const tw = await setupChannel(t, "twilio", { workspace: "default" });
  const tg = await setupChannel(t, "telegram", { workspace: "default" });
  const dc = await setupChannel(t, "discord", { workspace: "default" });
  const mcp = await mint(tw, []);
  await tw.as.mutation(api.limits.manage.set, { name: "allUsersGlobal", rate, periodMs: 60_000 });
  const chat = await session(t);
  const th = await thread(t, chat);
  return { t, tw, tg, dc, mcpToken: mcp.token, chat, th };
}

const chatSend = (t: T, sessionToken: string, threadId: string, text = "hi") =>
  t.fetch("/chat/send", {
    method: "POST",
    headers: { authorization: `Bearer ${sessionToken}`, "content-type": "application/json" },
    body: JSON.stringify({ threadId, text }),
  });
const mcpInit = (t: T, token: string) => postMcp(t, initialize(), { authorization: `Bearer ${token}` });

describe("global budget: all users combined, per workspace", () => {
  test("default 200/min, listed for SyncBoard with its human name", async () => {
    expect(LIMIT_DEFAULTS.allUsersGlobal).toMatchObject({ rate: 200, periodMs: 60_000 });
    const { t, tw } = await world(200);
    await tw.as.mutation(api.limits.manage.reset, { name: "allUsersGlobal" });
    const rows = await tw.as.query(api.limits.manage.list, {});
    expect(rows.find((r) => r.name === "allUsersGlobal")).toMatchObject({
      rate: 200,
      label: expect.stringMatching(/all users/i),
    });
    await drain(t);
  });

  test("web chat, a channel and an MCP client share one bucket; each path is refused when it is spent", async () => {
    const { t, tw, tg, dc, mcpToken, chat, th } = await world(3);
    // three different users, three different entry paths: the budget (3) is spent
    expect((await chatSend(t, chat, th)).status).toBe(202);
    expect((await postWebhook(t, tw.path, await kit("twilio").valid(tw, 1))).status).toBe(200);
    expect((await mcpInit(t, mcpToken)).status).toBe(200);

    // web chat over HTTP: 429 + Retry-After; over the Convex API: RATE_LIMITED with retryAfterMs
    const webOwn = await chatSend(t, chat, th, "again");
    expect(webOwn.status).toBe(429);
    expect(Number(webOwn.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await webOwn.json()).toEqual({ error: "RATE_LIMITED" });
    const other = await session(t);
    const otherThread = await thread(t, other);
    expect(
      await t.mutation(api.chat.threads.send, { sessionToken: other, threadId: otherThread, text: "new visitor" }),
    ).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });

    // Twilio: 429 + Retry-After (no SMS spent)
    const sms = await postWebhook(t, tw.path, await kit("twilio").valid(tw, 2));
    expect(sms.status).toBe(429);
    expect(Number(sms.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Telegram: 200 (it retries non-2xx) and one polite reply
    expect((await postWebhook(t, tg.path, await kit("telegram").valid(tg, 3))).status).toBe(200);
    // Discord: an ephemeral notice as the interaction response
    const d = await postWebhook(t, dc.path, await kit("discord").valid(dc, 4));
    expect(await d.json()).toEqual({ type: 4, data: { content: NOTICE_SLOW_DOWN, flags: 64 } });

    // MCP: 429 + Retry-After
    const m = await mcpInit(t, mcpToken);
    expect(m.status).toBe(429);
    expect(Number(m.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await m.json()).toEqual({ error: "RATE_LIMITED" });

    await drain(t);
    // nothing past the budget reached the agent: one web-chat turn, one SMS turn
    const jobs = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).map((j) => j.name);
    expect(jobs.filter((n) => n === "agent/run:handleChannelMessage")).toHaveLength(1);
    expect(
      mock.requests.filter((r) => r.url.startsWith("/telegram/") && JSON.parse(r.body).text === NOTICE_SLOW_DOWN),
    ).toHaveLength(1);
    // every refusal is a security event naming the limit
    expect((await hits(t)).length).toBeGreaterThanOrEqual(6);
  }, 60_000);

  test("voice transcripts count as web chat", async () => {
    process.env.ELEVENLABS_API_KEY = "xi-test";
    process.env.ELEVENLABS_AGENT_ID = "agent_test1";
    process.env.WARDEN_ELEVENLABS_API_BASE = mock.base + "/eleven";
    try {
      const { t, chat, th } = await world(1);
      const v = await t.mutation(api.voice.sessions.start, { sessionToken: chat });
      if (!v.ok) throw new Error("voice refused");
      expect(
        await t.mutation(api.voice.sessions.submitTranscript, {
          sessionToken: chat,
          voiceSessionId: v.voiceSessionId,
          threadId: th,
          text: "one",
        }),
      ).toMatchObject({ ok: true });
      expect(
        await t.mutation(api.voice.sessions.submitTranscript, {
          sessionToken: chat,
          voiceSessionId: v.voiceSessionId,
          threadId: th,
          text: "two",
        }),
      ).toMatchObject({
        ok: false,
        code: "RATE_LIMITED",
      });
      // let the agent turn and the signed-URL attempt finish (the grant's end job stays pending)
      await new Promise((r) => setTimeout(r, 100));
      await t.finishInProgressScheduledFunctions();
    } finally {
      delete process.env.ELEVENLABS_API_KEY;
      delete process.env.ELEVENLABS_AGENT_ID;
      delete process.env.WARDEN_ELEVENLABS_API_BASE;
    }
  }, 30_000);

  test("per workspace: another workspace's traffic does not spend it", async () => {
    const { t, tw, chat, th } = await world(2);
    const other = await setupChannel(t, "twilio", { workspace: "other" });
    for (let n = 10; n < 15; n++)
      expect((await postWebhook(t, other.path, await kit("twilio").valid(other, n))).status).toBe(200);
    expect((await chatSend(t, chat, th)).status).toBe(202);
    expect((await postWebhook(t, tw.path, await kit("twilio").valid(tw, 1))).status).toBe(200);
    expect((await postWebhook(t, tw.path, await kit("twilio").valid(tw, 2))).status).toBe(429);
    await drain(t);
  }, 60_000);

  test("fails closed: an unusable setting refuses every path (503 + Retry-After), it does not let traffic through", async () => {
    const { t, tw, mcpToken, chat, th } = await world(5);
    await t.run(async (ctx) => {
      const row = (await ctx.db.query("rateLimitConfig").collect()).find((r) => r.name === "allUsersGlobal")!;
      await ctx.db.patch(row._id, { rate: 0 });
    });
    const web = await chatSend(t, chat, th);
    expect(web.status).toBe(503);
    expect(await web.json()).toEqual({ error: "LIMIT_UNAVAILABLE" });
    expect(web.headers.get("Retry-After")).toBeTruthy();
    const sms = await postWebhook(t, tw.path, await kit("twilio").valid(tw, 1));
    expect(sms.status).toBe(429);
    const m = await mcpInit(t, mcpToken);
    expect(m.status).toBe(503);
    expect(m.headers.get("Retry-After")).toBeTruthy();
    await drain(t);
    const jobs = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).map((j) => j.name);
    expect(jobs.filter((n) => n === "agent/run:handleChannelMessage")).toHaveLength(0);
  }, 60_000);

  test("an MCP client alone can spend the budget web chat needs (one bucket, not one per path)", async () => {
    const { t, mcpToken, chat, th } = await world(1);
    expect((await mcpInit(t, mcpToken)).status).toBe(200);
    expect((await chatSend(t, chat, th)).status).toBe(429);
    await drain(t);
  }, 30_000);
});
