// @vitest-environment node
import { describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { internal } from "../../convex/_generated/api";
import { parseOwnersJson } from "../../convex/lib/ownersFile";
import { newT } from "../harness";

const root = join(__dirname, "../..");
function cli(args: string[], input?: string) {
  const r = spawnSync(
    process.execPath,
    [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "scripts/owners.ts"), ...args],
    {
      input: input ?? "",
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("owner CLI round trip", () => {
  test("set → list → sync → sign in → remove → sync → sign-in refused; password never printed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "owners-"));
    const file = join(dir, "owners.json");
    const pw = "cli-password-7f3a9c";
    const set = cli(["set", "ops_lead", "--role", "admin", "--password-stdin", "--file", file], pw + "\n");
    expect(set.code, set.out).toBe(0);
    expect(set.out).not.toContain(pw);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).not.toContain(pw);

    const short = cli(["set", "weak", "--password-stdin", "--file", file], "short\n");
    expect(short.code).toBe(1);

    const list = cli(["list", "--file", file]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/ops_lead\s+admin\s+true/);
    expect(list.out).not.toContain("pbkdf2");

    const t = newT();
    const owners = parseOwnersJson(readFileSync(file, "utf8")).owners;
    await t.mutation(internal.owners.admin.syncOwners, { owners });
    const signIn = (password: string) =>
      t.fetch("/auth/signin", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ownerKey: "ops_lead", password }),
      });
    expect((await signIn(pw)).status).toBe(200);

    expect(cli(["set", "ops_lead", "--active", "false", "--file", file]).code).toBe(0);
    await t.mutation(internal.owners.admin.syncOwners, { owners: parseOwnersJson(readFileSync(file, "utf8")).owners });
    expect((await signIn(pw)).status).toBe(401);
    expect(cli(["set", "ops_lead", "--active", "true", "--file", file]).code).toBe(0);
    await t.mutation(internal.owners.admin.syncOwners, { owners: parseOwnersJson(readFileSync(file, "utf8")).owners });
    expect((await signIn(pw)).status).toBe(200);

    const rm = cli(["remove", "ops_lead", "--file", file]);
    expect(rm.code).toBe(0);
    const res = await t.mutation(internal.owners.admin.syncOwners, {
      owners: parseOwnersJson(readFileSync(file, "utf8")).owners,
    });
    expect(res.deactivated).toBe(1);
    expect((await signIn(pw)).status).toBe(401);
  }, 120_000);

  test("owners JSON rejects weak hashes and duplicates", () => {
    expect(() =>
      parseOwnersJson(
        JSON.stringify({
          version: 1,
          owners: [
            {
              ownerKey: "abc",
              role: "owner",
              active: true,
              passwordHash: "pbkdf2_sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            },
          ],
        }),
      ),
    ).toThrow(/600000/);
    const o = { ownerKey: "abc", role: "owner", active: true };
    expect(() => parseOwnersJson(JSON.stringify({ version: 1, owners: [o, o] }))).toThrow(/twice/);
  });
});

describe("owner CLI: link a Clerk organization to a workspace (operator tier)", () => {
  test("link-org writes the link, sync applies it (JIT on), a second workspace cannot take the same org, none unlinks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "owners-"));
    const file = join(dir, "owners.json");
    const org = "org_2xCliLinked0000000000001";
    expect(
      cli(
        ["set", "boss", "--role", "owner", "--workspace", "acme", "--password-stdin", "--file", file],
        "cli-password-7f3a9c\n",
      ).code,
    ).toBe(0);
    const linked = cli(["link-org", "acme", org, "--jit", "on", "--file", file]);
    expect(linked.code, linked.out).toBe(0);
    expect(cli(["link-org", "beta", org, "--file", file]).code).toBe(1); // already linked to acme in the file
    expect(cli(["link-org", "acme", "not an org", "--file", file]).code).toBe(1);

    const parsed = parseOwnersJson(readFileSync(file, "utf8"));
    expect(parsed.orgLinks).toEqual([{ workspace: "acme", clerkOrgId: org, jit: true }]);
    const t = newT();
    await t.mutation(internal.owners.admin.syncOwners, { owners: parsed.owners, orgLinks: parsed.orgLinks });
    const ws = await t.run((ctx) =>
      ctx.db
        .query("workspaces")
        .withIndex("by_slug", (q) => q.eq("slug", "acme"))
        .unique(),
    );
    expect(ws).toMatchObject({ clerkOrgId: org, clerkOrgJit: true });
    // Applying again changes nothing (no duplicate audit rows).
    await t.mutation(internal.owners.admin.syncOwners, { owners: parsed.owners, orgLinks: parsed.orgLinks });
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((a) => a.action === "workspace.linkClerkOrg")).toHaveLength(1);

    expect(cli(["link-org", "acme", "none", "--file", file]).code).toBe(0);
    const after = parseOwnersJson(readFileSync(file, "utf8"));
    await t.mutation(internal.owners.admin.syncOwners, { owners: after.owners, orgLinks: after.orgLinks });
    const unlinked = await t.run((ctx) => ctx.db.get(ws!._id));
    expect([unlinked?.clerkOrgId, unlinked?.clerkOrgJit]).toEqual([undefined, undefined]);
  }, 120_000);
});
