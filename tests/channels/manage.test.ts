// @vitest-environment node
/** Channel management: roles, validation of non-secret settings, audit, webhook URL, deletion. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { expectCode, member, newT } from "../harness";
import { MockVendor, SETTINGS, drain, post, setupChannel } from "./helpers";
import { KITS } from "./kits";
import { PLATFORMS, SECRET_NAMES } from "../../convex/channels/platforms";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});

describe("channel management", () => {
  test("admins create (disabled until enabled), viewers read, audit has no secrets", async () => {
    const t = newT();
    const admin = await member(t, { role: "admin" });
    const viewer = await member(t, { role: "viewer" });
    await expectCode(
      viewer.as.mutation(api.channels.manage.create, { platform: "telegram", name: "tg", settings: {} }),
      "FORBIDDEN",
    );
    const id = await admin.as.mutation(api.channels.manage.create, {
      platform: "telegram",
      name: " Support bot ",
      settings: SETTINGS.telegram,
    });
    const ch = await viewer.as.query(api.channels.manage.get, { channelId: id });
    expect(ch).toMatchObject({
      platform: "telegram",
      name: "Support bot",
      enabled: false,
      settings: SETTINGS.telegram,
    });
    expect(ch.webhookUrl).toBe(`https://warden.test/webhooks/telegram/${id}`);
    expect(ch.secretNames).toEqual(["TELEGRAM_SECRET_TOKEN", "TELEGRAM_BOT_TOKEN"]);
    expect(ch.setupSteps.join("\n")).toContain(ch.webhookUrl!);
    expect(ch).not.toHaveProperty("idSalt");
    await expectCode(viewer.as.mutation(api.channels.manage.enable, { channelId: id }), "FORBIDDEN");
    await admin.as.mutation(api.channels.manage.enable, { channelId: id });
    await admin.as.mutation(api.channels.manage.update, { channelId: id, name: "Renamed" });
    await admin.as.mutation(api.channels.manage.disable, { channelId: id });
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((a) => a.action)).toEqual([
      "channel.create",
      "channel.enable",
      "channel.update",
      "channel.disable",
    ]);
    expect(audit.every((a) => a.actorId === admin.ownerId)).toBe(true);
    const list = await viewer.as.query(api.channels.manage.list, {});
    expect(list.map((c) => c.name)).toEqual(["Renamed"]);
  });

  test("settings are validated per platform; secret-looking or unknown keys are refused", async () => {
    const t = newT();
    const admin = await member(t, { role: "admin" });
    const bad: Array<[(typeof PLATFORMS)[number], unknown]> = [
      ["telegram", { botToken: "123:abc" }],
      ["telegram", { botUsername: "x" }],
      ["twilio", { fromNumber: "+15550001111" }], // accountSid required
      ["twilio", { accountSid: "AC123", fromNumber: "+15550001111" }],
      ["twilio", { accountSid: SETTINGS.twilio.accountSid, authToken: "t" }],
      ["slack", { appId: "A0TESTAPP1", signingSecret: "s" }],
      ["discord", { applicationId: "not-a-snowflake" }],
      ["discord", {}],
      ["resend", { fromAddress: "not an address" }],
      ["resend", { fromAddress: "bot@warden.test", apiKey: "re_x" }],
    ];
    for (const [platform, settings] of bad) {
      await expectCode(
        admin.as.mutation(api.channels.manage.create, { platform, name: "x", settings }),
        "CONFIG_INVALID",
      );
    }
    for (const platform of PLATFORMS) {
      await admin.as.mutation(api.channels.manage.create, { platform, name: platform, settings: SETTINGS[platform] });
    }
    await expectCode(
      admin.as.mutation(api.channels.manage.create, { platform: "slack", name: "", settings: {} }),
      "CONFIG_INVALID",
    );
    const ids = await t.run((ctx) => ctx.db.query("channelConfig").collect());
    const tg = ids.find((c) => c.platform === "telegram")!;
    await expectCode(
      admin.as.mutation(api.channels.manage.update, { channelId: tg._id, settings: { secretToken: "x" } }),
      "CONFIG_INVALID",
    );
    expect(Object.keys(SECRET_NAMES)).toEqual([...PLATFORMS]);
  });

  test("other workspaces cannot see or change a channel", async () => {
    const t = newT();
    const ch = await setupChannel(t, "slack");
    const outsider = await member(t, { role: "owner", workspace: "ws-b" });
    await expectCode(outsider.as.query(api.channels.manage.get, { channelId: ch.channelId }), "FORBIDDEN");
    await expectCode(outsider.as.mutation(api.channels.manage.disable, { channelId: ch.channelId }), "FORBIDDEN");
    await expectCode(outsider.as.mutation(api.channels.manage.remove, { channelId: ch.channelId }), "FORBIDDEN");
    expect(await outsider.as.query(api.channels.manage.list, {})).toEqual([]);
  });

  test("remove deletes the channel, its secrets, users, delivery ids and summaries; its URL then 404s", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    const kit = KITS.find((k) => k.platform === "telegram")!;
    await post(t, ch.path, await kit.valid(ch, 1));
    await drain(t);
    const count = async () =>
      await t.run(async (ctx) => ({
        users: (await ctx.db.query("channelUsers").collect()).length,
        deliveries: (await ctx.db.query("webhookDeliveries").collect()).length,
        summaries: (await ctx.db.query("channelMessageSummary").collect()).length,
        secrets: (await ctx.db.query("channelSecrets").collect()).length,
      }));
    expect(await count()).toEqual({ users: 1, deliveries: 1, summaries: 1, secrets: 2 });
    const viewer = await member(t, { role: "viewer" });
    await expectCode(viewer.as.mutation(api.channels.manage.remove, { channelId: ch.channelId }), "FORBIDDEN");
    await ch.as.mutation(api.channels.manage.remove, { channelId: ch.channelId });
    await drain(t);
    expect(await count()).toEqual({ users: 0, deliveries: 0, summaries: 0, secrets: 0 });
    const res = await post(t, ch.path, await kit.valid(ch, 2));
    expect(res.status).toBe(404);
    const audit = (await t.run((ctx) => ctx.db.query("auditLog").collect())).filter(
      (a) => a.action === "channel.delete",
    );
    expect(audit).toHaveLength(1);
  });

  test("webhookUrl falls back to CONVEX_SITE_URL and never comes from a request", async () => {
    const t = newT();
    const admin = await member(t, { role: "admin" });
    const id = await admin.as.mutation(api.channels.manage.create, {
      platform: "discord",
      name: "d",
      settings: SETTINGS.discord,
    });
    const saved = process.env.WARDEN_PUBLIC_BASE_URL;
    try {
      delete process.env.WARDEN_PUBLIC_BASE_URL;
      process.env.CONVEX_SITE_URL = "https://site.warden.test/";
      expect((await admin.as.query(api.channels.manage.get, { channelId: id })).webhookUrl).toBe(
        `https://site.warden.test/webhooks/discord/${id}`,
      );
    } finally {
      process.env.WARDEN_PUBLIC_BASE_URL = saved;
      process.env.CONVEX_SITE_URL = "https://warden.test";
    }
  });
});
