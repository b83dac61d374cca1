// @vitest-environment node
/**
 * End to end: a signed webhook → checker → channel user → agent (offline provider) → reply sent
 * through the platform API to a mock vendor server on 127.0.0.1. Plus vendor failures and retries.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { internal } from "../../convex/_generated/api";
import { newT, type T } from "../harness";
import {
  MockVendor,
  RESEND_KEY,
  SLACK_BOT,
  TG_BOT,
  TWILIO_NUMBER,
  TWILIO_SID,
  TWILIO_TOKEN,
  DISCORD_APP,
  drain,
  post,
  setupChannel,
  signResend,
  resendReceived,
} from "./helpers";
import { KITS } from "./kits";
import type { Platform } from "../../convex/channels/platforms";
import type { Id } from "../../convex/_generated/dataModel";

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
const OFFLINE = /^Offline model \(not a language model\): you said “ping (telegram|twilio|slack|discord|resend)”/;

async function run(platform: Platform) {
  const t = newT();
  const ch = await setupChannel(t, platform);
  const res = await post(t, ch.path, await kit(platform).valid(ch, 1, `ping ${platform}`));
  expect(res.status).toBe(200);
  await drain(t);
  return { t, ch };
}

/** A reply row in the outbox, as channels/delivery:queueReply writes it (without scheduling the send). */
async function queued(t: T, channelUserId: Id<"channelUsers">, text: string) {
  return await t.run(async (ctx) => {
    const u = (await ctx.db.get(channelUserId))!;
    return await ctx.db.insert("channelOutbox", {
      workspaceId: u.workspaceId,
      channelUserId,
      text,
      createdAt: Date.now(),
    });
  });
}

async function summary(t: T) {
  return await t.run((ctx) => ctx.db.query("channelMessageSummary").collect());
}

