// @vitest-environment node
// Operator CLI (issue 20.4): `npm run warden -- <command>` reaches the running embedded runtime over
// <data dir>/operator.sock (mode 0600) and runs allowlisted internal functions against the live
// database: owners list/apply, key rotation start/status, secrets guard. Anything else is refused.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { startRuntime, type Runtime } from "../../runtime/index.js";
import { OPERATOR_FUNCTIONS } from "../../runtime/operator.js";
import { REPO, tempDir } from "./helpers.js";

/** Runs the CLI in a child process (async: the runtime answering it lives in this process). */
function cli(dataDir: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, ["--import", "tsx", join(REPO, "scripts/warden.ts"), ...args], {
    cwd: REPO,
    env: { ...process.env, WARDEN_DATA_DIR: dataDir },
  });
  let out = "";
  let err = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (err += d));
  return new Promise((resolve) => p.on("close", (code) => resolve({ code, out, err })));
}

describe("operator CLI against a running runtime", () => {
  let rt: Runtime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    rt = await startRuntime({
      convexDir: join(REPO, "convex"),
      dataDir,
      port: 0,
      quiet: true,
      ownEnv: true,
      distDir: join(dataDir, "no-ui"),
    });
  });
  afterAll(async () => {
    await rt?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the socket is private to the runtime's account and gone after stop", () => {
    const st = statSync(join(dataDir, "operator.sock"));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  test("owners list shows the live database; owners apply changes it without a restart", async () => {
    const before = await cli(dataDir, ["owners", "list"]);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toMatch(/^OWNER KEY\s+STATUS\s+SIGN-IN\s+MEMBERSHIPS/m);
    expect(before.out).toMatch(/^owner\s+active\s+password\s+default:owner$/m);
    expect(before.out).not.toContain("pbkdf2");
    // The owners file edited by `npm run owners`, applied live.
    const file = join(dataDir, "owners.json");
    const set = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO, "scripts/owners.ts"),
        "set",
        "ada_ops",
        "--role",
        "admin",
        "--password-stdin",
        "--file",
        file,
      ],
      {
        cwd: REPO,
        input: "a-long-enough-password-for-ada\n",
        encoding: "utf8",
      },
    );
    expect(set.status, set.stderr).toBe(0);
    const apply = await cli(dataDir, ["owners", "apply"]);
    expect(apply.code, apply.err).toBe(0);
    expect(JSON.parse(apply.out)).toMatchObject({ created: 1 });
    const after = JSON.parse((await cli(dataDir, ["owners", "list", "--json"])).out);
    expect(after.owners.find((o: { ownerKey: string }) => o.ownerKey === "ada_ops")).toMatchObject({
      active: true,
      hasPassword: true,
      managedByFile: true,
      memberships: [{ workspace: "default", role: "admin", active: true }],
    });
  });

  test("rotation start/status and the secrets guard run against the live process", async () => {
    const guard = await cli(dataDir, ["guard", "check"]);
    expect(guard.code, guard.err).toBe(0);
    expect(JSON.parse(guard.out)).toMatchObject({ ok: true });
    const start = await cli(dataDir, ["rotation", "start", "--batch-size", "10"]);
    expect(start.code, start.err).toBe(0);
    const status = await cli(dataDir, ["rotation", "status"]);
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ current: JSON.parse(start.out).current, remainingOnOldVersions: 0 });
    // Generic form, same allowlist.
    expect((await cli(dataDir, ["run", "secrets/rotation:globalStatus", "{}"])).code).toBe(0);
  });

  test("functions outside the allowlist are refused and every command is audited without arguments", async () => {
    const denied = await cli(dataDir, [
      "run",
      "owners/admin:bootstrapFirstOwner",
      '{"ownerKey":"x","passwordHash":"y"}',
    ]);
    expect(denied.code).toBe(1);
    expect(denied.err).toContain("not on the operator allowlist");
    expect((await cli(dataDir, ["run", "chat/threads:send", "{}"])).code).toBe(1);
    expect(OPERATOR_FUNCTIONS).not.toContain("owners/admin:bootstrapFirstOwner");
    // A raw client gets the same answer (the allowlist is enforced by the runtime, not the CLI).
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(join(dataDir, "operator.sock"));
      let buf = "";
      s.on("connect", () => s.write(`${JSON.stringify({ fn: "owners/password:applyChange", args: {} })}\n`));
      s.on("data", (d) => (buf += d));
      s.on("end", () => resolve(buf));
      s.on("error", reject);
    });
    expect(JSON.parse(raw)).toMatchObject({ ok: false, error: "OPERATOR_FUNCTION_NOT_ALLOWED" });
    const audit = readFileSync(join(dataDir, "operator.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit.some((a) => a.fn === "owners/admin:syncOwners" && a.ok)).toBe(true);
    expect(
      audit.some((a) => a.fn === "owners/admin:bootstrapFirstOwner" && a.error === "OPERATOR_FUNCTION_NOT_ALLOWED"),
    ).toBe(true);
    expect(statSync(join(dataDir, "operator.log")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, "operator.log"), "utf8")).not.toMatch(/pbkdf2|passwordHash/);
  });

  test("usage errors and a stopped runtime give distinct exit codes", async () => {
    expect((await cli(dataDir, ["rotation", "start", "--batch-size", "-1"])).code).toBe(2);
    expect((await cli(dataDir, ["nonsense"])).code).toBe(2);
    const empty = tempDir();
    try {
      const r = await cli(empty, ["owners", "list"]);
      expect(r.code).toBe(3);
      expect(r.err).toContain("No running Warden runtime");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    await rt.stop();
    expect(existsSync(join(dataDir, "operator.sock"))).toBe(false);
  });
});
