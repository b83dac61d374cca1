/**
 * Person vs membership: a workspace owner manages memberships of their workspace only; only the
 * person (current password, or their one-time set-password code) or the operator changes a password;
 * no change leaves a workspace without an active owner; sign-in attempts are counted before hashing.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { hashPassword } from "../../convex/lib/password";
import { hasActiveOwner } from "../../convex/workspaces/lib";
import { SET_PASSWORD_CODE_TTL_MS } from "../../convex/lib/setPasswordCode";
import { newT, member, expectCode, type T } from "../harness";
import { TEST_ENV } from "../env";

const json = { "Content-Type": "application/json" };
const P_PASSWORD = "p-own-password-2024";
const ATTACKER_PASSWORD = "attacker-chosen-password";

afterEach(() => {
  vi.useRealTimers();
});

function signIn(t: T, ownerKey: string, password: string, workspaceId?: string, ip = "198.51.100.1") {
  return t.fetch("/auth/signin", {
    method: "POST",
    headers: { ...json, "X-Real-IP": ip },
    body: JSON.stringify({ ownerKey, password, ...(workspaceId ? { workspaceId } : {}) }),
  });
}

function redeem(t: T, code: string, password: string) {
  return t.fetch("/auth/set-password", { method: "POST", headers: json, body: JSON.stringify({ code, password }) });
}

async function addMembership(
  t: T,
  ownerId: Id<"owners">,
  workspaceId: Id<"workspaces">,
  role: "owner" | "admin" | "viewer",
) {
  await t.run((ctx) => ctx.db.insert("memberships", { ownerId, workspaceId, role, createdAt: Date.now() }));
}

function as(t: T, ownerId: Id<"owners">, workspaceId: Id<"workspaces">) {
  return t.withIdentity({ issuer: TEST_ENV.WARDEN_AUTH_ISSUER, subject: ownerId, wid: workspaceId } as any);
}

/** P owns W2 and is a viewer in W1; A owns W1. */
async function twoWorkspaces(t: T) {
  const a = await member(t, { workspace: "w1", ownerKey: "attacker" });
  const p = await member(t, { workspace: "w2", ownerKey: "pat", passwordHash: await hashPassword(P_PASSWORD) });
  await addMembership(t, p.ownerId, a.workspaceId, "viewer");
  return { a, p, w1: a.workspaceId, w2: p.workspaceId };
}

describe("invite never touches an existing person", () => {
  test("cross-workspace takeover: W1's owner cannot set the password of W2's owner", async () => {
    const t = newT();
    const { a, p, w2 } = await twoWorkspaces(t);
    const before = (await t.run((ctx) => ctx.db.get(p.ownerId)))!;

    // The old invite took a password and reset an existing member's; now it takes none.
    await expect(
      a.as.mutation(api.owners.manage.invite, { ownerKey: "pat", password: ATTACKER_PASSWORD, role: "viewer" } as any),
    ).rejects.toThrow();
    await expectCode(a.as.mutation(api.owners.manage.invite, { ownerKey: "pat", role: "viewer" }), "ALREADY_MEMBER");

    const after = (await t.run((ctx) => ctx.db.get(p.ownerId)))!;
    expect(after.passwordHash).toBe(before.passwordHash);
    expect(after.active).toBe(true);
    expect((await signIn(t, "pat", ATTACKER_PASSWORD, w2)).status).toBe(401);
    const ok = await signIn(t, "pat", P_PASSWORD, w2);
    expect(ok.status).toBe(200);
  });

  test("inviting an existing person who is not a member adds a membership only", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1" });
    const p = await member(t, { workspace: "w2", ownerKey: "pat", passwordHash: await hashPassword(P_PASSWORD) });
    const before = (await t.run((ctx) => ctx.db.get(p.ownerId)))!;
    const r = await a.as.mutation(api.owners.manage.invite, { ownerKey: "pat", role: "admin" });
    expect(r).toEqual({ outcome: "added", code: null, expiresAt: null });
    expect(await t.run((ctx) => ctx.db.get(p.ownerId))).toEqual(before);
    expect(await t.run((ctx) => ctx.db.query("passwordSetCodes").collect())).toEqual([]);
    expect((await as(t, p.ownerId, a.workspaceId).query(api.workspaces.manage.current, {})).role).toBe("admin");
    // W2 is untouched: P is still its owner there.
    expect((await p.as.query(api.workspaces.manage.current, {})).role).toBe("owner");
  });

  test("an owner inviting themselves (old 'change my password' habit) cannot demote themselves", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1", ownerKey: "olga", passwordHash: await hashPassword(P_PASSWORD) });
    await expect(
      a.as.mutation(api.owners.manage.invite, { ownerKey: "olga", password: ATTACKER_PASSWORD, role: "viewer" } as any),
    ).rejects.toThrow();
    await expectCode(a.as.mutation(api.owners.manage.invite, { ownerKey: "olga", role: "viewer" }), "ALREADY_MEMBER");
    expect((await a.as.query(api.workspaces.manage.current, {})).role).toBe("owner");
    expect(await t.run((ctx) => hasActiveOwner(ctx, a.workspaceId))).toBe(true);
  });
});

