// @vitest-environment node
/**
 * Warden's own /mcp endpoint, driven by the SDK Client over convex-test's t.fetch, plus raw
 * requests for what a well-behaved client never sends.
 */
import { describe, expect, test } from "vitest";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { OAuthProtectedResourceMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { api, internal } from "../../convex/_generated/api";
import { newT, expectCode, member } from "../harness";
import { TEST_ENV } from "../env";
import { sha256Hex } from "../../convex/lib/tokens";
import { MCP_URL, connect, initialize, mint, post, table, workspaceWithSkills } from "./helpers";

const PRM = "https://warden.test/.well-known/oauth-protected-resource/mcp";
const WWW = `Bearer error="invalid_token", resource_metadata="${PRM}"`;

async function expect401(p: Promise<unknown>) {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(StreamableHTTPError);
  expect(err.code).toBe(401);
}

describe("RFC 9728 metadata", () => {
  test("both well-known routes are public and describe /mcp", async () => {
    const t = newT();
    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const res = await t.fetch(path);
      expect(res.status).toBe(200);
      const doc = await res.json();
      expect(OAuthProtectedResourceMetadataSchema.parse(doc)).toBeTruthy();
      expect(doc).toEqual({
        resource: MCP_URL,
        authorization_servers: ["https://warden.test"],
        bearer_methods_supported: ["header"],
        scopes_supported: [],
        resource_name: "Warden MCP server",
      });
    }
  });
});

describe("authentication", () => {
  test("no token → 401 with WWW-Authenticate pointing at the metadata; the SDK client cannot connect", async () => {
    const t = newT();
    await workspaceWithSkills(t);
    const res = await post(t, initialize());
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(WWW);
    expect(await res.json()).toEqual({ error: "UNAUTHENTICATED" });
    await expect401(connect(t, null));
    const events = (await table(t, "securityEvents")).filter((e: any) => e.code === "UNAUTHENTICATED");
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0].detail).toContain("ip=");
    expect(await table(t, "mcpSessions")).toHaveLength(0);
  });

  test("malformed, unknown, revoked, expired and other-audience tokens → 401", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const good = await mint(owner, ["calc"]);
    await expect401(connect(t, "not-a-token"));
    await expect401(connect(t, `wdn_mcp_${"A".repeat(43)}`));
    await expect401(connect(t, good.token.slice(0, -1) + (good.token.endsWith("A") ? "B" : "A")));

    const revoked = await mint(owner, ["calc"]);
    await owner.as.mutation(api.mcp.inbound.tokens.revoke, { tokenId: revoked.tokenId });
    await expect401(connect(t, revoked.token));

    const expired = await mint(owner, ["calc"]);
    await t.run(async (ctx) => await ctx.db.patch(expired.tokenId, { expiresAt: Date.now() - 1 }));
    await expect401(connect(t, expired.token));

    // A token minted for another resource (e.g. before the public URL changed).
    const saved = process.env.WARDEN_PUBLIC_BASE_URL;
    process.env.WARDEN_PUBLIC_BASE_URL = "https://other.warden.example";
    const foreign = await mint(owner, ["calc"]);
    process.env.WARDEN_PUBLIC_BASE_URL = saved;
    expect(foreign.audience).toBe("https://other.warden.example/mcp");
    await expect401(connect(t, foreign.token));

    const details = (await table(t, "securityEvents")).map((e: any) => e.detail).join("\n");
    for (const reason of [
      "unknown token",
      "revoked token",
      "expired token",
      "another audience",
      "missing or malformed",
    ]) {
      expect(details).toContain(reason);
    }
    // The good token still works.
    const { client } = await connect(t, good.token);
    await client.close();
  });

  test("revoking a token ends its open session at once", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const { client } = await connect(t, tok.token);
    expect((await client.listTools()).tools).toHaveLength(1);
    await owner.as.mutation(api.mcp.inbound.tokens.revoke, { tokenId: tok.tokenId });
    await expect401(client.listTools());
    const sessions = await table(t, "mcpSessions");
    expect(sessions.every((s: any) => s.closedAt !== undefined)).toBe(true);
  });

  test("tokens: shown once, stored hashed with prefix and audience; only owners mint/revoke; list never shows hashes", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const admin = await member(t, { role: "admin" });
    const viewer = await member(t, { role: "viewer" });
    await expectCode(
      admin.as.mutation(api.mcp.inbound.tokens.mint, { name: "x", toolScopes: ["calc"], expiresInDays: 1 }),
      "FORBIDDEN",
    );
    const tok = await mint(owner, ["calc"]);
    expect(tok.token).toMatch(/^wdn_mcp_[A-Za-z0-9_-]{43}$/);
    expect(tok.audience).toBe(MCP_URL);
    const row: any = (await table(t, "mcpClientTokens"))[0];
    expect(row.tokenHash).toBe(await sha256Hex(tok.token));
    expect(row.prefix).toBe(tok.token.slice(0, 12));
    expect(JSON.stringify(await table(t, "mcpClientTokens"))).not.toContain(tok.token);
    const listed = await viewer.as.query(api.mcp.inbound.tokens.list, {});
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(row.tokenHash);
    expect(listed[0]).toMatchObject({ prefix: row.prefix, toolScopes: ["calc"], revoked: false });
    await expectCode(admin.as.mutation(api.mcp.inbound.tokens.revoke, { tokenId: tok.tokenId }), "FORBIDDEN");
    await expectCode(
      owner.as.mutation(api.mcp.inbound.tokens.mint, { name: "x", toolScopes: ["Bad Scope"], expiresInDays: 1 }),
      "CONFIG_INVALID",
    );
    await expectCode(
      owner.as.mutation(api.mcp.inbound.tokens.mint, { name: "x", toolScopes: [], expiresInDays: 0 }),
      "CONFIG_INVALID",
    );
    const audit = (await table(t, "auditLog")).filter((a: any) => a.action.startsWith("mcp.token"));
    expect(audit.map((a: any) => a.action)).toEqual(["mcp.token.mint"]);
    expect(JSON.stringify(audit)).not.toContain(tok.token);
    // Another workspace's owner cannot revoke it.
    const other = await member(t, { role: "owner", workspace: "ws-b" });
    await expectCode(other.as.mutation(api.mcp.inbound.tokens.revoke, { tokenId: tok.tokenId }), "FORBIDDEN");
  });
});

