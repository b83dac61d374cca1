// @vitest-environment node
/**
 * Clerk organizations as workspaces (issue 22 item 1) and the Clerk half of the sign-in audit (item 5).
 * Identities are built from claim sets shaped exactly like Clerk's tokens — a v1 JWT-template token
 * (`org_id`, `org_role: "org:admin"`) and a v2 session token (`v: 2`, `o: { id, rol, slg }`) — and
 * mapped to a Convex UserIdentity the way Convex (and the embedded runtime) map verified claims.
 */
import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { claimsToIdentity } from "../../runtime/auth";
import { clerkOrgOf } from "../../convex/access/principal";
import { jitRole } from "../../convex/workspaces/jit";
import { newT, member, expectCode, type T } from "../harness";
import { TEST_ENV } from "../env";

const ISS = `https://${TEST_ENV.CLERK_JWT_ISSUER_DOMAIN}`;
const now = Math.floor(Date.now() / 1000);

/** A Clerk v1 token from the `convex` JWT template with the organization claims added to it. */
function v1Template(sub: string, sid: string, org?: { id: string; role: "org:admin" | "org:member"; slug?: string }) {
  return {
    azp: "https://board.warden.test",
    exp: now + 60,
    iat: now,
    iss: ISS,
    jti: "b1f4c0ffee0123456789",
    nbf: now - 5,
    sid,
    sub,
    aud: "convex",
    name: "Test Person",
    email: `${sub}@example.test`,
    email_verified: true,
    ...(org ? { org_id: org.id, org_role: org.role, org_slug: org.slug ?? "acme" } : {}),
  };
}

/** A Clerk v2 session token (organization under `o`, role without the "org:" prefix). */
function v2Session(sub: string, sid: string, org?: { id: string; rol: "admin" | "member"; slg?: string }) {
  return {
    azp: "https://board.warden.test",
    exp: now + 60,
    fva: [3, -1],
    iat: now,
    iss: ISS,
    nbf: now - 5,
    sid,
    sts: "active",
    sub,
    v: 2,
    ...(org ? { o: { id: org.id, rol: org.rol, slg: org.slg ?? "acme", per: "", fpm: "" } } : {}),
  };
}

function as(t: T, claims: Record<string, unknown>, kind: "oidc" | "customJwt" = "oidc") {
  return t.withIdentity(claimsToIdentity(claims as any, kind) as any);
}

const ORG = "org_2xAcmeCorp0000000000000001";
const OTHER_ORG = "org_2xOtherCorp000000000000002";

afterEach(() => {
  process.env.AUTH_MODE = TEST_ENV.AUTH_MODE;
});

async function clerkPerson(t: T, workspace: string, clerkUserId: string, role: "owner" | "admin" | "viewer" = "owner") {
  const m = await member(t, { workspace, role });
  await t.run((ctx) => ctx.db.patch(m.ownerId, { clerkUserId }));
  return m;
}
const link = (t: T, workspaceId: Id<"workspaces">, clerkOrgId: string) =>
  t.run((ctx) => ctx.db.patch(workspaceId, { clerkOrgId }));

describe("reading the organization from Clerk tokens", () => {
  test("v1 template (org_id/org_role), v2 session (o.id/o.rol) and flattened o.id all read the same", () => {
    const v1 = claimsToIdentity(v1Template("user_1", "sess_1", { id: ORG, role: "org:admin" }) as any, "oidc");
    const v2 = claimsToIdentity(v2Session("user_1", "sess_1", { id: ORG, rol: "admin" }) as any, "oidc");
    const flat = claimsToIdentity(v2Session("user_1", "sess_1", { id: ORG, rol: "member" }) as any, "customJwt");
    expect(clerkOrgOf(v1)).toEqual({ id: ORG, role: "admin" });
    expect(clerkOrgOf(v2)).toEqual({ id: ORG, role: "admin" });
    expect((flat as any)["o.id"]).toBe(ORG);
    expect(clerkOrgOf(flat)).toEqual({ id: ORG, role: "member" });
    expect(clerkOrgOf(claimsToIdentity(v2Session("user_1", "sess_1") as any, "oidc"))).toBeNull();
    expect(clerkOrgOf({ org_id: "not-an-org" })).toBeNull();
  });

  test.each([
    [
      "v1 JWT template",
      (sub: string, org?: string) =>
        v1Template(sub, "sess_abc12345", org ? { id: org, role: "org:member" } : undefined),
    ],
    [
      "v2 session token",
      (sub: string, org?: string) => v2Session(sub, "sess_abc12345", org ? { id: org, rol: "member" } : undefined),
    ],
  ])("%s: the active organization selects its linked workspace, only for members", async (_name, token) => {
    process.env.AUTH_MODE = "clerk";
    const t = newT();
    const a = await clerkPerson(t, "acme", "user_a");
    const b = await member(t, { workspace: "other" });
    await link(t, a.workspaceId, ORG);
    await link(t, b.workspaceId, OTHER_ORG);
    // a belongs to one more workspace: without an active org there is no unique answer.
    await t.run((ctx) =>
      ctx.db.insert("memberships", {
        ownerId: a.ownerId,
        workspaceId: b.workspaceId,
        role: "viewer",
        createdAt: Date.now(),
      }),
    );
    expect((await as(t, token("user_a", ORG)).query(api.workspaces.manage.current, {})).workspaceId).toBe(
      a.workspaceId,
    );
    expect((await as(t, token("user_a", OTHER_ORG)).query(api.workspaces.manage.current, {})).workspaceId).toBe(
      b.workspaceId,
    );
    await expectCode(as(t, token("user_a")).query(api.workspaces.manage.current, {}), "FORBIDDEN");
    // A Clerk user of the organization who has no membership (just-in-time is off by default).
    await t.run((ctx) =>
      ctx.db.insert("owners", {
        ownerKey: "outsider",
        clerkUserId: "user_x",
        active: true,
        createdAt: 0,
        updatedAt: 0,
      }),
    );
    await expectCode(as(t, token("user_x", ORG)).query(api.workspaces.manage.current, {}), "FORBIDDEN");
    await expectCode(as(t, token("user_nobody", ORG)).action(api.owners.sessions.hello, {}), "FORBIDDEN");
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(
      events.some((e) => e.code === "FORBIDDEN" && e.category === "access" && e.source === "subject:user_nobody"),
    ).toBe(true);
  });
});