describe("one-time set-password code", () => {
  test("a new person gets a code (stored hashed), sets their own password once, then signs in", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1" });
    const r = await a.as.mutation(api.owners.manage.invite, { ownerKey: "nina", role: "admin" });
    expect(r.outcome).toBe("created");
    expect(r.code).toMatch(/^wsp_/);
    expect(r.expiresAt! - Date.now()).toBeLessThanOrEqual(SET_PASSWORD_CODE_TTL_MS);
    const dump = await t.run(async (ctx) =>
      JSON.stringify([
        await ctx.db.query("passwordSetCodes").collect(),
        await ctx.db.query("auditLog").collect(),
        await ctx.db.query("owners").collect(),
      ]),
    );
    expect(dump).not.toContain(r.code!);
    const list = await a.as.query(api.owners.manage.list, {});
    expect(list.find((o) => o.ownerKey === "nina")).toMatchObject({
      invitePending: true,
      builtin: false,
      role: "admin",
      active: true,
    });
    // No password yet: nothing signs in.
    expect((await signIn(t, "nina", "anything-at-all-123")).status).toBe(401);

    expect((await redeem(t, r.code!, "short")).status).toBe(400);
    const res = await redeem(t, r.code!, "nina-chose-this-password");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ownerKey: "nina" });
    expect((await signIn(t, "nina", "nina-chose-this-password")).status).toBe(200);

    // Single use: the same code cannot set another password.
    const again = await redeem(t, r.code!, "someone-elses-password");
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: "CODE_INVALID" });
    expect((await signIn(t, "nina", "nina-chose-this-password")).status).toBe(200);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((x) => x.action)).toEqual(expect.arrayContaining(["owner.invite", "owner.setPassword"]));
    expect(JSON.stringify(audit)).not.toContain("nina-chose-this-password");
  });

  test("a code expires", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1" });
    const r = await a.as.mutation(api.owners.manage.invite, { ownerKey: "late", role: "viewer" });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + SET_PASSWORD_CODE_TTL_MS + 1000);
    const res = await redeem(t, r.code!, "late-but-long-enough");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "CODE_INVALID" });
  });

  test("unknown codes are refused and logged; attempts are rate limited per IP", async () => {
    const t = newT();
    for (let i = 0; i < 20; i++) {
      const res = await redeem(t, `wsp_${"A".repeat(42)}${i % 10}`, "a-long-enough-password");
      expect(res.status).toBe(400);
    }
    expect((await redeem(t, "not-a-code", "a-long-enough-password")).status).toBe(429);
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(events.filter((e) => e.code === "CODE_INVALID")).toHaveLength(20);
  });

  test("inviting a pending invitee again replaces the code; once they have a membership elsewhere, no new code", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1" });
    const b = await member(t, { workspace: "w2" });
    const first = await a.as.mutation(api.owners.manage.invite, { ownerKey: "pend", role: "viewer" });
    const second = await a.as.mutation(api.owners.manage.invite, { ownerKey: "pend", role: "owner" });
    expect(second.outcome).toBe("codeReissued");
    expect(second.code).not.toBe(first.code);
    expect((await redeem(t, first.code!, "a-long-enough-password")).status).toBe(400);
    // The re-invite did not change the role.
    expect((await a.as.query(api.owners.manage.list, {})).find((o) => o.ownerKey === "pend")?.role).toBe("viewer");

    // W2 adds the same pending person: from then on W1 can no longer mint codes for them (W2 would be reachable).
    expect((await b.as.mutation(api.owners.manage.invite, { ownerKey: "pend", role: "owner" })).outcome).toBe("added");
    await expectCode(a.as.mutation(api.owners.manage.invite, { ownerKey: "pend", role: "viewer" }), "ALREADY_MEMBER");
  });

  test("a code cannot overwrite a password the person (or the operator) already set", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1" });
    const r = await a.as.mutation(api.owners.manage.invite, { ownerKey: "ops", role: "viewer" });
    const hash = await hashPassword("operator-set-password");
    await t.mutation(internal.owners.admin.syncOwners, {
      owners: [{ ownerKey: "ops", passwordHash: hash, role: "viewer", active: true, workspace: "w1" }],
    });
    expect((await redeem(t, r.code!, "a-long-enough-password")).status).toBe(400);
    expect(
      (await t.run((ctx) =>
        ctx.db
          .query("owners")
          .withIndex("by_ownerKey", (q) => q.eq("ownerKey", "ops"))
          .unique(),
      ))!.passwordHash,
    ).toBe(hash);
  });
});

