// @vitest-environment node
/**
 * /mcp session lifecycle (issue 19 item 2): DELETE ends the caller's own session, a new session
 * at the cap evicts the client's least recently used one, requests of the stateless revision
 * (2026-07-28) are served without a session through the same token scope and checker, and only
 * implemented capabilities are advertised.
 */
import { describe, expect, test } from "vitest";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { newT, type T } from "../harness";
import { TEST_ENV } from "../env";
import { MCP_URL, connect, initialize, mint, post, table, tFetch, workspaceWithSkills } from "./helpers";

const V = { "mcp-protocol-version": "2025-06-18" };
const STATELESS = "2026-07-28";
const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };

async function open(t: T, token: string) {
  const res = await post(t, initialize(), { authorization: `Bearer ${token}` });
  expect(res.status).toBe(200);
  return res.headers.get("mcp-session-id")!;
}

function del(t: T, headers: Record<string, string>) {
  return t.fetch("/mcp", { method: "DELETE", headers });
}

/** A request of the stateless revision: no session, the revision in the header and in `_meta`. */
function statelessBody(method: string, params: Record<string, unknown> = {}, id: number | string = 1) {
  const _meta = {
    "io.modelcontextprotocol/protocolVersion": STATELESS,
    "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  return { jsonrpc: "2.0", id, method, params: { ...params, _meta } };
}
async function stateless(
  t: T,
  token: string | null,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return await post(t, statelessBody(method, params), {
    "mcp-protocol-version": STATELESS,
    "mcp-method": method,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...headers,
  });
}

function v2Client(t: Pick<T, "fetch">, token: string) {
  const transport = new TransportV2(new URL(MCP_URL), {
    fetch: tFetch(t),
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new ClientV2(
    { name: "v2-client", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: STATELESS } } },
  );
  return { client, transport };
}

describe("DELETE /mcp", () => {
  test("ends the caller's own session: later requests with it get 404; logged", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"], { name: "a" });
    const sid = await open(t, a.token);
    const res = await del(t, { authorization: `Bearer ${a.token}`, "mcp-session-id": sid });
    expect(res.status).toBe(204);
    expect((await post(t, list, { ...V, authorization: `Bearer ${a.token}`, "mcp-session-id": sid })).status).toBe(404);
    // Ending it again: already gone.
    expect((await del(t, { authorization: `Bearer ${a.token}`, "mcp-session-id": sid })).status).toBe(404);
    const sessions: any[] = await table(t, "mcpSessions");
    expect(sessions[0].closedAt).toBeGreaterThan(0);
    const ended = (await table(t, "activityLog")).filter((x: any) => x.kind === "mcp.client_disconnected");
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ visibility: "private", meta: { client: a.prefix } });
  });

  test("the SDK client's terminateSession() ends the session", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const { client, transport } = await connect(t, a.token);
    expect((await client.listTools()).tools).toHaveLength(1);
    await transport.terminateSession();
    expect(((await table(t, "mcpSessions")) as any[]).every((s) => s.closedAt !== undefined)).toBe(true);
  });

  test("another client's session id → 404 and a security event; the session lives on", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"], { name: "a" });
    const b = await mint(owner, ["calc"], { name: "b" });
    const sid = await open(t, a.token);
    const res = await del(t, { authorization: `Bearer ${b.token}`, "mcp-session-id": sid });
    expect(res.status).toBe(404);
    const ev = (await table(t, "securityEvents")).filter((e: any) => e.code === "MCP_SESSION_MISMATCH");
    expect(ev).toHaveLength(1);
    expect(ev[0].detail).toContain("DELETE");
    expect(ev[0].detail).toContain(`client=${b.prefix}`);
    expect((await post(t, list, { ...V, authorization: `Bearer ${a.token}`, "mcp-session-id": sid })).status).toBe(200);
  });

  test("no token → 401, no session id → 400, a foreign Origin → 403; nothing is closed", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const sid = await open(t, a.token);
    expect((await del(t, { "mcp-session-id": sid })).status).toBe(401);
    expect((await del(t, { authorization: `Bearer ${a.token}` })).status).toBe(400);
    expect(
      (await del(t, { authorization: `Bearer ${a.token}`, "mcp-session-id": sid, origin: "https://evil.example" }))
        .status,
    ).toBe(403);
    expect(((await table(t, "mcpSessions")) as any[]).every((s) => s.closedAt === undefined)).toBe(true);
  });

  test("GET still has no stream: 405 naming POST and DELETE", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const res = await t.fetch("/mcp", {
      method: "GET",
      headers: { authorization: `Bearer ${a.token}`, accept: "text/event-stream" },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, DELETE");
  });
});

