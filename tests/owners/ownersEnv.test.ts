// @vitest-environment node
/**
 * Owners from env JSON (seed 004), end to end as the file path is tested: the owner CLI writes
 * the JSON, the operator puts it into WARDEN_OWNERS_JSON, `owners/admin:syncFromEnv` applies it,
 * and sign-in follows every change. A missing, malformed or weak value changes nothing.
 */
import { afterEach, describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { internal } from "../../convex/_generated/api";
import { newT, type T } from "../harness";

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

const signIn = (t: T, ownerKey: string, password: string) =>
  t.fetch("/auth/signin", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ownerKey, password }),
  });

/** `npx convex env set WARDEN_OWNERS_JSON "$(cat owners.json)" && npx convex run owners/admin:syncFromEnv` */
async function deployEnv(t: T, file: string) {
  process.env.WARDEN_OWNERS_JSON = readFileSync(file, "utf8");
  return await t.mutation(internal.owners.admin.syncFromEnv, {});
}

afterEach(() => {
  delete process.env.WARDEN_OWNERS_JSON;
});

describe("owners from WARDEN_OWNERS_JSON (syncFromEnv)", () => {
  test("CLI → env → syncFromEnv → sign in; deactivate, reactivate and remove follow; password never stored in clear", async () => {
    const dir = mkdtempSync(join(tmpdir(), "owners-env-"));
    const file = join(dir, "owners.json");
    const pw = "env-password-4c1e7b";
    const pw2 = "env-password-second-9d2a";
    expect(cli(["set", "env_owner", "--role", "owner", "--password-stdin", "--file", file], pw + "\n").code).toBe(0);
    expect(cli(["set", "env_viewer", "--role", "viewer", "--password-stdin", "--file", file], pw2 + "\n").code).toBe(0);

    const t = newT();
    expect(await deployEnv(t, file)).toEqual({ created: 2, updated: 0, deactivated: 0 });
    expect((await signIn(t, "env_owner", pw)).status).toBe(200);
    expect((await signIn(t, "env_viewer", pw2)).status).toBe(200);
    const stored = JSON.stringify(await t.run((ctx) => ctx.db.query("owners").collect()));
    expect(stored).not.toContain(pw);
    const roles = await t.run(async (ctx) => (await ctx.db.query("memberships").collect()).map((m) => m.role).sort());
    expect(roles).toEqual(["owner", "viewer"]);

    // idempotent
    expect(await deployEnv(t, file)).toEqual({ created: 0, updated: 2, deactivated: 0 });

    expect(cli(["set", "env_viewer", "--active", "false", "--file", file]).code).toBe(0);
    await deployEnv(t, file);
    expect((await signIn(t, "env_viewer", pw2)).status).toBe(401);
    expect(cli(["set", "env_viewer", "--active", "true", "--file", file]).code).toBe(0);
    await deployEnv(t, file);
    expect((await signIn(t, "env_viewer", pw2)).status).toBe(200);

    expect(cli(["remove", "env_viewer", "--file", file]).code).toBe(0);
    expect((await deployEnv(t, file)).deactivated).toBe(1);
    expect((await signIn(t, "env_viewer", pw2)).status).toBe(401);
    expect((await signIn(t, "env_owner", pw)).status).toBe(200);

    // audited as the owners sync
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((a) => a.actorLabel === "owners-sync").map((a) => a.action)).toEqual(
      expect.arrayContaining(["owner.create", "owner.update"]),
    );
  }, 180_000);

  test("unset, malformed, weak or last-owner-dropping values are refused and apply nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "owners-env-"));
    const file = join(dir, "owners.json");
    const pw = "env-password-7a7a7a";
    expect(cli(["set", "boss", "--role", "owner", "--password-stdin", "--file", file], pw + "\n").code).toBe(0);
    const t = newT();
    await deployEnv(t, file);
    const snapshot = async () =>
      JSON.stringify(
        await t.run(async (ctx) => [
          await ctx.db.query("owners").collect(),
          await ctx.db.query("memberships").collect(),
        ]),
      );
    const before = await snapshot();

    delete process.env.WARDEN_OWNERS_JSON;
    await expect(t.mutation(internal.owners.admin.syncFromEnv, {})).rejects.toThrow(/WARDEN_OWNERS_JSON is not set/);
    for (const bad of [
      "{not json",
      JSON.stringify({
        version: 1,
        owners: [
          {
            ownerKey: "x",
            role: "owner",
            active: true,
            passwordHash: "pbkdf2_sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
          },
        ],
      }),
      JSON.stringify({ version: 1, owners: [{ ownerKey: "x", role: "root", active: true }] }),
    ]) {
      process.env.WARDEN_OWNERS_JSON = bad;
      await expect(t.mutation(internal.owners.admin.syncFromEnv, {})).rejects.toThrow();
    }
    // dropping the only owner is refused as a whole (LAST_OWNER)
    process.env.WARDEN_OWNERS_JSON = JSON.stringify({ version: 1, owners: [] });
    await expect(t.mutation(internal.owners.admin.syncFromEnv, {})).rejects.toThrow(/LAST_OWNER/);
    expect(await snapshot()).toBe(before);
    expect((await signIn(t, "boss", pw)).status).toBe(200);
  }, 120_000);
});