describe("deactivation is per membership", () => {
  test("setActive deactivates P's membership in W1 only; P stays active and signs in to W2", async () => {
    const t = newT();
    const { a, p, w1, w2 } = await twoWorkspaces(t);
    await a.as.mutation(api.owners.manage.setActive, { ownerId: p.ownerId, active: false });
    expect((await t.run((ctx) => ctx.db.get(p.ownerId)))!.active).toBe(true);
    expect((await p.as.query(api.workspaces.manage.current, {})).workspaceId).toBe(w2);
    await expectCode(as(t, p.ownerId, w1).query(api.workspaces.manage.current, {}), "MEMBERSHIP_INACTIVE");
    expect((await a.as.query(api.owners.manage.list, {})).find((o) => o.ownerId === p.ownerId)).toMatchObject({
      active: false,
      personActive: true,
    });

    expect((await signIn(t, "pat", P_PASSWORD, w1)).status).toBe(401);
    const res = await signIn(t, "pat", P_PASSWORD, w2);
    expect(res.status).toBe(200);
    // Without a workspace, sign-in picks an active membership.
    expect((await signIn(t, "pat", P_PASSWORD)).status).toBe(200);

    await a.as.mutation(api.owners.manage.setActive, { ownerId: p.ownerId, active: true });
    expect((await as(t, p.ownerId, w1).query(api.workspaces.manage.current, {})).role).toBe("viewer");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((x) => x.action === "membership.setActive")).toHaveLength(2);
  });

  test("a token for a deactivated membership is not refreshed", async () => {
    const t = newT();
    const { a, p, w1 } = await twoWorkspaces(t);
    const { token } = await (await signIn(t, "pat", P_PASSWORD, w1)).json();
    await a.as.mutation(api.owners.manage.setActive, { ownerId: p.ownerId, active: false });
    const r = await t.fetch("/auth/refresh", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    expect(r.status).toBe(401);
  });

  test("remove deletes the membership only; self and other workspaces' members are refused", async () => {
    const t = newT();
    const { a, p, w1 } = await twoWorkspaces(t);
    const other = await member(t, { workspace: "w3" });
    await expectCode(a.as.mutation(api.owners.manage.remove, { ownerId: a.ownerId }), "FORBIDDEN");
    await expectCode(a.as.mutation(api.owners.manage.remove, { ownerId: other.ownerId }), "FORBIDDEN");
    await a.as.mutation(api.owners.manage.remove, { ownerId: p.ownerId });
    await expectCode(as(t, p.ownerId, w1).query(api.workspaces.manage.current, {}), "FORBIDDEN");
    expect((await p.as.query(api.workspaces.manage.current, {})).role).toBe("owner");
    expect((await signIn(t, "pat", P_PASSWORD)).status).toBe(200);
  });
});

