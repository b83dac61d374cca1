/**
 * Machine tokens (issue 22 item 6): the runner handshake (device code + user code), capability-scoped
 * operator calls, refresh only while the grant lives, revocation, and the guessing limits.
 */
import { afterEach, describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { newT, member, expectCode, type T } from "../harness";
import { LIMIT_DEFAULTS } from "../../convex/lib/limitsCatalog";
import { normalizeUserCode, newUserCode } from "../../convex/lib/runnerCaps";

const json = { "Content-Type": "application/json" };
type Started = { deviceCode: string; userCode: string; expiresIn: number; interval: number };

async function start(t: T, name = "build-box"): Promise<Started> {
  const res = await t.fetch("/runner/device/start", { method: "POST", headers: json, body: JSON.stringify({ name }) });
  expect(res.status).toBe(200);
  return (await res.json()) as Started;
}
const poll = (t: T, deviceCode: string) =>
  t.fetch("/runner/device/token", { method: "POST", headers: json, body: JSON.stringify({ deviceCode }) });
const call = (t: T, token: string, path: string, method = "GET", body?: unknown) =>
  t.fetch(path, {
    method,
    headers: { ...json, Authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

type Owner = Awaited<ReturnType<typeof member>>;

/** The whole handshake: start, approve as `owner`, collect the token. */
async function handshake(t: T, owner: Owner, capabilities: string[], name = "ci-runner") {
  const s = await start(t, name);
  const ok = await owner.as.mutation(api.runners.manage.approve, { userCode: s.userCode, name, capabilities });
  expect(ok.ok).toBe(true);
  const res = await poll(t, s.deviceCode);
  expect(res.status).toBe(200);
  return {
    ...s,
    ...((await res.json()) as {
      token: string;
      grantId: Id<"runnerGrants">;
      capabilities: string[];
      expiresAt: number;
      grantExpiresAt: number;
    }),
  };
}

afterEach(() => {
  delete process.env.WARDEN_OPERATOR_OWNERS;
});

describe("the runner handshake", () => {
  test("start → pending → owner sees and approves the code → token once → capability calls work", async () => {
    const t = newT();
    const olivia = await member(t, { ownerKey: "olivia", workspace: "w1" });
    await member(t, { ownerKey: "vera", workspace: "w1", role: "viewer" });
    await member(t, { ownerKey: "other", workspace: "w2" });

    const s = await start(t, "laptop-cli");
    expect(s.deviceCode).toMatch(/^wdc_/);
    expect(normalizeUserCode(s.userCode)).toBe(s.userCode);
    expect(s.interval).toBeGreaterThan(0);
    // Only hashes are stored.
    const stored = JSON.stringify(await t.run((ctx) => ctx.db.query("runnerDeviceRequests").collect()));
    expect(stored).not.toContain(s.deviceCode);
    expect(stored).not.toContain(s.userCode);

    const pending = await poll(t, s.deviceCode);
    expect(pending.status).toBe(400);
    expect(await errorOf(pending)).toBe("RUNNER_REQUEST_PENDING");

    // The owner types the code (any case, without the dash) and sees what asked.
    const seen = await olivia.as.mutation(api.runners.manage.lookup, {
      userCode: s.userCode.toLowerCase().replace("-", " "),
    });
    expect(seen).toMatchObject({ ok: true, requestedName: "laptop-cli" });
    if (!seen.ok) throw new Error("unreachable");
    expect(seen.capabilities.map((c) => c.name).sort()).toEqual(["guard", "owners.read", "rotation", "skills.sync"]);
    expect(seen.capabilities.find((c) => c.name === "guard")!.grantable).toBe(false);

    const ok = await olivia.as.mutation(api.runners.manage.approve, {
      userCode: s.userCode,
      name: "olivia-laptop",
      capabilities: ["owners.read", "skills.sync"],
      days: 2,
    });
    expect(ok.ok).toBe(true);

    const got = await poll(t, s.deviceCode);
    expect(got.status).toBe(200);
    expect(got.headers.get("cache-control")).toBe("no-store");
    const tok = (await got.json()) as {
      token: string;
      capabilities: string[];
      expiresAt: number;
      grantExpiresAt: number;
    };
    expect(tok.token).toMatch(/^wrt_/);
    expect(tok.capabilities).toEqual(["owners.read", "skills.sync"]);
    // Expires in hours; the grant in the chosen days.
    expect(tok.expiresAt - Date.now()).toBeLessThanOrEqual(4 * 3600_000 + 1000);
    expect(tok.expiresAt - Date.now()).toBeGreaterThan(3600_000);
    expect(tok.grantExpiresAt - Date.now()).toBeGreaterThan(47 * 3600_000);
    expect(JSON.stringify(await t.run((ctx) => ctx.db.query("runnerGrants").collect()))).not.toContain(tok.token);

    // Delivered once: the device code is spent.
    const again = await poll(t, s.deviceCode);
    expect(await errorOf(again)).toBe("RUNNER_REQUEST_INVALID");

    const who = await call(t, tok.token, "/runner/whoami");
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({
      name: "olivia-laptop",
      workspaceId: olivia.workspaceId,
      capabilities: ["owners.read", "skills.sync"],
    });

    // owners.read: the grant's workspace only (never w2's people), no hashes.
    const people = await call(t, tok.token, "/runner/ops/owners");
    expect(people.status).toBe(200);
    const body = (await people.json()) as { members: { ownerKey: string }[] };
    expect(body.members.map((m) => m.ownerKey).sort()).toEqual(["olivia", "vera"]);
    expect(JSON.stringify(body)).not.toMatch(/pbkdf2|passwordHash/);

    const synced = await call(t, tok.token, "/runner/ops/skills/sync", "POST");
    expect(synced.status).toBe(200);
    expect(await synced.json()).toHaveProperty("unchanged");

    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    const actions = audit.filter((a) => a.action.startsWith("runner.")).map((a) => `${a.action}:${a.actorLabel}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "runner.approved:olivia",
        "runner.tokenIssued:runner:olivia-laptop",
        "runner.call:runner:olivia-laptop",
        "runner.skillsSynced:runner:olivia-laptop",
      ]),
    );
    expect(audit.every((a) => a.workspaceId === olivia.workspaceId)).toBe(true);

    // The owner lists it (no token, no hash) and sees it was collected.
    const list = await olivia.as.query(api.runners.manage.list, {});
    expect(list.grants).toHaveLength(1);
    expect(list.grants[0]).toMatchObject({ name: "olivia-laptop", approvedBy: "olivia", collected: true });
    expect(JSON.stringify(list)).not.toContain(tok.token);
  });

  test("each runner gets its own token; revoking one leaves the other working", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const a = await handshake(t, o, ["owners.read"], "runner-a");
    const b = await handshake(t, o, ["owners.read"], "runner-b");
    expect(a.token).not.toBe(b.token);
    await o.as.mutation(api.runners.manage.revoke, { grantId: a.grantId });
    expect((await call(t, a.token, "/runner/whoami")).status).toBe(401);
    expect((await call(t, b.token, "/runner/whoami")).status).toBe(200);
  });

  test("a denied request hands out nothing", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const s = await start(t);
    expect(await o.as.mutation(api.runners.manage.deny, { userCode: s.userCode })).toEqual({ ok: true });
    expect(await errorOf(await poll(t, s.deviceCode))).toBe("RUNNER_REQUEST_DENIED");
    expect((await t.run((ctx) => ctx.db.query("auditLog").collect())).map((a) => a.action)).toContain("runner.denied");
  });
});

describe("a token does only what its capabilities list", () => {
  test("owners.read cannot guard, rotate or sync; each refusal is a security event", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    process.env.WARDEN_OPERATOR_OWNERS = "olivia";
    const { token } = await handshake(t, o, ["owners.read"]);
    for (const [path, method] of [
      ["/runner/ops/guard", "GET"],
      ["/runner/ops/rotation/start", "POST"],
      ["/runner/ops/rotation/status", "GET"],
      ["/runner/ops/skills/sync", "POST"],
    ] as const) {
      const res = await call(t, token, path, method);
      expect(res.status, path).toBe(403);
      expect(await errorOf(res)).toBe("CAPABILITY_REQUIRED");
    }
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(events.filter((e) => e.code === "CAPABILITY_REQUIRED")).toHaveLength(4);
    // Nothing ran: no rotation was scheduled, no skill synced.
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((a) => a.action === "runner.call")).toHaveLength(0);
    expect(await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).toHaveLength(0);
  });

  test("deployment-wide capabilities: only an owner the operator named may grant them, and only while named", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const s = await start(t);
    // Not named by the operator: refused (the request stays pending).
    await expectCode(
      o.as.mutation(api.runners.manage.approve, { userCode: s.userCode, name: "ops", capabilities: ["guard"] }),
      "CAPABILITY_NOT_ALLOWED",
    );
    process.env.WARDEN_OPERATOR_OWNERS = "someone-else, olivia";
    expect(
      (
        await o.as.mutation(api.runners.manage.approve, {
          userCode: s.userCode,
          name: "ops",
          capabilities: ["guard", "rotation"],
        })
      ).ok,
    ).toBe(true);
    const { token } = (await (await poll(t, s.deviceCode)).json()) as { token: string };

    const guard = await call(t, token, "/runner/ops/guard");
    expect(guard.status).toBe(200);
    // The test environment's key is a published one: the guard says so (code only, never the key).
    expect(await guard.json()).toEqual({ ok: false, code: "SECRET_KEY_INSECURE" });
    const saved = process.env.SKILL_SECRET_ENCRYPTION_KEY;
    process.env.SKILL_SECRET_ENCRYPTION_KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString(
      "base64",
    );
    try {
      expect(await (await call(t, token, "/runner/ops/guard")).json()).toMatchObject({
        ok: true,
        keyVersion: expect.any(String),
      });
    } finally {
      process.env.SKILL_SECRET_ENCRYPTION_KEY = saved;
    }
    const status = await call(t, token, "/runner/ops/rotation/status");
    expect(status.status).toBe(200);
    expect(await status.json()).toHaveProperty("remainingOnOldVersions");
    const started = await call(t, token, "/runner/ops/rotation/start", "POST", { batchSize: 10 });
    expect(started.status).toBe(200);
    expect(await started.json()).toHaveProperty("current");

    // The operator drops the person: the same token loses those capabilities at once.
    process.env.WARDEN_OPERATOR_OWNERS = "someone-else";
    expect((await call(t, token, "/runner/ops/guard")).status).toBe(403);
    expect(await (await call(t, token, "/runner/whoami")).json()).toMatchObject({ capabilities: [] });
  });

  test("only an owner of the workspace approves; admins and viewers are refused", async () => {
    const t = newT();
    await member(t, { ownerKey: "olivia" });
    const adam = await member(t, { ownerKey: "adam", role: "admin" });
    const vera = await member(t, { ownerKey: "vera", role: "viewer" });
    const s = await start(t);
    await expectCode(
      adam.as.mutation(api.runners.manage.approve, { userCode: s.userCode, name: "x", capabilities: ["owners.read"] }),
      "FORBIDDEN",
    );
    await expectCode(vera.as.mutation(api.runners.manage.lookup, { userCode: s.userCode }), "FORBIDDEN");
  });

  test("another workspace's owner cannot see or revoke a grant", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia", workspace: "w1" });
    const other = await member(t, { ownerKey: "mallory", workspace: "w2" });
    const { grantId, token } = await handshake(t, o, ["owners.read"]);
    expect((await other.as.query(api.runners.manage.list, {})).grants).toHaveLength(0);
    await expectCode(other.as.mutation(api.runners.manage.revoke, { grantId }), "FORBIDDEN");
    expect((await call(t, token, "/runner/whoami")).status).toBe(200);
  });
});

describe("expiry, refresh and revocation", () => {
  test("refresh replaces the token; the old one stops working (and is recorded when presented again)", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const { token } = await handshake(t, o, ["owners.read"]);
    const r = await call(t, token, "/runner/token/refresh", "POST");
    expect(r.status).toBe(200);
    const next = ((await r.json()) as { token: string }).token;
    expect(next).not.toBe(token);
    expect((await call(t, next, "/runner/whoami")).status).toBe(200);
    const old = await call(t, token, "/runner/whoami");
    expect(old.status).toBe(401);
    expect(await errorOf(old)).toBe("RUNNER_TOKEN_INVALID");
    expect((await call(t, token, "/runner/token/refresh", "POST")).status).toBe(401);
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(events.some((e) => e.code === "RUNNER_TOKEN_INVALID" && e.workspaceId === o.workspaceId)).toBe(true);
    expect((await t.run((ctx) => ctx.db.query("auditLog").collect())).map((a) => a.action)).toContain("runner.refresh");
  });

  test("an expired token is refused and cannot be refreshed", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const { token, grantId } = await handshake(t, o, ["owners.read"]);
    await t.run((ctx) => ctx.db.patch(grantId, { tokenExpiresAt: Date.now() - 1 }));
    expect((await call(t, token, "/runner/ops/owners")).status).toBe(401);
    expect((await call(t, token, "/runner/token/refresh", "POST")).status).toBe(401);
  });

  test("refresh works only while the grant lives", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const { token, grantId } = await handshake(t, o, ["owners.read"]);
    await t.run((ctx) => ctx.db.patch(grantId, { expiresAt: Date.now() - 1 }));
    expect((await call(t, token, "/runner/token/refresh", "POST")).status).toBe(401);
    expect((await call(t, token, "/runner/whoami")).status).toBe(401);
  });

  test("revoked: calls and refresh fail at once, also for a token refreshed before", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const { token, grantId } = await handshake(t, o, ["owners.read"]);
    const next = ((await (await call(t, token, "/runner/token/refresh", "POST")).json()) as { token: string }).token;
    await o.as.mutation(api.runners.manage.revoke, { grantId });
    expect((await call(t, next, "/runner/ops/owners")).status).toBe(401);
    expect((await call(t, next, "/runner/token/refresh", "POST")).status).toBe(401);
    expect((await o.as.query(api.runners.manage.list, {})).grants).toHaveLength(0);
    expect((await t.run((ctx) => ctx.db.query("auditLog").collect())).map((a) => a.action)).toContain("runner.revoked");
  });

  test("a grant dies with its approver's ownership", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    await member(t, { ownerKey: "otto" }); // keeps the workspace owned
    const { token } = await handshake(t, o, ["owners.read"]);
    await t.run(async (ctx) => {
      const m = await ctx.db
        .query("memberships")
        .withIndex("by_owner_workspace", (q) => q.eq("ownerId", o.ownerId).eq("workspaceId", o.workspaceId))
        .unique();
      await ctx.db.patch(m!._id, { role: "admin" });
    });
    expect((await call(t, token, "/runner/whoami")).status).toBe(401);
    expect((await call(t, token, "/runner/token/refresh", "POST")).status).toBe(401);
  });

  test("a revoked grant's device code does not hand out a token", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const s = await start(t);
    const r = await o.as.mutation(api.runners.manage.approve, {
      userCode: s.userCode,
      name: "x",
      capabilities: ["owners.read"],
    });
    if (!r.ok) throw new Error("approve failed");
    await o.as.mutation(api.runners.manage.revoke, { grantId: r.grantId });
    expect(await errorOf(await poll(t, s.deviceCode))).toBe("RUNNER_REQUEST_INVALID");
  });
});

describe("guessing is limited", () => {
  test("device codes: after the unknown-code budget every poll from that source is refused, the right code too", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const s = await start(t);
    await o.as.mutation(api.runners.manage.approve, { userCode: s.userCode, name: "x", capabilities: ["owners.read"] });
    const budget = LIMIT_DEFAULTS.runnerBadCodePerIp.rate;
    for (let i = 0; i < budget; i++)
      expect(await errorOf(await poll(t, `wdc_guess${i}aaaaaaaaaaaaaaaaaaaa`))).toBe("RUNNER_REQUEST_INVALID");
    const blocked = await poll(t, s.deviceCode);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    const events = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(events.filter((e) => e.code === "RUNNER_REQUEST_INVALID")).toHaveLength(budget);
  });

  test("user codes are single use, and wrong codes are limited per owner", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const s = await start(t);
    expect(
      (
        await o.as.mutation(api.runners.manage.approve, {
          userCode: s.userCode,
          name: "x",
          capabilities: ["owners.read"],
        })
      ).ok,
    ).toBe(true);
    // The same code again: approve, deny or look up.
    expect(
      await o.as.mutation(api.runners.manage.approve, {
        userCode: s.userCode,
        name: "y",
        capabilities: ["owners.read"],
      }),
    ).toMatchObject({ ok: false, code: "RUNNER_REQUEST_INVALID" });
    expect(await o.as.mutation(api.runners.manage.deny, { userCode: s.userCode })).toMatchObject({
      ok: false,
      code: "RUNNER_REQUEST_INVALID",
    });
    expect(await t.run((ctx) => ctx.db.query("runnerGrants").collect())).toHaveLength(1);

    // Two failures so far; guess until the budget is spent, then even a right code is refused.
    const fresh = await start(t, "second");
    for (let i = 2; i < LIMIT_DEFAULTS.runnerCodeEntryPerOwner.rate; i++) {
      let guess = newUserCode();
      while (guess === fresh.userCode) guess = newUserCode();
      expect((await o.as.mutation(api.runners.manage.lookup, { userCode: guess })).ok).toBe(false);
    }
    expect(await o.as.mutation(api.runners.manage.lookup, { userCode: fresh.userCode })).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
  });

  test("starting handshakes is rate limited per source", async () => {
    const t = newT();
    for (let i = 0; i < LIMIT_DEFAULTS.runnerStartPerIp.rate; i++) await start(t, `r${i}`);
    const res = await t.fetch("/runner/device/start", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ name: "one-more" }),
    });
    expect(res.status).toBe(429);
    expect(await errorOf(res)).toBe("RATE_LIMITED");
  });

  test("tokens are checked by hash and prefix: a device code or garbage is not a token", async () => {
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const h = await handshake(t, o, ["owners.read"]);
    expect((await call(t, h.deviceCode, "/runner/whoami")).status).toBe(401);
    expect((await call(t, "wrt_notARealToken", "/runner/whoami")).status).toBe(401);
    expect((await t.fetch("/runner/whoami")).status).toBe(401);
  });
});

describe("the operator CLI against a remote deployment (--remote)", () => {
  test("login through the handshake, then capability-scoped commands; the token file is 0600 and bound to its URL", async () => {
    const { remoteMain } = await import("../../scripts/warden-remote");
    const { mkdtempSync, statSync, readFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const t = newT();
    const o = await member(t, { ownerKey: "olivia" });
    const dir = mkdtempSync(join(tmpdir(), "warden-remote-"));
    const file = join(dir, "runner.json");
    const out: string[] = [];
    const err: string[] = [];
    const base = "https://warden.example.com";
    const seen: string[] = [];
    let approved = false;
    const deps = {
      // The deployment is convex-test: strip the origin, keep path and request.
      fetch: (url: string, init?: RequestInit) => {
        seen.push(new URL(url).origin);
        return t.fetch(new URL(url).pathname, init);
      },
      sleep: async () => {
        // The owner approves while the CLI waits (after its first pending poll).
        if (!approved && out.length > 0) {
          const code = /code: (\S+)/.exec(out[0])![1];
          approved = true;
          expect(
            (
              await o.as.mutation(api.runners.manage.approve, {
                userCode: code,
                name: "remote-cli",
                capabilities: ["owners.read"],
              })
            ).ok,
          ).toBe(true);
        }
      },
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      env: {},
    };
    try {
      expect(await remoteMain(base, ["login", "--name", "remote-cli", "--token-file", file], deps)).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(readFileSync(file, "utf8")) as { url: string; token: string };
      expect(saved.url).toBe(base);
      expect(out.join("\n")).not.toContain(saved.token); // saved, not printed

      out.length = 0;
      expect(await remoteMain(base, ["owners", "list", "--token-file", file], deps)).toBe(0);
      expect(out.join("\n")).toContain('"olivia"');
      // Outside its capabilities: refused by the server, reported, non-zero.
      expect(await remoteMain(base, ["guard", "check", "--token-file", file], deps)).toBe(1);
      expect(err.pop()).toContain("CAPABILITY_REQUIRED");
      // Refresh rewrites the file; the old token is dead.
      expect(await remoteMain(base, ["token", "refresh", "--token-file", file], deps)).toBe(0);
      const next = JSON.parse(readFileSync(file, "utf8")) as { token: string };
      expect(next.token).not.toBe(saved.token);
      expect(await remoteMain(base, ["whoami"], { ...deps, env: { WARDEN_RUNNER_TOKEN: saved.token } })).toBe(1);
      expect(err.pop()).toContain("RUNNER_TOKEN_INVALID");
      // The file's token is never sent to another deployment, and plain http is refused off loopback.
      const before = seen.length;
      expect(await remoteMain("https://evil.example.net", ["whoami", "--token-file", file], deps)).toBe(2);
      expect(await remoteMain("http://warden.example.com", ["whoami", "--token-file", file], deps)).toBe(2);
      expect(seen.length).toBe(before);
      expect(seen.every((s) => s === base)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