describe("session cap: least recently used eviction", () => {
  test("ten consecutive reconnects without DELETE all succeed", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const clients = [];
    for (let i = 0; i < 10; i++) {
      const { client } = await connect(t, a.token); // never closed, never DELETEd: a client restarting
      expect((await client.listTools()).tools.map((x) => x.name)).toEqual(["calc"]);
      clients.push(client);
    }
    const sessions: any[] = await table(t, "mcpSessions");
    expect(sessions).toHaveLength(10);
    expect(sessions.filter((s) => s.closedAt === undefined)).toHaveLength(5);
    // The five oldest were ended; their next request gets 404 (the SDK client then reconnects).
    const closedIds = sessions.filter((s) => s.closedAt !== undefined).map((s) => s._id);
    expect(closedIds).toEqual(sessions.slice(0, 5).map((s) => s._id));
    await expect(clients[0].listTools()).rejects.toMatchObject({ code: 404 });
    expect((await clients[9].listTools()).tools).toHaveLength(1);
    expect((await table(t, "activityLog")).filter((x: any) => x.kind === "mcp.session_evicted")).toHaveLength(5);
    expect((await table(t, "securityEvents")).some((e: any) => e.code === "MCP_SESSION_LIMIT")).toBe(false);
  });

  test("the least recently used session goes, not the oldest; another client's sessions are never touched", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"], { name: "a" });
    const b = await mint(owner, ["calc"], { name: "b" });
    const bSid = await open(t, b.token);
    const sids = [];
    for (let i = 0; i < 5; i++) sids.push(await open(t, a.token));
    // Session 0 is the oldest but was used a moment ago; session 1 was used longest ago.
    const now = Date.now();
    await t.run(async (ctx) => {
      const rows: any[] = await ctx.db.query("mcpSessions").take(10);
      const mine = rows.filter((r) => r.clientTokenId === a.tokenId);
      for (let i = 0; i < mine.length; i++)
        await ctx.db.patch(mine[i]._id, { lastSeenAt: now - (i === 1 ? 9 : i === 0 ? 1 : 5) * 60_000 });
      await ctx.db.patch(rows.find((r) => r.clientTokenId === b.tokenId)._id, { lastSeenAt: now - 9.5 * 60_000 });
    });
    await open(t, a.token);
    const ok = async (sid: string, token: string) =>
      (await post(t, list, { ...V, authorization: `Bearer ${token}`, "mcp-session-id": sid })).status;
    expect(await ok(sids[1], a.token)).toBe(404);
    for (const i of [0, 2, 3, 4]) expect(await ok(sids[i], a.token)).toBe(200);
    expect(await ok(bSid, b.token)).toBe(200);
  });

  test("an initialize refused by the per-IP limit evicts nothing", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const sids = [];
    for (let i = 0; i < 10; i++) sids.push(await open(t, a.token)); // 10 per minute per IP
    const before = ((await table(t, "mcpSessions")) as any[]).filter((s) => s.closedAt === undefined).map((s) => s._id);
    const res = await post(t, initialize(), { authorization: `Bearer ${a.token}` });
    expect(res.status).toBe(429);
    const after = ((await table(t, "mcpSessions")) as any[]).filter((s) => s.closedAt === undefined).map((s) => s._id);
    expect(after).toEqual(before);
  });
});

describe("capabilities", () => {
  test("initialize advertises tools without listChanged (never sent)", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const res = await post(t, initialize(), { authorization: `Bearer ${a.token}` });
    const body = await res.json();
    expect(body.result.capabilities).toEqual({ tools: {} });
    const { client } = await connect(t, a.token);
    expect(client.getServerCapabilities()).toEqual({ tools: {} });
  });
});

