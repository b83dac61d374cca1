/**
 * Migration (issue 22 item 3): link existing owners to Clerk users by verified email, dry run first,
 * idempotent, audited. End to end: owners file with emails → sync → the CLI reads a Clerk export →
 * the live database (convex-test standing in for the runtime's operator socket) → a Clerk token works.
 */
import { describe, expect, test } from "vitest";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { api, internal } from "../../convex/_generated/api";
import { migrateClerk, type MigrateDeps } from "../../scripts/owners-migrate";
import { parseClerkUsers, fetchClerkUsers } from "../../convex/lib/clerkMigration";
import { parseOwnersJson } from "../../convex/lib/ownersFile";
import { newT, expectCode, type T } from "../harness";
import { TEST_ENV } from "../env";

const clerkUser = (id: string, emails: Array<[string, string]>) => ({
  id,
  object: "user",
  email_addresses: emails.map(([email_address, status], i) => ({
    id: `idn_${i}${id.slice(5)}`,
    email_address,
    verification: { status, strategy: "email_code" },
  })),
});

function deps(t: T, env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const d: MigrateDeps = {
    call: (fn, args) => {
      expect(fn).toBe("owners/migrate:linkClerkUsers");
      return t.mutation(internal.owners.migrate.linkClerkUsers, args as any);
    },
    fetch: () => {
      throw new Error("no network in tests");
    },
    env,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  };
  return { d, out, err };
}

const OWNERS = {
  version: 1,
  owners: [
    { ownerKey: "alice", role: "owner", active: true, email: "Alice@Example.com", passwordHash: undefined },
    { ownerKey: "bob", role: "admin", active: true, email: "bob@example.com" },
    { ownerKey: "carol", role: "viewer", active: false, email: "carol@example.com" },
    { ownerKey: "dave", role: "viewer", active: true, email: "dave@example.com", clerkUserId: "user_daveOld" },
    { ownerKey: "erin", role: "viewer", active: true, email: "shared@example.com" },
    { ownerKey: "frank", role: "viewer", active: true },
  ],
};

const EXPORT = [
  clerkUser("user_alice1", [["alice@example.com", "verified"]]),
  clerkUser("user_bobUnverified", [["bob@example.com", "unverified"]]),
  clerkUser("user_carol1", [["carol@example.com", "verified"]]),
  clerkUser("user_dave2", [["dave@example.com", "verified"]]),
  clerkUser("user_shareA", [["shared@example.com", "verified"]]),
  clerkUser("user_shareB", [["shared@example.com", "verified"]]),
  clerkUser("user_stranger", [["nobody@example.com", "verified"]]),
  { id: "not-a-user-id", email_addresses: [] },
];

async function setup(t: T) {
  const file = parseOwnersJson(JSON.stringify(OWNERS));
  await t.mutation(internal.owners.admin.syncOwners, { owners: file.owners });
}
const owner = (t: T, key: string) =>
  t.run((ctx) =>
    ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", key))
      .unique(),
  );