describe("tools through the checker", () => {
  test("lists only approved skills in the token's scopes; calls run through invokeSkill and are logged", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc", "draft"]);
    const { client } = await connect(t.withRequestMetadata({ ip: "203.0.113.7" }), tok.token);
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name)).toEqual(["calc"]);
    expect(tools[0].inputSchema).toMatchObject({ type: "object", required: ["expression"] });
    const r: any = await client.callTool({ name: "calc", arguments: { expression: "6*7" } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ result: 42 });
    // Pending skill in scope: refused by the checker.
    const d: any = await client.callTool({ name: "draft", arguments: { expression: "1" } });
    expect(d).toMatchObject({ isError: true, content: [{ type: "text", text: "SKILL_NOT_APPROVED" }] });
    // Invalid input: refused by the checker.
    const bad: any = await client.callTool({ name: "calc", arguments: { expression: 5 } });
    expect(bad.content[0].text).toBe("INPUT_INVALID");

    const log = await table(t, "invocationLog");
    const ok = log.find((l: any) => l.allowed);
    expect(ok).toMatchObject({
      targetKind: "skill",
      targetName: "calc",
      callerKind: "mcp-client",
      callerId: tok.tokenId,
    });
    const connected = (await table(t, "activityLog")).filter((a: any) => a.kind === "mcp.client_connected");
    expect(connected).toHaveLength(1);
    expect(connected[0]).toMatchObject({ visibility: "private", meta: { client: tok.prefix, ip: "203.0.113.7" } });
    const tokenRow: any = (await table(t, "mcpClientTokens"))[0];
    expect(tokenRow.lastUsedAt).toBeGreaterThan(0);
    await client.close();
  });

  test("a tool outside the token's scopes is a tool error and a security event; the skill never runs", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const { client } = await connect(t, tok.token);
    const r: any = await client.callTool({ name: "clock", arguments: { zone: "UTC" } });
    expect(r).toMatchObject({ isError: true, content: [{ type: "text", text: "MCP_TOOL_OUT_OF_SCOPE" }] });
    const events = (await table(t, "securityEvents")).filter((e: any) => e.code === "MCP_TOOL_OUT_OF_SCOPE");
    expect(events).toHaveLength(1);
    expect(events[0].detail).toContain("tool=clock");
    expect(events[0].detail).toContain(`client=${tok.prefix}`);
    expect((await table(t, "invocationLog")).filter((l: any) => l.targetName === "clock")).toHaveLength(0);
  });
});

