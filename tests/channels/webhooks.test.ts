// @vitest-environment node
/**
 * POST /webhooks/{platform}/{channelId} for all five platforms: verification, payload schemas,
 * replay, unknown/disabled channels, logging of rejections, and the control messages.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { newT, type T } from "../harness";
import {
  BASE,
  MockVendor,
  drain,
  post,
  setupChannel,
  signDiscord,
  signSlack,
  signTwilio,
  twilioForm,
  type SignedRequest,
} from "./helpers";
import { KITS } from "./kits";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});
afterEach(() => mock.reset());

async function userMessages(t: T) {
  const all = await t.run((ctx) => ctx.db.query("messages").collect());
  return all.filter((m) => m.role === "user");
}
async function handoffs(t: T) {
  const jobs = await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
  return jobs.filter((j) => j.name === "agent/run:handleChannelMessage");
}
async function rejections(t: T, workspaceId: Id<"workspaces">, code: string) {
  return await t.run(async (ctx) => ({
    events: (await ctx.db.query("securityEvents").collect()).filter(
      (e) => e.workspaceId === workspaceId && e.code === code,
    ),
    invocations: (await ctx.db.query("invocationLog").collect()).filter((e) => e.code === code && !e.allowed),
    activity: (await ctx.db.query("activityLog").collect()).filter(
      (e) => e.kind === "webhook.rejected" && e.summary.includes(code),
    ),
  }));
}
async function expect401(t: T, path: string, r: SignedRequest, extra: Record<string, string> = {}) {
  const res = await post(t, path, r, extra);
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ error: "WEBHOOK_SIGNATURE_INVALID" });
}

describe.each(KITS)("$platform webhooks", (kit) => {
  test("valid → 200, processed once (user message recorded, one hand-off)", async () => {
    const t = newT();
    const ch = await setupChannel(t, kit.platform);
    const res = await post(t, ch.path, await kit.valid(ch, 1));
    expect(res.status).toBe(200);
    if (kit.platform === "twilio") {
      expect(res.headers.get("content-type")).toMatch(/^text\/xml/);
      expect(await res.text()).toBe("<Response/>");
    } else if (kit.platform === "discord") {
      expect(await res.json()).toEqual({ type: 5 });
    } else {
      expect(await res.json()).toEqual({ ok: true });
    }
    await drain(t);
    expect(await handoffs(t)).toHaveLength(1);
    expect(await userMessages(t)).toHaveLength(1);
    const users = await t.run((ctx) => ctx.db.query("channelUsers").collect());
    expect(users).toHaveLength(1);
  });

  test("tampered body, wrong secret, missing and malformed headers → 401, nothing processed, logged", async () => {
    const t = newT();
    const ch = await setupChannel(t, kit.platform);
    let n = 10;
    await expect401(t, ch.path, await kit.tampered(ch, n++));
    await expect401(t, ch.path, await kit.wrongSecret(ch, n++));
    await expect401(t, ch.path, await kit.missingHeaders(ch, n++));
    const malformed = await kit.malformedHeaders(ch, n++);
    for (const r of malformed) await expect401(t, ch.path, r);
    const total = 3 + malformed.length;

    await drain(t);
    expect(await handoffs(t)).toHaveLength(0);
    expect(await t.run((ctx) => ctx.db.query("channelUsers").collect())).toHaveLength(0);
    expect(await t.run((ctx) => ctx.db.query("webhookDeliveries").collect())).toHaveLength(0);
    const logged = await rejections(t, ch.workspaceId, "WEBHOOK_SIGNATURE_INVALID");
    expect(logged.events).toHaveLength(total);
    expect(logged.invocations).toHaveLength(total);
    expect(logged.activity).toHaveLength(total);
    // Logged without payload: no message text, no ids from the body.
    const dump = JSON.stringify(logged);
    for (const needle of ["hello", "hellO", "4242", "U0TESTUSER", "erin@", "+1555765", "222222222222222222"]) {
      expect(dump).not.toContain(needle);
    }
  });

  if (kit.stale) {
    test("stale timestamp → 401", async () => {
      const t = newT();
      const ch = await setupChannel(t, kit.platform);
      await expect401(t, ch.path, await kit.stale!(ch, 20));
      await drain(t);
      expect(await handoffs(t)).toHaveLength(0);
    });
  }

  test("replay of the same delivery → acknowledged, processed once", async () => {
    const t = newT();
    const ch = await setupChannel(t, kit.platform);
    const r = await kit.valid(ch, 30);
    const first = await post(t, ch.path, r);
    const second = await post(t, ch.path, r);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(await first.text());
    await drain(t);
    expect(await handoffs(t)).toHaveLength(1);
    expect(await userMessages(t)).toHaveLength(1);
    const dup = await t.run(async (ctx) =>
      (await ctx.db.query("invocationLog").collect()).filter((e) => e.code === "DUPLICATE_DELIVERY"),
    );
    expect(dup).toHaveLength(1);
  });

  test("unknown channel → 404; disabled channel → identical 404; no secret read, nothing processed", async () => {
    const t = newT();
    const ch = await setupChannel(t, kit.platform);
    const other = await setupChannel(t, kit.platform, { enabled: false });
    const unknownPath = ch.path.replace(/[0-9]{4}(?=[A-Za-z]+$)/, "9999");
    expect(unknownPath).not.toBe(ch.path);

    const unknown = await post(t, unknownPath, await kit.valid({ path: unknownPath }, 40));
    const disabled = await post(t, other.path, await kit.valid(other, 41));
    const mismatch = await post(
      t,
      ch.path.replace(`/${kit.platform}/`, kit.platform === "slack" ? "/telegram/" : "/slack/"),
      await kit.valid(ch, 42),
    );
    const garbage = await post(t, `/webhooks/${kit.platform}/..%2F..%2Fhealth`, await kit.valid(ch, 43));
    for (const res of [unknown, disabled, mismatch, garbage]) expect(res.status).toBe(404);
    const bodies = await Promise.all([unknown, disabled, mismatch, garbage].map((r) => r.text()));
    expect(new Set(bodies)).toEqual(new Set(['{"error":"NOT_FOUND"}']));
    const headerNames = (r: Response) => [...r.headers.keys()].sort().join(",");
    expect(headerNames(disabled)).toBe(headerNames(unknown));

    // A disabled channel starts answering after enable, with the same request shape.
    await other.as.mutation(api.channels.manage.enable, { channelId: other.channelId });
    expect((await post(t, other.path, await kit.valid(other, 44))).status).toBe(200);

    await drain(t);
    expect(await handoffs(t)).toHaveLength(1);
    const notFound = await t.run(async (ctx) =>
      (await ctx.db.query("securityEvents").collect()).filter((e) => e.code === "NOT_FOUND"),
    );
    expect(notFound.length).toBeGreaterThanOrEqual(3); // unknown, mismatch, garbage (workspace-less or ws-scoped)
    const disabledLog = await t.run(async (ctx) =>
      (await ctx.db.query("invocationLog").collect()).filter((e) => e.code === "CHANNEL_DISABLED"),
    );
    expect(disabledLog).toHaveLength(1);
  });

  test("signed but malformed payload → 400 WEBHOOK_PAYLOAD_INVALID, logged, nothing processed", async () => {
    const t = newT();
    const ch = await setupChannel(t, kit.platform);
    const res = await post(t, ch.path, await kit.malformedPayload(ch));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "WEBHOOK_PAYLOAD_INVALID" });
    await drain(t);
    expect(await handoffs(t)).toHaveLength(0);
    const logged = await rejections(t, ch.workspaceId, "WEBHOOK_PAYLOAD_INVALID");
    expect(logged.events).toHaveLength(1);
  });
});

describe("platform specifics", () => {
  test("Twilio: the URL is rebuilt from config; a request signed for a forged X-Forwarded-Host is rejected", async () => {
    const t = newT();
    const ch = await setupChannel(t, "twilio");
    const params = twilioForm({ sid: "SM" + "b".repeat(32) });
    const forged = signTwilio(params, `https://evil.example${ch.path}`);
    await expect401(t, ch.path, forged, {
      "X-Forwarded-Host": "evil.example",
      "X-Forwarded-Proto": "https",
      Forwarded: "host=evil.example;proto=https",
    });
    // Control: the same request signed for the configured public URL passes.
    const good = signTwilio(params, `${BASE}${ch.path}`);
    expect((await post(t, ch.path, good, { "X-Forwarded-Host": "evil.example" })).status).toBe(200);
    // The query string is part of the signed URL.
    const withQuery = signTwilio(twilioForm({ sid: "SM" + "c".repeat(32) }), `${BASE}${ch.path}?x=1`);
    expect((await post(t, `${ch.path}?x=1`, withQuery)).status).toBe(200);
    await expect401(t, `${ch.path}?x=2`, withQuery);
    await drain(t);
  });

  test("Twilio: a message for another Twilio account (AccountSid mismatch) is a payload error", async () => {
    const t = newT();
    const ch = await setupChannel(t, "twilio");
    const r = signTwilio(twilioForm({ account: "AC" + "9".repeat(32) }), `${BASE}${ch.path}`);
    const res = await post(t, ch.path, r);
    expect(res.status).toBe(400);
  });

  test("Slack url_verification: challenge answered only after verification", async () => {
    const t = newT();
    const ch = await setupChannel(t, "slack");
    const body = JSON.stringify({
      token: "legacy",
      challenge: "chal-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      type: "url_verification",
    });
    const ok = await post(t, ch.path, signSlack(body));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ challenge: "chal-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    const unsigned = await post(t, ch.path, { headers: { "Content-Type": "application/json" }, body });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).not.toContain("chal-");
    const forged = await post(t, ch.path, signSlack(body, { secret: "guess" }));
    expect(forged.status).toBe(401);
    expect(await forged.text()).not.toContain("chal-");
  });

  test("Slack: bot messages and edits are acknowledged but not processed (no reply loops)", async () => {
    const t = newT();
    const ch = await setupChannel(t, "slack");
    const bot = JSON.stringify({
      type: "event_callback",
      api_app_id: "A0TESTAPP1",
      event_id: "Ev0BOT0001",
      event: { type: "message", bot_id: "B0BOT", text: "my own reply", channel: "D0TESTDM1" },
    });
    const edit = JSON.stringify({
      type: "event_callback",
      api_app_id: "A0TESTAPP1",
      event_id: "Ev0EDIT001",
      event: { type: "message", subtype: "message_changed", user: "U0TESTUSER", channel: "D0TESTDM1" },
    });
    expect((await post(t, ch.path, signSlack(bot))).status).toBe(200);
    expect((await post(t, ch.path, signSlack(edit))).status).toBe(200);
    await drain(t);
    expect(await handoffs(t)).toHaveLength(0);
  });

  test("Slack: an event for another Slack app is a payload error", async () => {
    const t = newT();
    const ch = await setupChannel(t, "slack");
    const body = JSON.stringify({
      type: "event_callback",
      api_app_id: "A0OTHERAPP",
      event_id: "Ev0OTHER01",
      event: { type: "message", user: "U0TESTUSER", text: "hi", channel: "D0TESTDM1" },
    });
    expect((await post(t, ch.path, signSlack(body))).status).toBe(400);
  });

  test("Discord PING: PONG only after verification", async () => {
    const t = newT();
    const ch = await setupChannel(t, "discord");
    const body = JSON.stringify({
      type: 1,
      id: "123456789012345670",
      application_id: "123456789012345678",
      token: "x",
    });
    const ok = await post(t, ch.path, await signDiscord(body));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ type: 1 });
    const unsigned = await post(t, ch.path, { headers: { "Content-Type": "application/json" }, body });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({ error: "WEBHOOK_SIGNATURE_INVALID" });
    const forged = await post(t, ch.path, await signDiscord(body, { sk: new Uint8Array(32).fill(1) }));
    expect(forged.status).toBe(401);
  });

  test("Discord: a command for another application is a payload error", async () => {
    const t = newT();
    const ch = await setupChannel(t, "discord");
    const body = JSON.stringify({
      type: 2,
      id: "123456789012345671",
      application_id: "987654321098765432",
      token: "itok_" + "y".repeat(40),
      data: { name: "ask", options: [{ name: "q", type: 3, value: "hi" }] },
      user: { id: "222222222222222222" },
    });
    expect((await post(t, ch.path, await signDiscord(body))).status).toBe(400);
  });

  test("webhook responses carry the security headers and no CORS grant", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    const res = await t.fetch(ch.path, {
      method: "POST",
      headers: { Origin: "https://board.warden.test" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  test("a channel whose verification secret is not set rejects everything with 401", async () => {
    const t = newT();
    const ch = await setupChannel(t, "slack");
    await ch.as.mutation(api.secrets.manage.deleteChannelSecret, {
      channelId: ch.channelId,
      name: "SLACK_SIGNING_SECRET",
    });
    await expect401(t, ch.path, await KITS[2].valid(ch, 50));
    await expect401(t, ch.path, signSlack("{}", { secret: "" }));
  });
});