describe("owners migrate-clerk", () => {
  test("dry run prints and changes nothing; --apply links only one-to-one verified matches; re-running changes nothing; audited", async () => {
    const t = newT();
    await setup(t);
    const dir = mkdtempSync(join(tmpdir(), "clerk-export-"));
    const exportFile = join(dir, "users.json");
    writeFileSync(exportFile, JSON.stringify(EXPORT));
    try {
      // Dry run (the default).
      const dry = deps(t);
      expect(await migrateClerk(["--clerk-export", exportFile], dry.d)).toBe(0);
      const text = dry.out.join("\n");
      expect(text).toContain("WOULD LINK alice ← user_alice1 (alice@example.com)");
      expect(text).toMatch(/carol ← user_carol1.*inactive/);
      expect(text).toMatch(/dave ← user_dave2.*another Clerk user/);
      expect(text).toMatch(/user_shareA.*ambiguous/);
      expect(text).not.toContain("user_bobUnverified ("); // unverified address: never considered
      expect(text).toContain("nothing changed; re-run with --apply");
      expect(dry.err.join("\n")).toContain("skipped 1");
      expect((await owner(t, "alice"))!.clerkUserId).toBeUndefined();
      expect(
        (await t.run((ctx) => ctx.db.query("auditLog").collect())).some((a) => a.action === "owner.clerkLinked"),
      ).toBe(false);

      // Apply.
      const run = deps(t);
      expect(await migrateClerk(["--clerk-export", exportFile, "--apply"], run.d)).toBe(0);
      expect(run.out.join("\n")).toContain("LINKED alice ← user_alice1");
      expect((await owner(t, "alice"))!.clerkUserId).toBe("user_alice1");
      expect((await owner(t, "bob"))!.clerkUserId).toBeUndefined();
      expect((await owner(t, "carol"))!.clerkUserId).toBeUndefined();
      expect((await owner(t, "dave"))!.clerkUserId).toBe("user_daveOld");
      expect((await owner(t, "erin"))!.clerkUserId).toBeUndefined();
      const audit = (await t.run((ctx) => ctx.db.query("auditLog").collect())).filter(
        (a) => a.action === "owner.clerkLinked",
      );
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actorLabel: "operator:migrate-clerk", target: "alice" });

      // Idempotent: again, nothing new.
      const again = deps(t);
      expect(await migrateClerk(["--clerk-export", exportFile, "--apply"], again.d)).toBe(0);
      expect(again.out.join("\n")).toContain("alice ← user_alice1 (alice@example.com): already linked");
      expect(again.out.join("\n")).not.toContain("LINKED");
      expect(
        (await t.run((ctx) => ctx.db.query("auditLog").collect())).filter((a) => a.action === "owner.clerkLinked"),
      ).toHaveLength(1);

      // A later owners-file sync keeps the link; Alice's Clerk token now resolves to her owner account.
      await setup(t);
      expect((await owner(t, "alice"))!.clerkUserId).toBe("user_alice1");
      const iss = TEST_ENV.CLERK_JWT_ISSUER_DOMAIN.startsWith("http")
        ? TEST_ENV.CLERK_JWT_ISSUER_DOMAIN
        : `https://${TEST_ENV.CLERK_JWT_ISSUER_DOMAIN}`;
      process.env.AUTH_MODE = "both";
      const asClerk = (sub: string) => t.withIdentity({ issuer: iss, subject: sub, tokenIdentifier: `${iss}|${sub}` });
      expect((await asClerk("user_alice1").query(api.workspaces.manage.current, {})).role).toBe("owner");
      await expectCode(asClerk("user_shareA").query(api.workspaces.manage.current, {}), "FORBIDDEN");
    } finally {
      process.env.AUTH_MODE = TEST_ENV.AUTH_MODE;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an email a workspace never vouched for links nothing: owners without an operator-set email are not matched", async () => {
    const t = newT();
    await setup(t);
    // frank has no email; a Clerk user whose verified address equals his owner key still matches nothing.
    const r = await t.mutation(internal.owners.migrate.linkClerkUsers, {
      users: [{ id: "user_frank", emails: ["frank"] }],
      apply: true,
    });
    expect(r.rows[0].outcome).toBe("no_match");
    expect((await owner(t, "frank"))!.clerkUserId).toBeUndefined();
  });

  test("a Clerk user linked already is never moved, and one owner never gets two Clerk users", async () => {
    const t = newT();
    await setup(t);
    await t.mutation(internal.owners.migrate.linkClerkUsers, {
      users: [{ id: "user_alice1", emails: ["alice@example.com"] }],
      apply: true,
    });
    const r = await t.mutation(internal.owners.migrate.linkClerkUsers, {
      users: [{ id: "user_alice2", emails: ["alice@example.com"] }],
      apply: true,
    });
    expect(r.rows[0]).toMatchObject({ outcome: "conflict", ownerKey: "alice" });
    expect((await owner(t, "alice"))!.clerkUserId).toBe("user_alice1");
  });

  test("without an export it needs CLERK_SECRET_KEY; with one it pages the Backend API (fetch stubbed, no network)", async () => {
    const t = newT();
    await setup(t);
    const none = deps(t);
    expect(await migrateClerk([], none.d)).toBe(2);
    const seen: Array<{ url: string; auth: string | null }> = [];
    const page1 = Array.from({ length: 100 }, (_, i) => clerkUser(`user_p${i}`, [[`p${i}@example.org`, "verified"]]));
    const fake = (async (url: string, init?: RequestInit) => {
      seen.push({ url, auth: new Headers(init?.headers).get("authorization") });
      return new Response(JSON.stringify(url.includes("offset=0") ? page1 : [EXPORT[0]]), { status: 200 });
    }) as unknown as typeof fetch;
    const users = await fetchClerkUsers("sk_test_fake", fake);
    expect(users).toHaveLength(101);
    expect(seen.map((s) => new URL(s.url).host)).toEqual(["api.clerk.com", "api.clerk.com"]);
    expect(seen[0].auth).toBe("Bearer sk_test_fake");
    const api2 = deps(t, { CLERK_SECRET_KEY: "sk_test_fake" });
    api2.d.fetch = fake;
    expect(await migrateClerk(["--apply"], api2.d)).toBe(0);
    expect((await owner(t, "alice"))!.clerkUserId).toBe("user_alice1");
  });

  test("parseClerkUsers keeps only verified addresses, lower-cased", () => {
    const { users } = parseClerkUsers({
      data: [
        clerkUser("user_x", [
          ["X@Y.org", "verified"],
          ["z@y.org", "unverified"],
          ["w@y.org", "expired"],
        ]),
      ],
    });
    expect(users).toEqual([{ id: "user_x", emails: ["x@y.org"] }]);
  });
});

describe("owners set --email (the operator vouches for the address)", () => {
  test("stored lower-cased in the owners file; the sync writes it to the owner", async () => {
    const { spawnSync } = await import("node:child_process");
    const { readFileSync } = await import("node:fs");
    const root = join(__dirname, "../..");
    const dir = mkdtempSync(join(tmpdir(), "owners-email-"));
    const file = join(dir, "owners.json");
    try {
      const r = spawnSync(
        process.execPath,
        [
          join(root, "node_modules/tsx/dist/cli.mjs"),
          join(root, "scripts/owners.ts"),
          "set",
          "alice",
          "--role",
          "owner",
          "--no-password",
          "--email",
          "Alice@Example.COM",
          "--file",
          file,
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const parsed = parseOwnersJson(readFileSync(file, "utf8"));
      expect(parsed.owners[0].email).toBe("alice@example.com");
      const t = newT();
      await t.mutation(internal.owners.admin.syncOwners, { owners: parsed.owners });
      expect((await owner(t, "alice"))!.email).toBe("alice@example.com");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