describe("the stateless revision (2026-07-28): no session", () => {
  test("the SDK v2 client (pinned to 2026-07-28) discovers, lists and calls through the checker without any session", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc", "draft"]);
    const { client, transport } = v2Client(t.withRequestMetadata({ ip: "203.0.113.9" }), a.token);
    await client.connect(transport);
    expect(client.getServerCapabilities()).toEqual({ tools: {} });
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name)).toEqual(["calc"]);
    const r: any = await client.callTool({ name: "calc", arguments: { expression: "6*7" } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ result: 42 });
    const d: any = await client.callTool({ name: "draft", arguments: { expression: "1" } });
    expect(d).toMatchObject({ isError: true, content: [{ type: "text", text: "SKILL_NOT_APPROVED" }] });
    await client.close();
    expect(await table(t, "mcpSessions")).toHaveLength(0);
    const log = (await table(t, "invocationLog")).find((l: any) => l.allowed);
    expect(log).toMatchObject({ targetName: "calc", callerKind: "mcp-client", callerId: a.tokenId });
  });

  test("a stateless call outside the token's scope is refused and logged; the skill never runs", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const res = await stateless(t, a.token, "tools/call", { name: "clock", arguments: { zone: "UTC" } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.result).toMatchObject({
      resultType: "complete",
      isError: true,
      content: [{ type: "text", text: "MCP_TOOL_OUT_OF_SCOPE" }],
    });
    const ev = (await table(t, "securityEvents")).filter((e: any) => e.code === "MCP_TOOL_OUT_OF_SCOPE");
    expect(ev).toHaveLength(1);
    expect(ev[0].detail).toContain("tool=clock");
    expect((await table(t, "invocationLog")).filter((l: any) => l.targetName === "clock")).toHaveLength(0);
    // tools/list shows only the scope
    const listed = await (await stateless(t, a.token, "tools/list")).json();
    expect(listed.result).toMatchObject({ resultType: "complete", cacheScope: "private" });
    expect(listed.result.tools.map((x: any) => x.name)).toEqual(["calc"]);
  });

  test("every other property holds: token (401 + WWW-Authenticate), Origin (403), per-client rate limit (429)", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const none = await stateless(t, null, "tools/list");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("resource_metadata=");
    expect(JSON.stringify(await none.json())).not.toContain("calc");
    expect(
      (await stateless(t, `wdn_mcp_${"A".repeat(43)}`, "tools/call", { name: "calc", arguments: { expression: "1" } }))
        .status,
    ).toBe(401);
    expect((await stateless(t, a.token, "tools/list", {}, { origin: "https://evil.example" })).status).toBe(403);
    expect((await stateless(t, a.token, "tools/list", {}, { origin: TEST_ENV.WARDEN_ALLOWED_ORIGINS })).status).toBe(
      200,
    );
    expect(await table(t, "invocationLog")).toHaveLength(0);

    const { api } = await import("../../convex/_generated/api");
    await owner.as.mutation(api.limits.manage.set, { name: "mcpPerClient", rate: 2, periodMs: 60_000 });
    const b = await mint(owner, ["calc"]);
    expect((await stateless(t, b.token, "ping")).status).toBe(200);
    expect((await stateless(t, b.token, "ping")).status).toBe(200);
    const limited = await stateless(t, b.token, "tools/call", { name: "calc", arguments: { expression: "1" } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await table(t, "invocationLog")).toHaveLength(0);
  });

  test("malformed stateless requests are refused before any tool runs", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    const auth = { authorization: `Bearer ${a.token}`, "mcp-protocol-version": STATELESS };
    const call = statelessBody("tools/call", { name: "calc", arguments: { expression: "1" } });
    // Mcp-Method naming another method than the body (a proxy could authorize on the header)
    expect((await post(t, call, { ...auth, "mcp-method": "tools/list" })).status).toBe(400);
    // no _meta envelope / a _meta naming another revision
    expect(
      (
        await post(
          t,
          { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "calc", arguments: { expression: "1" } } },
          auth,
        )
      ).status,
    ).toBe(400);
    const other = statelessBody("tools/call", { name: "calc", arguments: { expression: "1" } });
    (other.params._meta as any)["io.modelcontextprotocol/protocolVersion"] = "2025-11-25";
    expect((await post(t, other, auth)).status).toBe(400);
    // a later revision this server does not speak: -32022 with the supported list
    const later = await post(t, call, { ...auth, "mcp-protocol-version": "2099-01-01" });
    expect(later.status).toBe(400);
    expect((await later.json()).error).toMatchObject({
      code: -32022,
      data: { supported: [STATELESS], requested: "2099-01-01" },
    });
    // batches were removed from the protocol
    expect((await post(t, [call, call], auth)).status).toBe(400);
    // methods it does not implement
    expect((await (await post(t, statelessBody("resources/list"), auth)).json()).error.code).toBe(-32601);
    expect(await table(t, "invocationLog")).toHaveLength(0);
  });

  test("earlier revisions still need the session they were given (400 without it)", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const a = await mint(owner, ["calc"]);
    await open(t, a.token);
    expect((await post(t, list, { ...V, authorization: `Bearer ${a.token}` })).status).toBe(400);
    expect(
      (await post(t, list, { "mcp-protocol-version": "2025-11-25", authorization: `Bearer ${a.token}` })).status,
    ).toBe(400);
  });
});