describe("transport hardening", () => {
  test("GET → 405 Allow: POST, DELETE (no standalone stream)", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const res = await t.fetch("/mcp", {
      method: "GET",
      headers: { authorization: `Bearer ${tok.token}`, accept: "text/event-stream" },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, DELETE");
  });

  test("a foreign Origin → 403 and logged; a configured one or none is fine", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const res = await post(t, initialize(), { authorization: `Bearer ${tok.token}`, origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "ORIGIN_NOT_ALLOWED" });
    const ev = (await table(t, "securityEvents")).filter((e: any) => e.code === "ORIGIN_NOT_ALLOWED");
    expect(ev[0].detail).toContain("origin=https://evil.example");
    expect(await table(t, "mcpSessions")).toHaveLength(0);
    const { client } = await connect(t, tok.token, { origin: TEST_ENV.WARDEN_ALLOWED_ORIGINS });
    expect((await client.listTools()).tools).toHaveLength(1);
  });

  test("a body over 1 MB → 413 before anything else runs", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const huge = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "calc", arguments: { expression: "1".repeat(1024 * 1024) } },
    });
    const res = await post(t, huge, { authorization: `Bearer ${tok.token}` });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "PAYLOAD_TOO_LARGE" });
    expect(await table(t, "invocationLog")).toHaveLength(0);
  });

  test("at most 5 open sessions per client token; a 6th ends that client's least recently used one", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const clients = [];
    for (let i = 0; i < 5; i++)
      clients.push((await connect(t.withRequestMetadata({ ip: `198.51.100.${i}` }), tok.token)).client);
    const other = await mint(owner, ["calc"], { name: "other" });
    const otherClient = (await connect(t.withRequestMetadata({ ip: "198.51.100.20" }), other.token)).client;
    const sixth = await post(t.withRequestMetadata({ ip: "198.51.100.9" }), initialize(), {
      authorization: `Bearer ${tok.token}`,
    });
    expect(sixth.status).toBe(200);
    expect(sixth.headers.get("mcp-session-id")).toMatch(/^mcps_[A-Za-z0-9_-]{43}$/);
    const open = ((await table(t, "mcpSessions")) as any[]).filter(
      (s) => s.clientTokenId === tok.tokenId && s.closedAt === undefined,
    );
    expect(open).toHaveLength(5);
    // The first (least recently used) is gone; the other four and the other client still work.
    await expect(clients[0].listTools()).rejects.toMatchObject({ code: 404 });
    for (const c of clients.slice(1)) expect((await c.listTools()).tools).toHaveLength(1);
    expect((await otherClient.listTools()).tools).toHaveLength(1);
  });

  test("at most 10 new sessions per minute per IP", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const toks = [await mint(owner, ["calc"]), await mint(owner, ["calc"]), await mint(owner, ["calc"])];
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      // forged forwarding headers do not make a new source
      const forged = { "x-real-ip": `10.3.0.${i}`, "x-forwarded-for": `10.4.0.${i}` };
      const res = await post(t.withRequestMetadata({ ip: "192.0.2.55" }), initialize(), {
        authorization: `Bearer ${toks[Math.floor(i / 4)].token}`,
        ...forged,
      });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(await res.json()).toEqual({ error: "RATE_LIMITED" });
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([...Array(10).fill(200), 429]);
    const fromElsewhere = await post(t.withRequestMetadata({ ip: "192.0.2.56" }), initialize(), {
      authorization: `Bearer ${toks[2].token}`,
    });
    expect(fromElsewhere.status).toBe(200);
    const hit = (await table(t, "securityEvents")).find((e: any) => e.code === "RATE_LIMITED");
    expect(hit.detail).toBe("limit=mcpSessionsPerIp");
  });

  test("per-client rate limit → 429 + Retry-After", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    await owner.as.mutation(api.limits.manage.set, { name: "mcpPerClient", rate: 4, periodMs: 60_000 });
    const tok = await mint(owner, ["calc"]);
    const { client } = await connect(t, tok.token); // initialize + initialized = 2 requests
    await client.listTools(); // 3
    await client.callTool({ name: "calc", arguments: { expression: "1" } }); // 4
    const err = await client.listTools().then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(StreamableHTTPError);
    expect(err.code).toBe(429);
    const ev = (await table(t, "securityEvents")).find((e: any) => e.code === "RATE_LIMITED");
    expect(ev).toMatchObject({ detail: "limit=mcpPerClient", source: `mcpClient:${tok.tokenId}` });
  });
});