describe("last-owner guard", () => {
  test("the helper counts only owners whose membership and person are active", async () => {
    const t = newT();
    const o = await member(t, { workspace: "w1", role: "owner" });
    await member(t, { workspace: "w1", role: "admin" });
    expect(await t.run((ctx) => hasActiveOwner(ctx, o.workspaceId))).toBe(true);
    await t.run((ctx) => ctx.db.patch(o.ownerId, { active: false }));
    expect(await t.run((ctx) => hasActiveOwner(ctx, o.workspaceId))).toBe(false);
    await t.run((ctx) => ctx.db.patch(o.ownerId, { active: true }));
    const m = await t.run((ctx) =>
      ctx.db
        .query("memberships")
        .withIndex("by_owner", (q) => q.eq("ownerId", o.ownerId))
        .unique(),
    );
    await t.run((ctx) => ctx.db.patch(m!._id, { active: false }));
    expect(await t.run((ctx) => hasActiveOwner(ctx, o.workspaceId))).toBe(false);
  });

  test("an owner cannot demote, deactivate or remove themselves; another owner can be", async () => {
    const t = newT();
    const a = await member(t, { workspace: "w1" });
    const b = await member(t, { workspace: "w1" });
    await expectCode(a.as.mutation(api.owners.manage.setRole, { ownerId: a.ownerId, role: "viewer" }), "FORBIDDEN");
    await expectCode(a.as.mutation(api.owners.manage.setActive, { ownerId: a.ownerId, active: false }), "FORBIDDEN");
    await a.as.mutation(api.owners.manage.setRole, { ownerId: b.ownerId, role: "admin" });
    await a.as.mutation(api.owners.manage.setActive, { ownerId: b.ownerId, active: false });
    expect(await t.run((ctx) => hasActiveOwner(ctx, a.workspaceId))).toBe(true);
  });

  const ownerEntry = (ownerKey: string, hash: string, extra: Record<string, unknown> = {}) => ({
    ownerKey,
    passwordHash: hash,
    role: "owner" as const,
    active: true,
    workspace: "ops",
    ...extra,
  });

  test("owners sync may not demote, deactivate or drop a workspace's last active owner (nothing applied)", async () => {
    const t = newT();
    const hash = await hashPassword("file-owner-password");
    await t.mutation(internal.owners.admin.syncOwners, {
      owners: [ownerEntry("boss", hash), ownerEntry("helper", hash, { role: "admin" })],
    });
    const state = () =>
      t.run(async (ctx) => [await ctx.db.query("owners").collect(), await ctx.db.query("memberships").collect()]);
    const before = await state();
    for (const owners of [
      [ownerEntry("boss", hash, { role: "admin" }), ownerEntry("helper", hash, { role: "admin" })],
      [ownerEntry("boss", hash, { active: false }), ownerEntry("helper", hash, { role: "admin" })],
      [ownerEntry("helper", hash, { role: "admin" })], // boss dropped from the file → would be deactivated
    ]) {
      await expect(t.mutation(internal.owners.admin.syncOwners, { owners })).rejects.toThrow(/LAST_OWNER/);
      expect(await state()).toEqual(before);
    }
    // With another owner in place, the same change applies.
    const r = await t.mutation(internal.owners.admin.syncOwners, { owners: [ownerEntry("helper", hash)] });
    expect(r.deactivated).toBe(1);
  });

  test("owners sync may not deactivate the last owner of a workspace the file does not name", async () => {
    const t = newT();
    const hash = await hashPassword("file-owner-password");
    await t.mutation(internal.owners.admin.syncOwners, { owners: [ownerEntry("boss", hash)] });
    const boss = await t.run((ctx) =>
      ctx.db
        .query("owners")
        .withIndex("by_ownerKey", (q) => q.eq("ownerKey", "boss"))
        .unique(),
    );
    // boss also solely owns an invite-made workspace "side"
    const side = await member(t, { workspace: "side", role: "admin" });
    await addMembership(t, boss!._id, side.workspaceId, "owner");
    await expect(
      t.mutation(internal.owners.admin.syncOwners, {
        owners: [ownerEntry("boss", hash, { active: false }), ownerEntry("other", hash)],
      }),
    ).rejects.toThrow(/LAST_OWNER/);
  });
});

