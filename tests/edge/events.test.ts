import { beforeAll, describe, expect, test } from "vitest";
import { accountPseudonym, ipPseudonym } from "../../convex/lib/pseudonym";
import { TEST_ENV } from "../env";
import { api, internal } from "../../convex/_generated/api";
import { ABUSE_THRESHOLD } from "../../convex/lib/abuse";
import { hashPassword } from "../../convex/lib/password";
import { member, newT, type T } from "../harness";
import { post, initialize } from "../mcp/helpers";

const json = { "Content-Type": "application/json" };
const pseudonyms = new Map<string, string>();
beforeAll(async () => {
  for (const ip of ["203.0.113.52", "198.51.100.77"])
    pseudonyms.set(ip, await ipPseudonym(ip, TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY));
});
const ipP = (ip: string) => pseudonyms.get(ip)!;
const alerts = (t: T) =>
  t.run(async (ctx) => (await ctx.db.query("securityEvents").collect()).filter((e) => e.code === "ABUSE_ALERT"));
const page = { paginationOpts: { numItems: 50, cursor: null } };

describe("security events an owner and the operator can see", () => {
  test("a failed sign-in shows in every workspace of the targeted person, and once in the operator view", async () => {
    const t = newT();
    const hash = await hashPassword("bob's real password");
    const a = await member(t, { ownerKey: "bob", passwordHash: hash, workspace: "ws-a" });
    const ownerB = await member(t, { workspace: "ws-b", role: "owner" });
    await t.run(async (ctx) =>
      ctx.db.insert("memberships", {
        ownerId: a.ownerId,
        workspaceId: ownerB.workspaceId,
        role: "viewer",
        createdAt: Date.now(),
      }),
    );
    const bystander = await member(t, { workspace: "ws-c", role: "owner" });
    const r = await t.withRequestMetadata({ ip: "203.0.113.50" }).fetch("/auth/signin", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ownerKey: "bob", password: "guess-guess-guess" }),
    });
    expect(r.status).toBe(401);
    for (const who of [a, ownerB]) {
      const seen = await who.as.query(api.logs.browse.securityEvents, page);
      expect(seen.page.filter((e: any) => e.code === "SIGNIN_FAILED")).toHaveLength(1);
    }
    expect((await bystander.as.query(api.logs.browse.securityEvents, page)).page).toHaveLength(0);
    // unknown account and a bad /mcp token: no workspace at all, but the operator sees them
    await t.withRequestMetadata({ ip: "203.0.113.51" }).fetch("/auth/signin", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ownerKey: "nobody", password: "x".repeat(12) }),
    });
    expect(
      (
        await post(t.withRequestMetadata({ ip: "203.0.113.52" }), initialize(), {
          authorization: "Bearer wmcp_not_a_real_token_at_all_000000",
        })
      ).status,
    ).toBe(401);
    const ops = await t.query(internal.security.edge.recent, { limit: 50, withoutWorkspaceOnly: true });
    // account names and addresses as pseudonyms (tests/edge/pii.test.ts)
    const named = async (n: string) => `account=${await accountPseudonym(n, TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY)}`;
    expect(ops.filter((e) => e.code === "SIGNIN_FAILED").map((e) => e.detail)).toEqual([
      expect.stringContaining(await named("nobody")),
      expect.stringContaining(await named("bob")),
    ]);
    expect(
      ops.some((e) => e.code === "UNAUTHENTICATED" && e.category === "mcp" && e.source === `ip:${ipP("203.0.113.52")}`),
    ).toBe(true);
  });

  test("FORBIDDEN for a signed-in member (action) is a security event in their workspace", async () => {
    const t = newT();
    const viewer = await member(t, { role: "viewer" });
    await expect(
      viewer.as.action(api.skills.images.register, { storageId: "900000_storage" as any }),
    ).rejects.toThrow();
    const ev = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    const forbidden = ev.filter((e) => e.code === "FORBIDDEN");
    expect(forbidden).toHaveLength(1);
    expect(forbidden[0]).toMatchObject({ workspaceId: viewer.workspaceId, source: `owner:${viewer.ownerId}` });
  });
});

describe(`each abuse signal raises ABUSE_ALERT at ${ABUSE_THRESHOLD} from one source`, () => {
  test("oversized bodies (PAYLOAD_TOO_LARGE)", async () => {
    const t = newT();
    await member(t, { workspace: "default" });
    const from = t.withRequestMetadata({ ip: "198.51.100.77" });
    for (let i = 1; i <= ABUSE_THRESHOLD; i++) {
      expect((await alerts(t)).length).toBe(0);
      const r = await from.fetch("/chat/session", { method: "POST", body: "x".repeat(4096) });
      expect(r.status).toBe(413);
    }
    const got = await alerts(t);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ source: `ip:${ipP("198.51.100.77")}` });
    expect(got[0].detail).toContain("PAYLOAD_TOO_LARGE");
  });

  test("FORBIDDEN from a signed-in member", async () => {
    const t = newT();
    const viewer = await member(t, { role: "viewer" });
    for (let i = 1; i <= ABUSE_THRESHOLD; i++) {
      expect((await alerts(t)).length).toBe(0);
      await expect(
        viewer.as.action(api.skills.images.register, { storageId: "900000_storage" as any }),
      ).rejects.toThrow();
    }
    const got = await alerts(t);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ workspaceId: viewer.workspaceId, source: `owner:${viewer.ownerId}` });
    const notes = await t.run((ctx) => ctx.db.query("notifications").collect());
    expect(notes.some((n) => n.kind === "abuse" && n.workspaceId === viewer.workspaceId)).toBe(true);
  });

  test("failed sign-ins: counted once per attempt even when copied into several workspaces", async () => {
    const t = newT();
    const ws = [
      await member(t, { workspace: "w1" }),
      await member(t, { workspace: "w2" }),
      await member(t, { workspace: "w3" }),
    ];
    // one person in three workspaces, guessed at from one IP (the per-account limit stops at 5, so spread over accounts)
    for (let i = 0; i < ABUSE_THRESHOLD; i++) {
      expect((await alerts(t)).length).toBe(0);
      const r = await t.withRequestMetadata({ ip: "192.0.2.99" }).fetch("/auth/signin", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ ownerKey: ws[i % 3].ownerKey, password: `wrong-${i}-wrong` }),
      });
      expect(r.status).toBe(401);
    }
    expect(await alerts(t)).toHaveLength(1);
  }, 60_000);
});