describe("sessions", () => {
  test("session ids are unguessable, stored hashed, bound to their client, and never a credential", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"], { name: "a" });
    const b = await mint(owner, ["calc"], { name: "b" });
    const init = await post(t, initialize(), { authorization: `Bearer ${a.token}` });
    expect(init.status).toBe(200);
    const sid = init.headers.get("mcp-session-id")!;
    expect(sid).toMatch(/^mcps_[A-Za-z0-9_-]{43}$/);
    const stored: any[] = await table(t, "mcpSessions");
    expect(stored).toHaveLength(1);
    expect(stored[0].sessionIdHash).toBe(await sha256Hex(sid));
    expect(JSON.stringify(stored)).not.toContain(sid);

    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const v = { "mcp-protocol-version": "2025-06-18" };
    // The owner of the session: fine.
    const okRes = await post(t, list, { ...v, authorization: `Bearer ${a.token}`, "mcp-session-id": sid });
    expect(okRes.status).toBe(200);
    expect((await okRes.json()).result.tools).toHaveLength(1);
    // Another client's token with this session id: 404 and a security event.
    const stolen = await post(t, list, { ...v, authorization: `Bearer ${b.token}`, "mcp-session-id": sid });
    expect(stolen.status).toBe(404);
    const ev = (await table(t, "securityEvents")).filter((e: any) => e.code === "MCP_SESSION_MISMATCH");
    expect(ev).toHaveLength(1);
    expect(ev[0].detail).toContain(`client=${b.prefix}`);
    // The session id alone is not a credential.
    const noToken = await post(t, list, { ...v, "mcp-session-id": sid });
    expect(noToken.status).toBe(401);
    // Missing session id after initialize: 400; unknown or malformed: 404.
    expect((await post(t, list, { ...v, authorization: `Bearer ${a.token}` })).status).toBe(400);
    expect(
      (await post(t, list, { ...v, authorization: `Bearer ${a.token}`, "mcp-session-id": `mcps_${"x".repeat(43)}` }))
        .status,
    ).toBe(404);
    expect((await post(t, list, { ...v, authorization: `Bearer ${a.token}`, "mcp-session-id": "guess" })).status).toBe(
      404,
    );
  });

  test("housekeeping closes idle sessions and deletes long-closed ones (bounded, via the health cron)", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    for (let i = 0; i < 3; i++)
      expect((await post(t, initialize(), { authorization: `Bearer ${tok.token}` })).status).toBe(200);
    const ids: any[] = (await table(t, "mcpSessions")).map((s: any) => s._id);
    const now = Date.now();
    await t.run(async (ctx) => {
      await ctx.db.patch(ids[0], { lastSeenAt: now - 11 * 60_000 });
      await ctx.db.patch(ids[1], { closedAt: now - 8 * 86_400_000 });
    });
    const r = await t.action(internal.mcp.outbound.health.checkAll, {});
    expect(r.checked).toBe(0);
    const left: any[] = await table(t, "mcpSessions");
    expect(left.map((s) => s._id).sort()).toEqual([ids[0], ids[2]].sort());
    expect(left.find((s) => s._id === ids[0]).closedAt).toBeGreaterThan(0);
    expect(left.find((s) => s._id === ids[2]).closedAt).toBeUndefined();
  });

  test("an initialize the transport refuses leaves no open session", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const tok = await mint(owner, ["calc"]);
    const res = await post(t, initialize(), { authorization: `Bearer ${tok.token}`, accept: "application/json" });
    expect(res.status).toBe(406);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    const sessions: any[] = await table(t, "mcpSessions");
    expect(sessions.every((s) => s.closedAt !== undefined)).toBe(true);
  });
});
