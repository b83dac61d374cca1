// @vitest-environment node
/**
 * OAuth to upstream MCP servers (issue 19 item 3), end to end against an authorization server
 * built with the MCP SDK's auth router and a protected SDK McpServer, both on 127.0.0.1 behind
 * https host names (./egress.ts maps them; every other egress rule is the production one):
 * register → configure OAuth → approve → Connect (discovery, RFC 7591 registration, PKCE) → the
 * owner's browser follows the authorize redirect → GET /oauth/upstream/callback → tools/list →
 * tools/call through the checker; refresh on expiry and on 401; a revoked grant disables the
 * server; tokens never in a table in clear, in logs, or in a request to another host; the state
 * is single use, expires, and cannot be used for another workspace.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import schema from "../../convex/schema";
import { newT, member, expectCode, type T } from "../harness";
import { egress } from "./egress";
import { authServer, protectedMcpServer } from "./upstreamOAuthServers";

vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("./egress")).wrap(await orig()));

const savedLoopback = process.env.WARDEN_TEST_ALLOW_LOOPBACK;
beforeAll(() => {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
});
afterAll(() => {
  if (savedLoopback === undefined) delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
  else process.env.WARDEN_TEST_ALLOW_LOOPBACK = savedLoopback;
});

const open: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

type Owner = Awaited<ReturnType<typeof member>>;
let n = 0;

async function upstream(opts: { advertise?: (asHost: string) => string[] } = {}) {
  const i = ++n;
  const asHost = `as${i}.oauth-test.com`;
  const mcpHost = `mcp${i}.oauth-test.com`;
  const issuer = `https://${asHost}/`;
  const url = `https://${mcpHost}/mcp`;
  const as = await authServer(issuer);
  const mcp = await protectedMcpServer({ url, issuer, provider: as.provider, advertise: opts.advertise?.(asHost) });
  open.push(as, mcp);
  egress.ports.set(asHost, as.port);
  egress.ports.set(mcpHost, mcp.port);
  return { as, mcp, asHost, mcpHost, issuer, url };
}
type Upstream = Awaited<ReturnType<typeof upstream>>;

async function registered(t: T, owner: Owner, up: Upstream, name = "ext") {
  const serverId = await owner.as.mutation(api.mcp.outbound.servers.register, { name, url: up.url });
  await owner.as.mutation(api.mcp.outbound.upstreamAuth.configure, { serverId });
  await owner.as.mutation(api.mcp.outbound.servers.approve, { serverId });
  await t.finishAllScheduledFunctions(() => {});
  return serverId;
}

/** The owner's browser: GET the authorize URL at the AS, follow its redirect to Warden's callback. */
async function browser(t: T, up: Upstream, authorizationUrl: string) {
  const u = new URL(authorizationUrl);
  expect(u.protocol).toBe("https:");
  expect(u.hostname).toBe(up.asHost);
  const res = await fetch(`http://127.0.0.1:${up.as.port}${u.pathname}${u.search}`, { redirect: "manual" });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.get("location")!);
  expect(back.origin + back.pathname).toBe("https://warden.test/oauth/upstream/callback");
  return back;
}

async function callback(t: T, back: URL) {
  const res = await t.fetch(back.pathname + back.search, { method: "GET" });
  return { status: res.status, location: res.headers.get("location") ?? "" };
}

async function connectAll(t: T, owner: Owner, up: Upstream, serverId: Id<"mcpServers">) {
  const { authorizationUrl } = await owner.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId });
  const back = await browser(t, up, authorizationUrl);
  const r = await callback(t, back);
  await t.finishAllScheduledFunctions(() => {}); // the tool listing a connection schedules
  return { authorizationUrl, back, ...r };
}

function call(t: T, owner: Owner, serverId: Id<"mcpServers">, text: string) {
  return t.action(internal.security.checker.callMcpTool, {
    workspaceId: owner.workspaceId,
    serverId,
    toolName: "echo",
    input: { text },
    caller: { kind: "agent", id: "thread-1", audience: "ownerSender", tainted: false },
  });
}

async function allTables(t: T): Promise<string> {
  return await t.run(async (ctx) => {
    const out: unknown[] = [];
    for (const name of Object.keys((schema as any).tables)) out.push(await ctx.db.query(name as any).take(5000));
    return JSON.stringify(out);
  });
}