describe("signed webhook → agent → reply captured by the mock vendor", () => {
  test("Telegram: sendMessage with the bot token to the verified chat id", async () => {
    const { t } = await run("telegram");
    expect(mock.requests).toHaveLength(1);
    const r = mock.requests[0];
    expect(r.method).toBe("POST");
    expect(r.url).toBe(`/telegram/bot${TG_BOT}/sendMessage`);
    const body = JSON.parse(r.body);
    expect(body.chat_id).toBe("4242");
    expect(body.text).toMatch(OFFLINE);
    const [row] = await summary(t);
    expect(row).toMatchObject({ inbound: 1, outbound: 1 });
  });

  test("Slack: chat.postMessage with the bot token (Bearer) to the event's channel", async () => {
    await run("slack");
    expect(mock.requests).toHaveLength(1);
    const r = mock.requests[0];
    expect(r.url).toBe("/slack/api/chat.postMessage");
    expect(r.headers.authorization).toBe(`Bearer ${SLACK_BOT}`);
    const body = JSON.parse(r.body);
    expect(body.channel).toBe("D0TESTDM1");
    expect(body.text).toMatch(OFFLINE);
  });

  test("Discord: deferred response, then an interaction follow-up with the interaction token", async () => {
    await run("discord");
    expect(mock.requests).toHaveLength(1);
    const r = mock.requests[0];
    expect(r.url).toBe(`/discord/api/v10/webhooks/${DISCORD_APP}/itok_${"x".repeat(40)}`);
    expect(r.headers.authorization).toBeUndefined();
    const body = JSON.parse(r.body);
    expect(body.content).toMatch(OFFLINE);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  test("Twilio: Messages via the twilio package (Basic auth, form body) from the number the user wrote to", async () => {
    await run("twilio");
    expect(mock.requests).toHaveLength(1);
    const r = mock.requests[0];
    expect(r.method).toBe("POST");
    expect(r.url).toBe(`/twilio/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`);
    expect(r.headers.authorization).toBe("Basic " + Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString("base64"));
    expect(r.headers["user-agent"]).toMatch(/^twilio-node\//);
    const form = new URLSearchParams(r.body);
    expect(form.get("To")).toBe("+15557654321");
    expect(form.get("From")).toBe(TWILIO_NUMBER);
    expect(form.get("Body")).toMatch(OFFLINE);
  });

  test("Resend: e-mail reply to the verified sender, from the configured address", async () => {
    await run("resend");
    expect(mock.requests).toHaveLength(1);
    const r = mock.requests[0];
    expect(r.url).toBe("/resend/emails");
    expect(r.headers.authorization).toBe(`Bearer ${RESEND_KEY}`);
    const body = JSON.parse(r.body);
    expect(body.to).toEqual(["erin@example.org"]);
    expect(body.from).toBe("Warden Bot <bot@warden.test>");
    expect(body.subject).toBe("Re: Question");
    expect(body.text).toMatch(OFFLINE);
  });

  test("Resend without a body in the webhook: the text is fetched from the Received emails API first", async () => {
    const t = newT();
    const ch = await setupChannel(t, "resend");
    const res = await post(t, ch.path, signResend(resendReceived("email-77-0000", "erin@example.org"), "msg_77"));
    expect(res.status).toBe(200);
    await drain(t);
    expect(mock.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /resend/emails/receiving/email-77-0000",
      "POST /resend/emails",
    ]);
    expect(mock.requests[0].headers.authorization).toBe(`Bearer ${RESEND_KEY}`);
    const user = (await t.run((ctx) => ctx.db.query("messages").collect())).find((m) => m.role === "user");
    expect(user?.text).toBe("Hello from email"); // quoted history dropped
  });
});

describe("vendor failures", () => {
  test("5xx is retried with backoff (max 3 attempts), logged with code + status, no PII", async () => {
    mock.respond = () => ({ status: 503, body: { ok: false, description: "down for +15557654321" } });
    const { t } = await run("twilio");
    expect(mock.requests).toHaveLength(3);
    const jobs = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
      (j) => j.name === "channels/replies:send",
    );
    // the agent run makes the first attempt itself; the retries are scheduled with growing delays
    expect(jobs.map((j) => (j.args[0] as { attempt?: number }).attempt ?? 1)).toEqual([2, 3]);
    const delays = jobs.map((j) => j.scheduledTime - j._creationTime);
    expect(delays[0]).toBeGreaterThanOrEqual(2000 - 5);
    expect(delays[1]).toBeGreaterThanOrEqual(4000 - 5);
    const log = (await t.run((ctx) => ctx.db.query("activityLog").collect())).filter(
      (e) => e.kind === "channel.vendor_error",
    );
    expect(log).toHaveLength(3);
    expect(log.map((e) => e.meta?.willRetry)).toEqual([true, true, false]);
    expect(log.every((e) => e.meta?.code === "VENDOR_ERROR" && e.meta?.status === 503)).toBe(true);
    expect(JSON.stringify(log)).not.toMatch(/5557654321|Offline model/);
    const [row] = await summary(t);
    expect(row.outbound).toBe(0);
  }, 30_000);

  test("4xx is never retried", async () => {
    mock.respond = () => ({
      status: 400,
      body: { ok: false, error_code: 400, description: "Bad Request: chat not found" },
    });
    const { t } = await run("telegram");
    expect(mock.requests).toHaveLength(1);
    const log = (await t.run((ctx) => ctx.db.query("activityLog").collect())).filter(
      (e) => e.kind === "channel.vendor_error",
    );
    expect(log).toHaveLength(1);
    expect(log[0].meta).toMatchObject({ code: "VENDOR_ERROR", status: 400, willRetry: false });
  });

  test("Slack's 200 {ok:false} is a failure; 429 honours Retry-After", async () => {
    mock.respond = () => ({ status: 200, body: { ok: false, error: "channel_not_found" } });
    const a = await run("slack");
    expect(mock.requests).toHaveLength(1);
    const logA = (await a.t.run((ctx) => ctx.db.query("activityLog").collect())).filter(
      (e) => e.kind === "channel.vendor_error",
    );
    expect(logA[0].meta).toMatchObject({ status: 400, willRetry: false });

    mock.reset();
    mock.respond = () => ({ status: 429, body: { ok: false, error: "ratelimited" }, headers: { "Retry-After": "7" } });
    const t = newT();
    const ch = await setupChannel(t, "slack");
    await post(t, ch.path, await kit("slack").valid(ch, 2, "again"));
    // Let the first attempt run, then look at the retry it scheduled (not waiting 7 s for it).
    for (let i = 0; i < 100 && mock.requests.length === 0; i++) {
      await t.finishInProgressScheduledFunctions();
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.finishInProgressScheduledFunctions();
    const jobs = (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
      (j) => j.name === "channels/replies:send",
    );
    const retry = jobs.find((j) => (j.args[0] as { attempt?: number }).attempt === 2);
    expect(retry).toBeDefined();
    expect(retry!.scheduledTime - retry!._creationTime).toBeGreaterThanOrEqual(7000 - 5);
    await t.run(async (ctx) => {
      if (retry && retry.state.kind === "pending") await ctx.scheduler.cancel(retry._id);
    });
  });

  test("replies to a blocked user or a disabled channel are not sent", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await post(t, ch.path, await kit("telegram").valid(ch, 5, "first"));
    await drain(t);
    expect(mock.requests).toHaveLength(1);
    const [user] = await t.run((ctx) => ctx.db.query("channelUsers").collect());
    await t.run((ctx) => ctx.db.patch(user._id, { blocked: true }));
    await t.action(internal.channels.replies.send, { outboxId: await queued(t, user._id, "late reply") });
    await t.run((ctx) => ctx.db.patch(user._id, { blocked: false }));
    await t.run((ctx) => ctx.db.patch(ch.channelId, { enabled: false }));
    await t.action(internal.channels.replies.send, { outboxId: await queued(t, user._id, "late reply") });
    expect(mock.requests).toHaveLength(1);
  });

  test("an expired Discord interaction token is not used; logged as CHANNEL_NOT_CONFIGURED", async () => {
    const t = newT();
    const ch = await setupChannel(t, "discord");
    await post(t, ch.path, await kit("discord").valid(ch, 6, "hi"));
    await drain(t);
    mock.reset();
    const [user] = await t.run((ctx) => ctx.db.query("channelUsers").collect());
    await t.run((ctx) => ctx.db.patch(user._id, { replyTargetExpiresAt: Date.now() - 1 }));
    await t.action(internal.channels.replies.send, { outboxId: await queued(t, user._id, "too late") });
    expect(mock.requests).toHaveLength(0);
    const log = (await t.run((ctx) => ctx.db.query("activityLog").collect())).filter(
      (e) => e.kind === "channel.vendor_error",
    );
    expect(log.at(-1)?.meta).toMatchObject({ code: "CHANNEL_NOT_CONFIGURED", willRetry: false });
  });

  test("vendor base URL overrides must be https or loopback http", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await post(t, ch.path, await kit("telegram").valid(ch, 7, "hi"));
    const saved = process.env.WARDEN_TELEGRAM_API_BASE;
    process.env.WARDEN_TELEGRAM_API_BASE = "http://api.telegram.example";
    try {
      await drain(t);
    } finally {
      process.env.WARDEN_TELEGRAM_API_BASE = saved;
    }
    expect(mock.requests).toHaveLength(0);
    const log = (await t.run((ctx) => ctx.db.query("activityLog").collect())).filter(
      (e) => e.kind === "channel.vendor_error",
    );
    expect(log[0].meta).toMatchObject({ code: "CHANNEL_NOT_CONFIGURED" });
  });
});
