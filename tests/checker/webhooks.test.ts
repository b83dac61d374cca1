/** Inbound channel webhooks through the checker's admission gate. */
import { describe, expect, test } from "vitest";
import { ipPseudonym } from "../../convex/lib/pseudonym";
import { TEST_ENV } from "../env";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { admitWebhook } from "../../convex/security/checkerWebhook";
import { checkerT, admin, logs, events, allStoredText, type Admin, type CT } from "./helpers";

async function channel(t: CT, a: Admin, enabled = true) {
  return await t.run(async (ctx) =>
    ctx.db.insert("channelConfig", {
      workspaceId: a.workspaceId,
      platform: "telegram",
      name: "main",
      enabled,
      settings: {},
      createdAt: 0,
      updatedAt: 0,
    }),
  );
}

const admit = (
  t: CT,
  channelId: Id<"channelConfig">,
  o: Partial<{ verified: boolean; payloadValid: boolean; deliveryId: string; platformUserId: string }> = {},
) =>
  t.run(async (ctx) =>
    admitWebhook(ctx, await ctx.db.get(channelId), {
      verified: true,
      payloadValid: true,
      inputBytes: 321,
      ip: "203.0.113.9",
      ...o,
    }),
  );

const activity = (t: CT) => t.run(async (ctx) => ctx.db.query("activityLog").take(100));

describe("Inbound webhooks (checker)", () => {
  test("a verified, valid delivery is admitted and logged", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    expect(await admit(t, ch, { deliveryId: "1", platformUserId: "42" })).toEqual({
      ok: true,
      duplicate: false,
      workspaceId: a.workspaceId,
      channelUserBlocked: false,
    });
    const [row] = await logs(t);
    expect(row).toMatchObject({
      targetKind: "webhook",
      targetName: "telegram/main",
      channelId: ch,
      code: "OK",
      allowed: true,
      callerKind: "channel-webhook",
      inputBytes: 321,
    });
    expect(row.inputPreview).toBeUndefined();
  });

  test("failed verification: 401-class code, logged to invocationLog, securityEvents and the (private) activity log", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    expect(await admit(t, ch, { verified: false, platformUserId: "42" })).toEqual({
      ok: false,
      code: "WEBHOOK_SIGNATURE_INVALID",
    });
    expect((await logs(t)).map((r) => [r.code, r.allowed])).toEqual([["WEBHOOK_SIGNATURE_INVALID", false]]);
    const source = `ip:${await ipPseudonym("203.0.113.9", TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY)}`; // PII-minimal (tests/edge/pii.test.ts)
    expect((await events(t)).map((e) => [e.code, e.category, e.source])).toEqual([
      ["WEBHOOK_SIGNATURE_INVALID", "webhook", source],
    ]);
    const acts = await activity(t);
    expect(acts.map((x) => [x.kind, x.visibility, x.channel])).toEqual([["webhook.rejected", "private", "telegram"]]);
    expect(acts[0].summary).toContain("WEBHOOK_SIGNATURE_INVALID");
  });

  test("payloads that do not match the expected schema are refused and logged", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    expect(await admit(t, ch, { payloadValid: false })).toEqual({ ok: false, code: "WEBHOOK_PAYLOAD_INVALID" });
    expect((await events(t)).map((e) => e.code)).toEqual(["WEBHOOK_PAYLOAD_INVALID"]);
  });

  test("signature is checked before payload validity, and both before any limit or dedupe", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    expect(await admit(t, ch, { verified: false, payloadValid: false, deliveryId: "d" })).toEqual({
      ok: false,
      code: "WEBHOOK_SIGNATURE_INVALID",
    });
    expect(await t.run(async (ctx) => ctx.db.query("webhookDeliveries").take(5))).toHaveLength(0);
  });

  test("unknown and disabled channels look the same (NOT_FOUND); the disabled one is logged for its owner", async () => {
    const t = checkerT();
    const a = await admin(t);
    const gone = await channel(t, a);
    await t.run(async (ctx) => ctx.db.delete(gone));
    const off = await channel(t, a, false);
    expect(await admit(t, gone)).toEqual({ ok: false, code: "NOT_FOUND" });
    expect(await admit(t, off)).toEqual({ ok: false, code: "NOT_FOUND" });
    expect((await logs(t)).map((r) => r.code)).toEqual(["CHANNEL_DISABLED"]);
    expect((await events(t)).map((e) => [e.code, e.workspaceId ?? null])).toEqual([
      ["NOT_FOUND", null],
      ["CHANNEL_DISABLED", a.workspaceId],
    ]);
  });

  test("per-channel rate limit with retryAfterMs", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    await a.as.mutation(api.limits.manage.set, { name: "webhookPerChannel", rate: 2, periodMs: 60_000 });
    expect((await admit(t, ch)).ok).toBe(true);
    expect((await admit(t, ch)).ok).toBe(true);
    const r = await admit(t, ch);
    expect(r).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect((r as any).retryAfterMs).toBeGreaterThan(0);
    expect((await events(t)).map((e) => e.detail)).toEqual(["limit=webhookPerChannel"]);
  });

  test("duplicate deliveries are admitted once, logged as duplicates", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    expect(await admit(t, ch, { deliveryId: "upd-1" })).toMatchObject({ ok: true, duplicate: false });
    expect(await admit(t, ch, { deliveryId: "upd-1" })).toMatchObject({ ok: true, duplicate: true });
    expect(await admit(t, ch, { deliveryId: "upd-2" })).toMatchObject({ ok: true, duplicate: false });
    expect((await logs(t)).map((r) => r.code)).toEqual(["OK", "DUPLICATE_DELIVERY", "OK"]);
  });

  test("platform user ids never reach the logs in the clear; blocked users are flagged", async () => {
    const t = checkerT();
    const a = await admin(t);
    const ch = await channel(t, a);
    const phone = "+15551234567";
    await t.run(async (ctx) =>
      ctx.db.insert("channelUsers", {
        workspaceId: a.workspaceId,
        channelId: ch,
        platform: "telegram",
        platformUserId: "blocked-1",
        blocked: true,
        firstSeenAt: 0,
        lastSeenAt: 0,
      }),
    );
    await admit(t, ch, { platformUserId: phone });
    await admit(t, ch, { platformUserId: phone, verified: false });
    expect(await admit(t, ch, { platformUserId: "blocked-1" })).toMatchObject({ ok: true, channelUserBlocked: true });
    const rows = await logs(t);
    expect(rows[0].callerId).toMatch(/^u_[0-9a-f]{16}$/);
    expect(rows[1].callerId).toBe(rows[0].callerId);
    expect(rows[2]).toMatchObject({ code: "CHANNEL_USER_BLOCKED", allowed: false });
    const stored = await allStoredText(t);
    expect(stored).not.toContain(phone);
    expect(stored).not.toContain("5551234567");
    expect(stored).not.toContain("blocked-1");
  });
});
