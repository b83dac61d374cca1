/** Seed 002 "no PII in logs and events": security events and audit targets hold pseudonyms, raw values only on opt-in. */
import { afterEach, describe, expect, test } from "vitest";
import { internal } from "../../convex/_generated/api";
import { hashPassword } from "../../convex/lib/password";
import { ipPseudonym } from "../../convex/lib/pseudonym";
import { TEST_ENV } from "../env";
import { member, newT, type T } from "../harness";
import { post, initialize } from "../mcp/helpers";

const json = { "Content-Type": "application/json" };
const RAW = ["203.0.113.50", "ada@example.com", "2001:db8:77::5", "198.51.100.9"];

async function everything(t: T) {
  return JSON.stringify(
    await t.run(async (ctx) => ({
      events: await ctx.db.query("securityEvents").collect(),
      // the audit log names its actors (members, by design); what it records about where from must not be raw
      auditTargets: (await ctx.db.query("auditLog").collect()).map((a) => a.target),
      notifications: await ctx.db.query("notifications").collect(),
    })),
  );
}

afterEach(() => {
  delete process.env.WARDEN_EVENTS_KEEP_RAW;
});

describe("PII-minimal security events", () => {
  async function drive(t: T) {
    const hash = await hashPassword("the real password");
    await member(t, { ownerKey: "ada@example.com", passwordHash: hash, workspace: "ws-a" });
    for (let i = 0; i < 3; i++) {
      await t.withRequestMetadata({ ip: "203.0.113.50" }).fetch("/auth/signin", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ ownerKey: "ada@example.com", password: "wrong-wrong-wrong" }),
      });
    }
    await t.withRequestMetadata({ ip: "2001:db8:77::5" }).fetch("/auth/signin", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ownerKey: "ada@example.com", password: "the real password" }),
    });
    await post(t.withRequestMetadata({ ip: "198.51.100.9" }), initialize(), {
      authorization: "Bearer wmcp_not_a_real_token_at_all_000000",
    });
  }

  test("failed sign-ins, a bad /mcp token and a sign-in's audit row carry no raw IP or account name", async () => {
    const t = newT();
    await drive(t);
    const all = await everything(t);
    for (const raw of RAW) expect(all).not.toContain(raw);
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    const failed = events.filter((e) => e.code === "SIGNIN_FAILED");
    expect(failed.length).toBeGreaterThanOrEqual(3);
    // what an owner needs: the network, a tag that groups repeats, the end of the account name
    const expected = `ip:${await ipPseudonym("203.0.113.50", TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY)}`;
    expect(new Set(failed.filter((e) => e.source).map((e) => e.source))).toEqual(new Set([expected]));
    expect(expected).toMatch(/^ip:203\.0\.113\.0\/24~[0-9a-f]{8}$/);
    expect(failed[0].detail).toMatch(/account=….com~[0-9a-f]{8}/);
    const signin = (await t.run((ctx) => ctx.db.query("auditLog").collect())).find((a) => a.action === "auth.signin");
    expect(signin?.target).toMatch(/^ip:2001:db8:77::\/48~[0-9a-f]{8}$/);
    expect(await t.run((ctx) => ctx.db.query("securityEventRaw").collect())).toHaveLength(0);
  });

  test("operator opt-in keeps raw values in their own table, purged after 7 days", async () => {
    process.env.WARDEN_EVENTS_KEEP_RAW = "1";
    const t = newT();
    await drive(t);
    expect(await everything(t)).not.toContain("203.0.113.50");
    const raw = await t.run((ctx) => ctx.db.query("securityEventRaw").collect());
    expect(JSON.stringify(raw)).toContain("203.0.113.50");
    expect(await t.mutation(internal.security.edge.purgeRawEvents, {})).toEqual({ deleted: 0 });
    await t.run(async (ctx) => {
      for (const r of await ctx.db.query("securityEventRaw").collect())
        await ctx.db.patch(r._id, { at: r.at - 8 * 24 * 3600 * 1000 });
    });
    expect((await t.mutation(internal.security.edge.purgeRawEvents, {})).deleted).toBe(raw.length);
    expect(await t.run((ctx) => ctx.db.query("securityEventRaw").collect())).toHaveLength(0);
  });
});
