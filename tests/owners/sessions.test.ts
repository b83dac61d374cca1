/**
 * Real sign-out and revocation (issue 22 item 4), workspace switching (item 2) and the sign-in /
 * sign-out audit (item 5) for the built-in issuer: every token of a sign-in carries its server-side
 * session (`sid`), checked on refresh and on every call.
 */
import { describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { hashPassword } from "../../convex/lib/password";
import { newT, member, expectCode, type T } from "../harness";
import { TEST_ENV } from "../env";

const json = { "Content-Type": "application/json" };
const PW = "sessions-test-password-1";

async function signIn(t: T, ownerKey: string, password = PW, workspaceId?: string) {
  const res = await t.fetch("/auth/signin", {
    method: "POST",
    headers: { ...json, "User-Agent": "TestBrowser/1.0" },
    body: JSON.stringify({ ownerKey, password, ...(workspaceId ? { workspaceId } : {}) }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

function claimsOf(token: string): { sub: string; wid: string; sid: string; auth_time: number } {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
}

/** What Convex would hand a function for this token (issuer, subject and the custom claims). */
function asToken(t: T, token: string) {
  const c = claimsOf(token);
  const iss = TEST_ENV.WARDEN_AUTH_ISSUER;
  return t.withIdentity({
    issuer: iss,
    subject: c.sub,
    tokenIdentifier: `${iss}|${c.sub}`,
    wid: c.wid,
    sid: c.sid,
    auth_time: c.auth_time,
  } as any);
}

const refresh = (t: T, token: string) =>
  t.fetch("/auth/refresh", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
const switchTo = (t: T, token: string, workspaceId: string) =>
  t.fetch("/auth/switch", {
    method: "POST",
    headers: { ...json, Authorization: `Bearer ${token}` },
    body: JSON.stringify({ workspaceId }),
  });

async function person(t: T, ownerKey = "sam", workspace = "w1", role: "owner" | "admin" | "viewer" = "owner") {
  return await member(t, { ownerKey, workspace, role, passwordHash: await hashPassword(PW) });
}

async function addMembership(
  t: T,
  ownerId: Id<"owners">,
  workspaceId: Id<"workspaces">,
  role: "owner" | "admin" | "viewer",
) {
  await t.run((ctx) => ctx.db.insert("memberships", { ownerId, workspaceId, role, createdAt: Date.now() }));
}

describe("sign-out revokes the refresh chain server-side", () => {
  test("sign-out then refresh fails server-side, and the token itself stops working at once", async () => {
    const t = newT();
    await person(t);
    const token = await signIn(t, "sam");
    expect(claimsOf(token).sid).toMatch(/^ws_/);
    // Before sign-out: refresh works and the refreshed token is of the same session.
    const r1 = await refresh(t, token);
    expect(r1.status).toBe(200);
    const next = ((await r1.json()) as { token: string }).token;
    expect(claimsOf(next).sid).toBe(claimsOf(token).sid);

    await asToken(t, token).mutation(api.owners.sessions.signOut, {});

    // A copy of either token of the chain can no longer buy a new one…
    expect((await refresh(t, token)).status).toBe(401);
    expect((await refresh(t, next)).status).toBe(401);
    // …nor call anything, although it has not expired yet.
    await expectCode(asToken(t, next).query(api.workspaces.manage.current, {}), "SESSION_ENDED");
    // Signing in again starts a new, working session.
    const again = await signIn(t, "sam");
    expect((await asToken(t, again).query(api.workspaces.manage.current, {})).role).toBe("owner");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((a) => a.action === "auth.signout")).toHaveLength(1);
    expect(audit.filter((a) => a.action === "auth.signin")).toHaveLength(2);
  });

  test("a token naming a session that does not exist is refused (no forged sid)", async () => {
    const t = newT();
    const p = await person(t);
    const forged = t.withIdentity({
      issuer: TEST_ENV.WARDEN_AUTH_ISSUER,
      subject: p.ownerId,
      wid: p.workspaceId,
      sid: "ws_madeUpSessionId",
    } as any);
    await expectCode(forged.query(api.workspaces.manage.current, {}), "SESSION_ENDED");
  });

  test("someone else's session id in a token of mine is refused", async () => {
    const t = newT();
    const a = await person(t, "alice");
    const b = await person(t, "bob");
    const bobToken = await signIn(t, "bob");
    const mixed = t.withIdentity({
      issuer: TEST_ENV.WARDEN_AUTH_ISSUER,
      subject: a.ownerId,
      wid: a.workspaceId,
      sid: claimsOf(bobToken).sid,
    } as any);
    await expectCode(mixed.query(api.workspaces.manage.current, {}), "SESSION_ENDED");
    expect(b.ownerId).not.toBe(a.ownerId);
  });
});

describe("a person sees and ends their own sessions", () => {
  test("list shows only the caller's open sessions, marks the current one; ending one refuses its refresh", async () => {
    const t = newT();
    await person(t, "sam");
    await person(t, "other");
    const laptop = await signIn(t, "sam");
    const phone = await signIn(t, "sam");
    const otherToken = await signIn(t, "other");

    const list = await asToken(t, laptop).query(api.owners.sessions.mine, {});
    expect(list).toHaveLength(2);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(
      list.every((s) => s.provider === "builtin" && s.label === "TestBrowser/1.0" && s.workspaceName === "w1"),
    ).toBe(true);
    const phoneRow = list.find((s) => !s.current)!;

    // Another person's session: NOT_FOUND, untouched.
    const otherId = (await asToken(t, otherToken).query(api.owners.sessions.mine, {}))[0].sessionId;
    await expectCode(asToken(t, laptop).mutation(api.owners.sessions.end, { sessionId: otherId }), "NOT_FOUND");
    expect((await refresh(t, otherToken)).status).toBe(200);

    await asToken(t, laptop).mutation(api.owners.sessions.end, { sessionId: phoneRow.sessionId });
    expect((await refresh(t, phone)).status).toBe(401);
    expect((await refresh(t, laptop)).status).toBe(200);
    expect(await asToken(t, laptop).query(api.owners.sessions.mine, {})).toHaveLength(1);
  });

  test("end all others keeps the current session", async () => {
    const t = newT();
    await person(t);
    const tokens = [await signIn(t, "sam"), await signIn(t, "sam"), await signIn(t, "sam")];
    const r = await asToken(t, tokens[0]).mutation(api.owners.sessions.endOthers, {});
    expect(r.ended).toBe(2);
    expect((await refresh(t, tokens[0])).status).toBe(200);
    expect((await refresh(t, tokens[1])).status).toBe(401);
    expect((await refresh(t, tokens[2])).status).toBe(401);
  });
});

describe("revocation when access changes", () => {
  test("password change kills the person's other sessions, keeps the one that changed it", async () => {
    const t = newT();
    await person(t);
    const here = await signIn(t, "sam");
    const stolen = await signIn(t, "sam"); // e.g. someone who knew the old password
    await asToken(t, here).action(api.owners.password.change, {
      currentPassword: PW,
      newPassword: "a-brand-new-password-2",
    });
    expect((await refresh(t, stolen)).status).toBe(401);
    await expectCode(asToken(t, stolen).query(api.workspaces.manage.current, {}), "SESSION_ENDED");
    expect((await refresh(t, here)).status).toBe(200);
    expect((await asToken(t, here).query(api.workspaces.manage.current, {})).ownerKey).toBe("sam");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.find((a) => a.action === "owner.changePassword")?.after).toMatchObject({ endedSessions: 1 });
  });

  test("deactivating a membership ends its sessions at once; the person's sessions elsewhere go on", async () => {
    const t = newT();
    const boss = await person(t, "boss", "w1");
    const p = await person(t, "pat", "w2");
    await addMembership(t, p.ownerId, boss.workspaceId, "viewer");
    const inW1 = await signIn(t, "pat", PW, boss.workspaceId);
    const inW2 = await signIn(t, "pat", PW, p.workspaceId);
    await boss.as.mutation(api.owners.manage.setActive, { ownerId: p.ownerId, active: false });
    await expectCode(asToken(t, inW1).query(api.workspaces.manage.current, {}), "SESSION_ENDED");
    expect((await refresh(t, inW1)).status).toBe(401);
    // Reactivating does not revive the ended session: a new sign-in is needed.
    await boss.as.mutation(api.owners.manage.setActive, { ownerId: p.ownerId, active: true });
    expect((await refresh(t, inW1)).status).toBe(401);
    expect((await refresh(t, inW2)).status).toBe(200);
    expect((await asToken(t, inW2).query(api.workspaces.manage.current, {})).workspaceId).toBe(p.workspaceId);
  });

  test("removing a membership ends its sessions", async () => {
    const t = newT();
    const boss = await person(t, "boss", "w1");
    const p = await person(t, "pat", "w2");
    await addMembership(t, p.ownerId, boss.workspaceId, "viewer");
    const inW1 = await signIn(t, "pat", PW, boss.workspaceId);
    await boss.as.mutation(api.owners.manage.remove, { ownerId: p.ownerId });
    expect((await refresh(t, inW1)).status).toBe(401);
  });

  test("the operator deactivating a person (owners file) ends all their sessions", async () => {
    const t = newT();
    const hash = await hashPassword(PW);
    const entry = (ownerKey: string, active = true) => ({
      ownerKey,
      passwordHash: hash,
      role: "owner" as const,
      active,
      workspace: "ops",
    });
    await t.mutation(internal.owners.admin.syncOwners, { owners: [entry("boss"), entry("temp")] });
    const token = await signIn(t, "temp");
    await t.mutation(internal.owners.admin.syncOwners, { owners: [entry("boss"), entry("temp", false)] });
    const row = await t.run((ctx) => ctx.db.query("ownerSessions").collect());
    expect(row[0]).toMatchObject({ endReason: "person_inactive" });
    expect((await refresh(t, token)).status).toBe(401);
  });
});

describe("workspace switching (built-in)", () => {
  test("the server re-issues a token for a workspace the person is an active member of; never for another", async () => {
    const t = newT();
    const boss = await person(t, "boss", "w1");
    const p = await person(t, "pat", "w2");
    const stranger = await person(t, "stranger", "w3");
    await addMembership(t, p.ownerId, boss.workspaceId, "admin");
    const token = await signIn(t, "pat", PW, p.workspaceId);

    // The workspace list for the switcher: only the caller's own active memberships.
    const mine = await asToken(t, token).query(api.workspaces.manage.mine, {});
    expect(mine.map((w) => [w.name, w.role, w.current]).sort()).toEqual([
      ["w1", "admin", false],
      ["w2", "owner", true],
    ]);

    const res = await switchTo(t, token, boss.workspaceId);
    expect(res.status).toBe(200);
    const switched = ((await res.json()) as { token: string }).token;
    expect(claimsOf(switched)).toMatchObject({
      wid: boss.workspaceId,
      sid: claimsOf(token).sid,
      auth_time: claimsOf(token).auth_time,
    });
    expect((await asToken(t, switched).query(api.workspaces.manage.current, {})).role).toBe("admin");
    // The old workspace's chain no longer refreshes; the new one does.
    expect((await refresh(t, token)).status).toBe(401);
    expect((await refresh(t, switched)).status).toBe(200);

    // Not a member: refused and recorded in the caller's workspace.
    expect((await switchTo(t, switched, stranger.workspaceId)).status).toBe(403);
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(
      events.some((e) => e.code === "FORBIDDEN" && e.workspaceId === boss.workspaceId && e.category === "auth"),
    ).toBe(true);
    // Deactivated there: refused.
    await boss.as.mutation(api.owners.manage.setActive, { ownerId: p.ownerId, active: false });
    const back = await signIn(t, "pat", PW, p.workspaceId);
    expect((await switchTo(t, back, boss.workspaceId)).status).toBe(403);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(
      audit
        .filter((a) => a.action === "auth.switchWorkspace")
        .map((a) => a.workspaceId)
        .sort(),
    ).toEqual([boss.workspaceId, p.workspaceId].sort());
  });

  test("a signed-out session cannot switch; a garbage workspace id is refused", async () => {
    const t = newT();
    await person(t);
    const token = await signIn(t, "sam");
    expect((await switchTo(t, token, "not-an-id")).status).toBe(403);
    await asToken(t, token).mutation(api.owners.sessions.signOut, {});
    const me = await t.run((ctx) => ctx.db.query("workspaces").first());
    expect((await switchTo(t, token, me!._id)).status).toBe(401);
  });
});

describe("audit of sign-in, sign-out, failures and denials", () => {
  test("sign-in, refresh, sign-out are audited; a failed sign-in is a security event; an action denial of a signed-in member is recorded", async () => {
    const t = newT();
    await person(t);
    const bad = await t.fetch("/auth/signin", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ownerKey: "sam", password: "wrong-password-xx" }),
    });
    expect(bad.status).toBe(401);
    const token = await signIn(t, "sam");
    await refresh(t, token);
    await asToken(t, token).mutation(api.owners.sessions.signOut, {});
    // The ended session calls an action: refused (SESSION_ENDED) and, actions not being transactions, recorded.
    await expectCode(asToken(t, token).action(api.owners.sessions.hello, {}), "SESSION_ENDED");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(["auth.signin", "auth.refresh", "auth.signout"]));
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(events.some((e) => e.code === "SIGNIN_FAILED")).toBe(true);
    expect(events.some((e) => e.code === "SESSION_ENDED" && e.category === "access")).toBe(true);
  });
});