describe("linking an organization to a workspace", () => {
  test("SyncBoard: an owner links the org they have active, if they are its Clerk admin; the id never comes from an argument", async () => {
    process.env.AUTH_MODE = "both";
    const t = newT();
    const a = await clerkPerson(t, "acme", "user_a");
    // Not linked yet: the active org is ignored and the person's only workspace is used.
    const asMember = as(t, v2Session("user_a", "sess_m0000001", { id: ORG, rol: "member" }));
    expect((await asMember.query(api.workspaces.org.status, {})).activeOrg).toEqual({
      id: ORG,
      role: "member",
      linkedElsewhere: false,
    });
    await expectCode(asMember.mutation(api.workspaces.org.linkActiveOrg, {}), "ORG_ADMIN_REQUIRED");
    await expectCode(a.as.mutation(api.workspaces.org.linkActiveOrg, {}), "ORG_NOT_ACTIVE"); // built-in sign-in
    await expectCode(
      as(t, v2Session("user_a", "sess_n0000001")).mutation(api.workspaces.org.linkActiveOrg, {}),
      "ORG_NOT_ACTIVE",
    );
    // An admin role in Warden is not enough: linking is owner-only.
    const helper = await clerkPerson(t, "acme", "user_h", "admin");
    await expectCode(
      as(t, v1Template("user_h", "sess_h0000001", { id: ORG, role: "org:admin" })).mutation(
        api.workspaces.org.linkActiveOrg,
        {},
      ),
      "FORBIDDEN",
    );
    expect(helper.workspaceId).toBe(a.workspaceId);

    const asAdmin = as(t, v1Template("user_a", "sess_a0000001", { id: ORG, role: "org:admin" }));
    expect(await asAdmin.mutation(api.workspaces.org.linkActiveOrg, {})).toEqual({ clerkOrgId: ORG });
    expect(await asAdmin.query(api.workspaces.org.status, {})).toMatchObject({ clerkOrgId: ORG, jit: false });
    // The same org cannot be linked to a second workspace.
    const b = await clerkPerson(t, "beta", "user_b");
    await expectCode(
      as(t, v1Template("user_b", "sess_b0000001", { id: ORG, role: "org:admin" })).mutation(
        api.workspaces.org.linkActiveOrg,
        {},
      ),
      "FORBIDDEN",
    );
    await expectCode(
      t.mutation(internal.workspaces.org.linkOrg, { workspace: "beta", clerkOrgId: ORG }),
      "ORG_ALREADY_LINKED",
    );
    expect(b.workspaceId).not.toBe(a.workspaceId);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.find((x) => x.action === "workspace.linkClerkOrg")).toMatchObject({
      workspaceId: a.workspaceId,
      target: ORG,
    });
  });

  test("operator (owner CLI) links by workspace slug and can turn just-in-time on; unlink turns it off", async () => {
    const t = newT();
    const a = await member(t, { workspace: "acme" });
    expect(
      await t.mutation(internal.workspaces.org.linkOrg, { workspace: "acme", clerkOrgId: ORG, jit: true }),
    ).toEqual({ workspaceId: a.workspaceId, clerkOrgId: ORG, jit: true });
    await expectCode(
      t.mutation(internal.workspaces.org.linkOrg, { workspace: "acme", clerkOrgId: "org id with spaces" }),
      "ARGS_INVALID",
    );
    await a.as.mutation(api.workspaces.org.unlinkOrg, {});
    expect(await a.as.query(api.workspaces.org.status, {})).toMatchObject({ clerkOrgId: null, jit: false });
    await expectCode(a.as.mutation(api.workspaces.org.setJit, { enabled: true }), "ORG_NOT_LINKED");
  });
});

