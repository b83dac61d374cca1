import { describe, expect, test, afterEach } from "vitest";
import { api } from "../../convex/_generated/api";
import { newT, member, expectCode } from "../harness";
import { TEST_ENV } from "../env";

afterEach(() => {
  process.env.AUTH_MODE = TEST_ENV.AUTH_MODE;
});

describe("access layer", () => {
  test("no identity → UNAUTHENTICATED", async () => {
    const t = newT();
    await expectCode(t.query(api.workspaces.manage.current, {}), "UNAUTHENTICATED");
  });

  test("token from an unknown issuer is refused even with a valid owner id", async () => {
    const t = newT();
    const a = await member(t);
    const forged = t.withIdentity({ issuer: "https://evil.example", subject: a.ownerId, wid: a.workspaceId } as any);
    await expectCode(forged.query(api.workspaces.manage.current, {}), "UNAUTHENTICATED");
  });

  test("member resolves to their own workspace and role", async () => {
    const t = newT();
    const a = await member(t, { role: "admin" });
    const cur = await a.as.query(api.workspaces.manage.current, {});
    expect(cur.workspaceId).toBe(a.workspaceId);
    expect(cur.role).toBe("admin");
  });

  test("inactive owner → OWNER_INACTIVE", async () => {
    const t = newT();
    const a = await member(t, { active: false });
    await expectCode(a.as.query(api.workspaces.manage.current, {}), "OWNER_INACTIVE");
  });

  test("viewer calling an owner mutation → FORBIDDEN, nothing changes", async () => {
    const t = newT();
    const boss = await member(t, { role: "owner" });
    const viewer = await member(t, { role: "viewer" });
    await expectCode(
      viewer.as.mutation(api.owners.manage.setRole, { ownerId: viewer.ownerId, role: "owner" }),
      "FORBIDDEN",
    );
    const list = await boss.as.query(api.owners.manage.list, {});
    expect(list.find((o) => o.ownerId === viewer.ownerId)?.role).toBe("viewer");
    await expectCode(viewer.as.query(api.owners.manage.list, {}), "FORBIDDEN");
  });

  test("cross-workspace write → FORBIDDEN and B unchanged; cross-workspace read gives no B data", async () => {
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    const bViewer = await member(t, { workspace: "ws-b", role: "viewer" });
    await expectCode(
      a.as.mutation(api.owners.manage.setRole, { ownerId: bViewer.ownerId, role: "owner" }),
      "FORBIDDEN",
    );
    await expectCode(a.as.mutation(api.owners.manage.setActive, { ownerId: b.ownerId, active: false }), "FORBIDDEN");
    const bList = await b.as.query(api.owners.manage.list, {});
    expect(bList.find((o) => o.ownerId === bViewer.ownerId)?.role).toBe("viewer");
    expect(bList.find((o) => o.ownerId === b.ownerId)?.active).toBe(true);
    const aList = await a.as.query(api.owners.manage.list, {});
    expect(aList.map((o) => o.ownerId)).not.toContain(b.ownerId);
  });

  test("a token naming a workspace the owner is not a member of → FORBIDDEN", async () => {
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    const sneaky = t.withIdentity({
      issuer: TEST_ENV.WARDEN_AUTH_ISSUER,
      subject: a.ownerId,
      wid: b.workspaceId,
    } as any);
    await expectCode(sneaky.query(api.workspaces.manage.current, {}), "FORBIDDEN");
  });

  test("client-supplied workspace id is not accepted as an argument", async () => {
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    await expect(a.as.query(api.workspaces.manage.current, { workspaceId: b.workspaceId } as any)).rejects.toThrow(
      /Validator|extra field|workspaceId/i,
    );
  });

  test.each([
    ["builtin", true, false],
    ["clerk", false, true],
    ["both", true, true],
  ])("AUTH_MODE=%s: builtin accepted=%s, clerk accepted=%s", async (mode, builtinOk, clerkOk) => {
    const t = newT();
    const a = await member(t);
    await t.run(async (ctx) => ctx.db.patch(a.ownerId, { clerkUserId: "user_clerk_1" }));
    process.env.AUTH_MODE = mode;
    const clerk = t.withIdentity({
      issuer: `https://${TEST_ENV.CLERK_JWT_ISSUER_DOMAIN}`,
      subject: "user_clerk_1",
    } as any);
    const b = a.as.query(api.workspaces.manage.current, {});
    const c = clerk.query(api.workspaces.manage.current, {});
    if (builtinOk) expect((await b).workspaceId).toBe(a.workspaceId);
    else await expectCode(b, "UNAUTHENTICATED");
    if (clerkOk) expect((await c).workspaceId).toBe(a.workspaceId);
    else await expectCode(c, "UNAUTHENTICATED");
  });

  test("Clerk identity with an org maps to that org's workspace only if a member", async () => {
    const t = newT();
    process.env.AUTH_MODE = "clerk";
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    await t.run(async (ctx) => {
      await ctx.db.patch(a.ownerId, { clerkUserId: "user_a" });
      await ctx.db.patch(b.workspaceId, { clerkOrgId: "org_b" });
    });
    const clerkA = t.withIdentity({
      issuer: `https://${TEST_ENV.CLERK_JWT_ISSUER_DOMAIN}`,
      subject: "user_a",
      org_id: "org_b",
    } as any);
    await expectCode(clerkA.query(api.workspaces.manage.current, {}), "FORBIDDEN");
  });

  test("auth status says only signed-in, provider, workspace, role", async () => {
    const t = newT();
    expect(await t.query(api.auth.status.get, {})).toEqual({
      signedIn: false,
      provider: null,
      workspaceId: null,
      role: null,
    });
    const a = await member(t, { role: "viewer" });
    expect(await a.as.query(api.auth.status.get, {})).toEqual({
      signedIn: true,
      provider: "builtin",
      workspaceId: a.workspaceId,
      role: "viewer",
    });
  });

  test("privileged actions are audited without secret values", async () => {
    const t = newT();
    const boss = await member(t, { role: "owner" });
    const v2 = await member(t, { role: "viewer" });
    await boss.as.mutation(api.owners.manage.setRole, { ownerId: v2.ownerId, role: "admin" });
    const rows = await t.run((ctx) =>
      ctx.db
        .query("auditLog")
        .withIndex("by_workspace_at", (q) => q.eq("workspaceId", boss.workspaceId))
        .take(10),
    );
    const row = rows.find((r) => r.action === "owner.setRole");
    expect(row).toMatchObject({ actorId: boss.ownerId, before: { role: "viewer" }, after: { role: "admin" } });
  });
});