async function authRow(t: T, serverId: Id<"mcpServers">) {
  return await t.run(
    async (ctx) =>
      await ctx.db
        .query("mcpUpstreamAuth")
        .withIndex("by_server", (q) => q.eq("serverId", serverId))
        .unique(),
  );
}

describe("upstream OAuth", () => {
  test("register → connect (discovery, dynamic registration, PKCE, callback) → tools/list → tools/call; secrets stay sealed and on their own host", async () => {
    const logs: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((k) =>
      vi.spyOn(console, k).mockImplementation((...a: unknown[]) => void logs.push(a.map(String).join(" "))),
    );
    egress.fetched.length = 0;
    const up = await upstream();
    const t = newT();
    const owner = await member(t, { role: "owner" });
    const serverId = await registered(t, owner, up);
    // not connected yet: nothing is sent without a token
    expect(await t.action(internal.mcp.outbound.client.refreshTools, { serverId })).toMatchObject({
      ok: false,
      code: "MCP_OAUTH_REQUIRED",
    });
    expect(up.mcp.requests).toHaveLength(0);

    const { authorizationUrl, status, location } = await connectAll(t, owner, up, serverId);
    const a = new URL(authorizationUrl);
    expect(a.searchParams.get("code_challenge_method")).toBe("S256");
    expect(a.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.searchParams.get("resource")).toBe(up.url);
    expect(a.searchParams.get("redirect_uri")).toBe("https://warden.test/oauth/upstream/callback");
    expect(a.searchParams.get("state")!.length).toBeGreaterThanOrEqual(32);
    // discovery went: server 401 → RFC 9728 metadata → RFC 8414 metadata → RFC 7591 registration
    expect(up.mcp.requests[0]).toMatchObject({ method: "POST", url: "/mcp" });
    expect(up.mcp.requests[0].headers.authorization).toBeUndefined();
    expect(up.mcp.requests.some((r) => r.url === "/.well-known/oauth-protected-resource/mcp")).toBe(true);
    expect(up.as.requests.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining(["GET /.well-known/oauth-authorization-server", "POST /register", "POST /token"]),
    );
    expect(status).toBe(303);
    expect(location).toBe("https://board.warden.test/mcp?oauth=connected&server=ext");
    expect(up.as.provider.grants.code).toBe(1);
    const status1 = await owner.as.query(api.mcp.outbound.upstreamAuth.status, { serverId });
    expect(status1).toMatchObject({ configured: true, status: "connected", issuer: up.issuer, clientRegistered: true });

    // tools/list with the token (scheduled by the connection), then a call through the checker
    const tools = (await owner.as.query(api.mcp.outbound.servers.get, { serverId })).tools;
    expect(tools.map((x: any) => [x.name, x.status])).toEqual([["echo", "approved"]]);
    expect(await call(t, owner, serverId, "hi")).toEqual({
      ok: true,
      output: { content: [{ type: "text", text: "echo: hi" }] },
    });

    // never in clear: not in any table, not in logs
    const [access] = up.as.provider.issued.access;
    const [refresh] = up.as.provider.issued.refresh;
    const [code] = up.as.provider.issued.codes;
    const dump = await allTables(t);
    for (const s of [access, refresh, code, a.searchParams.get("state")!]) {
      expect(dump).not.toContain(s);
      expect(logs.join("\n")).not.toContain(s);
    }
    const secretNames = (await owner.as.query(api.secrets.manage.listMcpServerSecrets, { serverId })).map(
      (s: any) => s.name,
    );
    expect(secretNames.sort()).toEqual(["OAUTH_ACCESS_TOKEN", "OAUTH_REFRESH_TOKEN"]);
    // only to its own host: the access token to the MCP server (Authorization header), the refresh
    // token and code only to the token endpoint
    for (const f of egress.fetched) {
      const text = JSON.stringify(f.init);
      const u = new URL(f.url);
      if (text.includes(access)) {
        expect(u.href).toBe(up.url);
        expect(f.init.headers.authorization).toBe(`Bearer ${access}`);
      }
      if (text.includes(refresh) || text.includes(code)) expect(u.href).toBe(`${up.issuer}token`);
    }
    expect(egress.fetched.filter((f) => JSON.stringify(f.init).includes(access)).length).toBeGreaterThanOrEqual(2);
    expect(egress.fetched.filter((f) => JSON.stringify(f.init).includes(code))).toHaveLength(1);
    expect(up.as.requests.some((r) => JSON.stringify(r).includes(access))).toBe(false);
    expect(up.mcp.requests.some((r) => JSON.stringify(r).includes(refresh))).toBe(false);
    for (const s of spies) s.mockRestore();

    // deleting the server takes its OAuth row and tokens with it
    await owner.as.mutation(api.mcp.outbound.servers.remove, { serverId });
    await t.finishAllScheduledFunctions(() => {});
    expect(await t.run(async (ctx) => await ctx.db.query("mcpUpstreamAuth").take(10))).toEqual([]);
    expect(await t.run(async (ctx) => await ctx.db.query("mcpServerSecrets").take(10))).toEqual([]);
  });

  test("refresh on expiry and on 401: the rotated refresh token is stored again", async () => {
    const up = await upstream();
    const t = newT();
    const owner = await member(t, { role: "owner" });
    const serverId = await registered(t, owner, up);
    await connectAll(t, owner, up, serverId);
    expect(await call(t, owner, serverId, "one")).toMatchObject({ ok: true });
    const before = await t.run(async (ctx) => await ctx.db.query("mcpServerSecrets").take(10));

    // 1. our record says the access token expired → refreshed before the request
    await t.run(async (ctx) => {
      const row = await ctx.db
        .query("mcpUpstreamAuth")
        .withIndex("by_server", (q) => q.eq("serverId", serverId))
        .unique();
      await ctx.db.patch(row!._id, { accessExpiresAt: Date.now() - 1000 });
    });
    expect(await call(t, owner, serverId, "two")).toMatchObject({
      ok: true,
      output: { content: [{ text: "echo: two" }] },
    });
    expect(up.as.provider.grants.refresh).toBe(1);
    const after = await t.run(async (ctx) => await ctx.db.query("mcpServerSecrets").take(10));
    const ct = (rows: any[], name: string) => rows.find((r) => r.name === name)?.ciphertext;
    expect(ct(after, "OAUTH_REFRESH_TOKEN")).not.toBe(ct(before, "OAUTH_REFRESH_TOKEN"));
    expect(ct(after, "OAUTH_ACCESS_TOKEN")).not.toBe(ct(before, "OAUTH_ACCESS_TOKEN"));
    // the first refresh token was spent at the AS (rotation): only the new one is live
    expect(up.as.provider.refresh.has(up.as.provider.issued.refresh[0])).toBe(false);
    expect(up.as.provider.refresh.has(up.as.provider.issued.refresh[1])).toBe(true);
    expect((await authRow(t, serverId))?.lastRefreshAt).toBeTypeOf("number");

    // 2. the server refuses a token we still think valid → 401 → refresh → the call is retried once
    up.as.provider.expireAccessTokens();
    const unauthorizedBefore = up.mcp.requests.length;
    expect(await call(t, owner, serverId, "three")).toMatchObject({
      ok: true,
      output: { content: [{ text: "echo: three" }] },
    });
    expect(up.as.provider.grants.refresh).toBe(2);
    expect(up.mcp.requests.slice(unauthorizedBefore).filter((r) => r.url === "/mcp").length).toBeGreaterThan(1);

    // 3. two calls at once on an expired token: one refresh (a rotated refresh token is used once)
    await t.run(async (ctx) => {
      const row = await ctx.db
        .query("mcpUpstreamAuth")
        .withIndex("by_server", (q) => q.eq("serverId", serverId))
        .unique();
      await ctx.db.patch(row!._id, { accessExpiresAt: Date.now() - 1000 });
    });
    const both = await Promise.all([call(t, owner, serverId, "p1"), call(t, owner, serverId, "p2")]);
    expect(both).toMatchObject([{ ok: true }, { ok: true }]);
    expect(up.as.provider.grants.refresh).toBe(3);
  });

  test("a revoked upstream grant disables the server, deletes its tokens and notifies", async () => {
    const up = await upstream();
    const t = newT();
    const owner = await member(t, { role: "owner" });
    const serverId = await registered(t, owner, up);
    await connectAll(t, owner, up, serverId);
    expect(await call(t, owner, serverId, "ok")).toMatchObject({ ok: true });
    up.as.provider.revokeAll();
    expect(await call(t, owner, serverId, "gone")).toEqual({ ok: false, code: "MCP_OAUTH_REVOKED" });
    const server = (await owner.as.query(api.mcp.outbound.servers.get, { serverId })).server;
    expect(server).toMatchObject({ status: "disabled", enabled: false, disabledReason: "oauth_revoked" });
    expect(await owner.as.query(api.mcp.outbound.upstreamAuth.status, { serverId })).toMatchObject({
      status: "revoked",
    });
    expect(await owner.as.query(api.secrets.manage.listMcpServerSecrets, { serverId })).toEqual([]);
    const notes = await t.run(async (ctx) => await ctx.db.query("notifications").take(50));
    expect(notes.filter((x: any) => x.kind === "mcp_oauth_revoked")).toHaveLength(1);
    const events = await t.run(async (ctx) => await ctx.db.query("securityEvents").take(100));
    expect(events.some((e: any) => e.code === "MCP_OAUTH_REVOKED")).toBe(true);
    expect(await call(t, owner, serverId, "again")).toEqual({ ok: false, code: "MCP_SERVER_DISABLED" });
    // connect again, then an owner enables it
    const again = await connectAll(t, owner, up, serverId);
    expect(again.location).toContain("oauth=connected");
    await owner.as.mutation(api.mcp.outbound.servers.enable, { serverId });
    await t.finishAllScheduledFunctions(() => {});
    expect(await call(t, owner, serverId, "back")).toMatchObject({ ok: true });
  });

  test("the state is single use, expires, and cannot be used by another workspace", async () => {
    const up = await upstream();
    const t = newT();
    const a = await member(t, { role: "owner", workspace: "ws-a" });
    const b = await member(t, { role: "owner", workspace: "ws-b" });
    const serverA = await registered(t, a, up, "ext");
    const serverB = await registered(t, b, up, "ext");

    // B cannot start (or see) an authorization for A's server
    await expectCode(b.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId: serverA }), "NOT_FOUND");
    await expectCode(b.as.query(api.mcp.outbound.upstreamAuth.status, { serverId: serverA }), "FORBIDDEN");

    // A's code presented with B's state: B's verifier does not match A's challenge → refused
    const startA = await a.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId: serverA });
    const startB = await b.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId: serverB });
    const backA = await browser(t, up, startA.authorizationUrl);
    const backB = await browser(t, up, startB.authorizationUrl);
    const swapped = new URL(backB.href);
    swapped.searchParams.set("code", backA.searchParams.get("code")!);
    const r1 = await callback(t, swapped);
    expect(r1.location).toBe("https://board.warden.test/mcp?oauth=failed&code=MCP_OAUTH_EXCHANGE_FAILED");
    expect(await b.as.query(api.mcp.outbound.upstreamAuth.status, { serverId: serverB })).toMatchObject({
      status: "not_connected",
    });
    expect(up.as.provider.grants.code).toBe(0);

    // B's state is spent now: its own code cannot use it either
    const r2 = await callback(t, backB);
    expect(r2.location).toContain("code=MCP_OAUTH_STATE_INVALID");
    // A's state still works once, and a replay of the same callback is refused without a token request
    const r3 = await callback(t, backA);
    expect(r3.location).toContain("oauth=connected");
    const tokenCalls = up.as.requests.filter((r) => r.url === "/token").length;
    const r4 = await callback(t, backA);
    expect(r4.location).toContain("code=MCP_OAUTH_STATE_INVALID");
    expect(up.as.requests.filter((r) => r.url === "/token").length).toBe(tokenCalls);
    // an unknown state
    const forged = new URL(backA.href);
    forged.searchParams.set("state", "wus_" + "A".repeat(43));
    expect((await callback(t, forged)).location).toContain("code=MCP_OAUTH_STATE_INVALID");

    // an expired state
    const startA2 = await a.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId: serverA });
    const backA2 = await browser(t, up, startA2.authorizationUrl);
    await t.run(async (ctx) => {
      for (const s of await ctx.db.query("mcpUpstreamAuthStates").take(50))
        if (s.usedAt === undefined) await ctx.db.patch(s._id, { expiresAt: Date.now() - 1 });
    });
    expect((await callback(t, backA2)).location).toContain("code=MCP_OAUTH_STATE_INVALID");
    const events = await t.run(async (ctx) => await ctx.db.query("securityEvents").take(200));
    expect(events.filter((e: any) => e.code === "MCP_OAUTH_STATE_INVALID").length).toBeGreaterThanOrEqual(4);
  });

  test("a pre-registered client id is used as is (no registration)", async () => {
    const up = await upstream();
    up.as.provider.clients.set("warden-pre", {
      client_id: "warden-pre",
      redirect_uris: ["https://warden.test/oauth/upstream/callback"],
      token_endpoint_auth_method: "none",
    } as any);
    const t = newT();
    const owner = await member(t, { role: "owner" });
    const serverId = await owner.as.mutation(api.mcp.outbound.servers.register, { name: "ext", url: up.url });
    await owner.as.mutation(api.mcp.outbound.upstreamAuth.configure, {
      serverId,
      clientId: "warden-pre",
      scope: "mcp:tools",
    });
    await owner.as.mutation(api.mcp.outbound.servers.approve, { serverId });
    await t.finishAllScheduledFunctions(() => {});
    const r = await connectAll(t, owner, up, serverId);
    expect(new URL(r.authorizationUrl).searchParams.get("client_id")).toBe("warden-pre");
    expect(new URL(r.authorizationUrl).searchParams.get("scope")).toBe("mcp:tools");
    expect(r.location).toContain("oauth=connected");
    expect(up.as.requests.some((x) => x.url === "/register")).toBe(false);
    expect(await call(t, owner, serverId, "pre")).toMatchObject({ ok: true });
  });

  test("an authorization server that is not https, or not a public host, is refused before any request", async () => {
    for (const advertise of [
      (h: string) => [`http://${h}/`],
      () => ["https://127.0.0.1/"],
      () => ["https://169.254.169.254/"],
    ]) {
      egress.fetched.length = 0;
      const up = await upstream({ advertise });
      const t = newT();
      const owner = await member(t, { role: "owner" });
      const serverId = await registered(t, owner, up);
      await expectCode(
        owner.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId }),
        "MCP_OAUTH_DISCOVERY_FAILED",
      );
      // nothing but https ever reached the egress guard, and an address literal went to the real
      // guard (no test mapping), which refuses it; the AS saw nothing
      const others = egress.fetched.filter((f) => new URL(f.url).hostname !== up.mcpHost);
      expect(others.every((f) => f.url.startsWith("https://") && !egress.ports.has(new URL(f.url).hostname))).toBe(
        true,
      );
      expect(up.as.requests).toHaveLength(0);
      expect(await owner.as.query(api.mcp.outbound.upstreamAuth.status, { serverId })).toMatchObject({
        status: "not_connected",
        clientRegistered: false,
      });
    }
  });

  test("the health check does not count an OAuth server waiting for Connect as failing", async () => {
    const up = await upstream();
    const t = newT();
    const owner = await member(t, { role: "owner" });
    const serverId = await registered(t, owner, up);
    for (let i = 0; i < 4; i++) await t.action(internal.mcp.outbound.health.checkAll, {});
    expect((await owner.as.query(api.mcp.outbound.servers.get, { serverId })).server).toMatchObject({
      status: "approved",
      enabled: true,
      consecutiveFailures: 0,
    });
    expect(up.mcp.requests).toHaveLength(0);
  });

  test("a viewer cannot connect; a pending server is never contacted", async () => {
    const up = await upstream();
    const t = newT();
    const owner = await member(t, { role: "owner" });
    const viewer = await member(t, { role: "viewer" });
    const serverId = await owner.as.mutation(api.mcp.outbound.servers.register, { name: "ext", url: up.url });
    await owner.as.mutation(api.mcp.outbound.upstreamAuth.configure, { serverId });
    await expectCode(viewer.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId }), "FORBIDDEN");
    await expectCode(owner.as.action(api.mcp.outbound.upstreamOAuth.connect, { serverId }), "MCP_SERVER_NOT_APPROVED");
    expect(up.mcp.requests).toHaveLength(0);
    expect(up.as.requests).toHaveLength(0);
  });
});