describe("just-in-time membership (off by default) and the role mapping", () => {
  test("role mapping: Clerk org admin → admin, any other org role → viewer, never owner", () => {
    expect(jitRole("org:admin")).toBe("admin");
    expect(jitRole("admin")).toBe("admin");
    expect(jitRole("org:member")).toBe("viewer");
    expect(jitRole("member")).toBe("viewer");
    expect(jitRole("org:owner")).toBe("viewer");
    expect(jitRole(null)).toBe("viewer");
  });

  test("on: a member of the linked org gets a membership on their first action; it works only with that org active", async () => {
    process.env.AUTH_MODE = "clerk";
    const t = newT();
    const a = await clerkPerson(t, "acme", "user_a");
    await link(t, a.workspaceId, ORG);
    const newcomer = as(t, v2Session("user_new", "sess_new00001", { id: ORG, rol: "member" }));
    await expectCode(newcomer.action(api.owners.sessions.hello, {}), "FORBIDDEN"); // off by default

    await as(t, v2Session("user_a", "sess_a0000001", { id: ORG, rol: "admin" })).mutation(api.workspaces.org.setJit, {
      enabled: true,
    });
    expect(await newcomer.action(api.owners.sessions.hello, {})).toEqual({ provider: "clerk" });
    const cur = await newcomer.query(api.workspaces.manage.current, {});
    expect(cur).toMatchObject({ workspaceId: a.workspaceId, role: "viewer" });
    // An org admin starts as Warden admin (v1 template form).
    await as(t, v1Template("user_boss", "sess_boss0001", { id: ORG, role: "org:admin" })).action(
      api.owners.sessions.hello,
      {},
    );
    expect(
      (
        await as(t, v1Template("user_boss", "sess_boss0001", { id: ORG, role: "org:admin" })).query(
          api.workspaces.manage.current,
          {},
        )
      ).role,
    ).toBe("admin");
    // Without the organization active (e.g. removed from it in Clerk) the membership does not work.
    await expectCode(
      as(t, v2Session("user_new", "sess_new00002")).query(api.workspaces.manage.current, {}),
      "FORBIDDEN",
    );
    // A deactivated JIT membership is not re-created.
    const newcomerId = (await t.run((ctx) =>
      ctx.db
        .query("owners")
        .withIndex("by_clerkUserId", (q) => q.eq("clerkUserId", "user_new"))
        .unique(),
    ))!._id;
    await as(t, v2Session("user_a", "sess_a0000001", { id: ORG, rol: "admin" })).mutation(api.owners.manage.setActive, {
      ownerId: newcomerId,
      active: false,
    });
    // Their Clerk session in this workspace ended at once; a new one finds the membership still inactive.
    await expectCode(newcomer.action(api.owners.sessions.hello, {}), "SESSION_ENDED");
    await expectCode(
      as(t, v2Session("user_new", "sess_new00003", { id: ORG, rol: "member" })).action(api.owners.sessions.hello, {}),
      "MEMBERSHIP_INACTIVE",
    );
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((x) => x.action === "membership.jit")).toHaveLength(2);
    const ms = await t.run((ctx) => ctx.db.query("memberships").collect());
    expect(
      ms
        .filter((m) => m.via === "clerkOrg")
        .map((m) => m.role)
        .sort(),
    ).toEqual(["admin", "viewer"]);
    expect(ms.some((m) => m.via === "clerkOrg" && m.role === "owner")).toBe(false);
  });
});

describe("Clerk sessions: audited on first use, ended from Warden", () => {
  test("the first action of a new Clerk session audits auth.signin once; a new session again; ending it refuses it", async () => {
    process.env.AUTH_MODE = "clerk";
    const t = newT();
    const a = await clerkPerson(t, "acme", "user_a");
    await link(t, a.workspaceId, ORG);
    const s1 = as(t, v1Template("user_a", "sess_one000001", { id: ORG, role: "org:admin" }));
    await s1.action(api.owners.sessions.hello, {});
    await s1.action(api.owners.sessions.hello, {});
    await s1.mutation(api.owners.sessions.endOthers, {});
    const signins = async () =>
      (await t.run((ctx) => ctx.db.query("auditLog").collect())).filter((x) => x.action === "auth.signin");
    expect(await signins()).toHaveLength(1);
    const s2 = as(t, v2Session("user_a", "sess_two000002", { id: ORG, rol: "admin" }));
    await s2.mutation(api.owners.sessions.endOthers, {}); // first use is a mutation: recorded too
    expect(await signins()).toHaveLength(2);
    // s2 ended s1 (the other session): s1 is refused everywhere from now on.
    await expectCode(s1.query(api.workspaces.manage.current, {}), "SESSION_ENDED");
    const list = await s2.query(api.owners.sessions.mine, {});
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ provider: "clerk", current: true });
    await s2.mutation(api.owners.sessions.signOut, {});
    await expectCode(s2.query(api.workspaces.manage.current, {}), "SESSION_ENDED");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.some((x) => x.action === "auth.signout")).toBe(true);
  });
});