describe("change my password", () => {
  test("requires the current password; audited; old password stops working", async () => {
    const t = newT();
    const p = await member(t, { ownerKey: "pia", role: "viewer", passwordHash: await hashPassword(P_PASSWORD) });
    await expectCode(
      p.as.action(api.owners.password.change, {
        currentPassword: "not-my-password",
        newPassword: "brand-new-password-1",
      }),
      "PASSWORD_INCORRECT",
    );
    await expectCode(
      p.as.action(api.owners.password.change, { currentPassword: P_PASSWORD, newPassword: "short" }),
      "ARGS_INVALID",
    );
    expect((await signIn(t, "pia", P_PASSWORD)).status).toBe(200);

    await p.as.action(api.owners.password.change, { currentPassword: P_PASSWORD, newPassword: "brand-new-password-1" });
    expect((await signIn(t, "pia", "brand-new-password-1")).status).toBe(200);
    expect((await signIn(t, "pia", P_PASSWORD)).status).toBe(401);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.find((x) => x.action === "owner.changePassword")).toMatchObject({ actorId: p.ownerId, target: "pia" });
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(events.some((e) => e.code === "PASSWORD_INCORRECT")).toBe(true);
    expect(JSON.stringify([audit, events])).not.toMatch(/brand-new-password|p-own-password|not-my-password/);
  });

  test("wrong current passwords share the account's sign-in failure budget", async () => {
    const t = newT();
    const p = await member(t, { ownerKey: "pia", passwordHash: await hashPassword(P_PASSWORD) });
    for (let i = 0; i < 5; i++) {
      await expectCode(
        p.as.action(api.owners.password.change, {
          currentPassword: `guess-${i}-guess`,
          newPassword: "brand-new-password-1",
        }),
        "PASSWORD_INCORRECT",
      );
    }
    await expectCode(
      p.as.action(api.owners.password.change, { currentPassword: P_PASSWORD, newPassword: "brand-new-password-1" }),
      "RATE_LIMITED",
    );
    expect((await signIn(t, "pia", P_PASSWORD)).status).toBe(429);
  });

  test("signed-out callers cannot change a password", async () => {
    const t = newT();
    await expectCode(
      t.action(api.owners.password.change, { currentPassword: "x", newPassword: "brand-new-password-1" }),
      "UNAUTHENTICATED",
    );
  });
});

describe("sign-in attempts are counted before hashing", () => {
  test("12 concurrent wrong passwords: at most 5 evaluated, the rest RATE_LIMITED", async () => {
    const t = newT();
    await member(t, { ownerKey: "dana", passwordHash: await hashPassword(P_PASSWORD) });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => signIn(t, "dana", `wrong-guess-${i}-guess`, undefined, `10.1.0.${i}`)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    // one deployment-level row per evaluated failure (copies go to the person's workspaces)
    expect(events.filter((e) => e.code === "SIGNIN_FAILED" && e.workspaceId === undefined).length).toBeLessThanOrEqual(
      5,
    );
  }, 60_000);

  test("a successful sign-in gives its attempt back", async () => {
    const t = newT();
    await member(t, { ownerKey: "eve", passwordHash: await hashPassword(P_PASSWORD) });
    for (let i = 0; i < 4; i++) expect((await signIn(t, "eve", `wrong-guess-${i}-guess`)).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await signIn(t, "eve", P_PASSWORD)).status).toBe(200);
    expect((await signIn(t, "eve", "wrong-guess-last")).status).toBe(401);
    expect((await signIn(t, "eve", "wrong-guess-over")).status).toBe(429);
  });
});
