// @vitest-environment node
/**
 * Warden's built-in OAuth 2.1 authorization server for /mcp, over convex-test's HTTP router: the SDK
 * client's whole flow (discovery → registration → consent by an owner → token → tools), then one
 * test per refusal. The browser test (tests/browser/oauth.test.ts) clicks Approve in SyncBoard.
 */
import { describe, expect, test } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { OAuthMetadataSchema, OAuthProtectedResourceMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { api } from "../../convex/_generated/api";
import { expectCode, member, newT, type T } from "../harness";
import { pkceS256 } from "../../convex/lib/oauth";
import { MCP_URL, connect, initialize, post, table, tFetch, workspaceWithSkills, type Owner } from "./helpers";
import { MemoryOAuthProvider } from "./oauthClient";

const ISSUER = "https://warden.test";
const REDIRECT = "http://127.0.0.1:43123/callback";
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async function registerClient(t: T, body: Record<string, unknown> = {}) {
  const res = await t.fetch("/oauth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "raw client",
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "none",
      ...body,
    }),
  });
  return res;
}

function authorizeUrl(clientId: string, over: Record<string, string | null> = {}) {
  const p = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    state: "st",
    resource: MCP_URL,
  });
  for (const [k, v] of Object.entries(over)) {
    if (v === null) p.delete(k);
    else p.set(k, v);
  }
  return `/oauth/authorize?${p}`;
}

/** register → authorize → owner approves; returns the code and client id. */
async function codeFor(t: T, owner: Owner, scopes = ["calc"], clientId?: string) {
  const id = clientId ?? ((await (await registerClient(t)).json()) as { client_id: string }).client_id;
  const res = await t.fetch(authorizeUrl(id), { redirect: "manual" } as RequestInit);
  expect(res.status).toBe(302);
  const consent = new URL(res.headers.get("location")!);
  expect(consent.origin + consent.pathname).toBe("https://board.warden.test/oauth/consent");
  const requestId = consent.searchParams.get("request")!;
  const { redirectTo } = await owner.as.mutation(api.mcp.inbound.oauth.approve, { requestId, toolScopes: scopes });
  const back = new URL(redirectTo);
  expect(back.searchParams.get("state")).toBe("st");
  expect(back.searchParams.get("iss")).toBe(ISSUER);
  return { code: back.searchParams.get("code")!, clientId: id, requestId };
}

async function tokenRequest(t: T, params: Record<string, string>) {
  const res = await t.fetch("/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}

const exchange = (t: T, clientId: string, code: string, over: Record<string, string> = {}) =>
  tokenRequest(t, {
    grant_type: "authorization_code",
    client_id: clientId,
    code,
    code_verifier: VERIFIER,
    redirect_uri: REDIRECT,
    resource: MCP_URL,
    ...over,
  });

const refreshWith = (t: T, clientId: string, refresh_token: string, over: Record<string, string> = {}) =>
  tokenRequest(t, { grant_type: "refresh_token", client_id: clientId, refresh_token, resource: MCP_URL, ...over });

async function mcpStatus(t: T, token: string) {
  return (await post(t, initialize(), { authorization: `Bearer ${token}` })).status;
}

describe("discovery", () => {
  test("the protected resource names the built-in authorization server; its RFC 8414 metadata is S256-only", async () => {
    const t = newT();
    const prm = await (await t.fetch("/.well-known/oauth-protected-resource/mcp")).json();
    expect(OAuthProtectedResourceMetadataSchema.parse(prm).authorization_servers).toEqual([ISSUER]);
    const res = await t.fetch("/.well-known/oauth-authorization-server");
    expect(res.status).toBe(200);
    const m = OAuthMetadataSchema.parse(await res.json());
    expect(m).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/oauth/authorize`,
      token_endpoint: `${ISSUER}/oauth/token`,
      registration_endpoint: `${ISSUER}/oauth/register`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none"],
      grant_types_supported: ["authorization_code", "refresh_token"],
    });
  });
});

describe("the SDK client with only the URL", () => {
  test("discovery → registration → consent → token → tools/list → tools/call, then refresh on its own", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const provider = new MemoryOAuthProvider(REDIRECT);
    const fetchFn = tFetch(t);
    // 1. no token: 401 → the SDK discovers, registers and asks the user to open the authorization URL
    const first = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: fetchFn });
    const c1 = new Client({ name: "oauth-sdk", version: "1.0.0" });
    await expect(c1.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.info?.client_id).toMatch(/^wdn_oc_/);
    const authUrl = provider.authorizationUrl!;
    expect(authUrl.origin + authUrl.pathname).toBe(`${ISSUER}/oauth/authorize`);
    expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authUrl.searchParams.get("resource")).toBe(MCP_URL);
    // 2. the browser follows it to SyncBoard's consent page, where the owner approves "calc"
    const res = await t.fetch(authUrl.pathname + authUrl.search, { redirect: "manual" } as RequestInit);
    const requestId = new URL(res.headers.get("location")!).searchParams.get("request")!;
    const view = await owner.as.query(api.mcp.inbound.oauth.consentRequest, { requestId });
    expect(view).toMatchObject({ clientName: "SDK test client", loopback: true, resource: MCP_URL });
    expect((view as any).skills.map((s: any) => s.name).sort()).toEqual(["calc", "clock"]);
    const { redirectTo } = await owner.as.mutation(api.mcp.inbound.oauth.approve, { requestId, toolScopes: ["calc"] });
    const code = new URL(redirectTo).searchParams.get("code")!;
    // 3. the client exchanges the code and connects
    await first.finishAuth(code);
    expect(provider.saved?.access_token).toMatch(/^wdn_oat_/);
    expect(provider.saved?.refresh_token).toMatch(/^wdn_ort_/);
    const c2 = new Client({ name: "oauth-sdk", version: "1.0.0" });
    await c2.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: fetchFn }));
    expect((await c2.listTools()).tools.map((x) => x.name)).toEqual(["calc"]);
    const r = await c2.callTool({ name: "calc", arguments: { expression: "6*7" } });
    expect(r.isError).toBeFalsy();
    expect(JSON.stringify(r.content)).toContain("42");
    // out of the consented scope → refused like a static token's
    const out = await c2.callTool({ name: "clock", arguments: { timeZone: "UTC" } });
    expect(out.isError).toBe(true);
    await c2.close();

    // 4. the access token expires: the SDK refreshes on the 401 (rotation) and carries on
    const oldRefresh = provider.saved!.refresh_token!;
    await t.run(async (ctx) => {
      for (const row of await ctx.db.query("oauthTokens").take(100))
        if (row.kind === "access") await ctx.db.patch(row._id, { expiresAt: Date.now() - 1 });
    });
    const c3 = new Client({ name: "oauth-sdk", version: "1.0.0" });
    await c3.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: fetchFn }));
    expect(provider.saved!.refresh_token).not.toBe(oldRefresh);
    expect((await c3.listTools()).tools.map((x) => x.name)).toEqual(["calc"]);
    await c3.close();

    // 5. audited, and listed in SyncBoard next to static tokens (not among them)
    const audit = (await table(t, "auditLog")).map((a: any) => a.action);
    expect(audit).toEqual(expect.arrayContaining(["mcp.oauth.approve", "mcp.oauth.grant"]));
    const grants = await owner.as.query(api.mcp.inbound.oauth.listGrants, {});
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({
      clientName: "SDK test client",
      toolScopes: ["calc"],
      revoked: false,
      redirectOrigins: ["http://127.0.0.1:43123"],
    });
    expect(await owner.as.query(api.mcp.inbound.tokens.list, {})).toEqual([]);
    // no token is stored in clear
    const stored = JSON.stringify(await table(t, "oauthTokens")) + JSON.stringify(await table(t, "oauthCodes"));
    expect(stored).not.toContain(provider.saved!.access_token);
    expect(stored).not.toContain(provider.saved!.refresh_token!);
    expect(stored).not.toContain(code);
  });
});

describe("refusals", () => {
  test("wrong PKCE verifier → invalid_grant, the code is spent, a security event", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const { code, clientId } = await codeFor(t, owner);
    const bad = await exchange(t, clientId, code, { code_verifier: "x".repeat(43) });
    expect(bad).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(bad.headers.get("cache-control")).toBe("no-store");
    // the right verifier afterwards does not help: one try per code
    expect((await exchange(t, clientId, code)).body.error).toBe("invalid_grant");
    // and no verifier at all
    const again = await codeFor(t, owner, ["calc"], clientId);
    expect(
      (
        await tokenRequest(t, {
          grant_type: "authorization_code",
          client_id: clientId,
          code: again.code,
          redirect_uri: REDIRECT,
        })
      ).body.error,
    ).toBe("invalid_request");
    expect((await table(t, "securityEvents")).some((e: any) => e.code === "OAUTH_GRANT_INVALID")).toBe(true);
  });

  test("plain PKCE, a missing challenge or a malformed one are refused at /authorize (error sent to the redirect URI)", async () => {
    const t = newT();
    const { client_id } = (await (await registerClient(t)).json()) as { client_id: string };
    const cases: Array<Record<string, string | null>> = [
      { code_challenge_method: "plain", code_challenge: VERIFIER },
      { code_challenge_method: null },
      { code_challenge: null },
      { code_challenge: "short" },
    ];
    for (const over of cases) {
      const res = await t.fetch(authorizeUrl(client_id, over), { redirect: "manual" } as RequestInit);
      expect(res.status).toBe(302);
      const loc = new URL(res.headers.get("location")!);
      expect(loc.origin + loc.pathname).toBe(REDIRECT);
      expect(loc.searchParams.get("error")).toBe("invalid_request");
      expect(loc.searchParams.get("state")).toBe("st");
    }
    expect(await table(t, "oauthRequests")).toHaveLength(0);
    // also the token endpoint: a plain verifier never matches an S256 challenge
    expect(await pkceS256(VERIFIER)).not.toBe(VERIFIER);
  });

  test("authorization code reuse → invalid_grant and the grant issued from it is revoked", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const { code, clientId } = await codeFor(t, owner);
    const ok = await exchange(t, clientId, code);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: "Bearer", scope: "calc" });
    expect(ok.body.expires_in).toBeLessThanOrEqual(15 * 60);
    expect(await mcpStatus(t, ok.body.access_token)).toBe(200);
    const replay = await exchange(t, clientId, code);
    expect(replay).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(await mcpStatus(t, ok.body.access_token)).toBe(401);
    expect((await refreshWith(t, clientId, ok.body.refresh_token)).body.error).toBe("invalid_grant");
    expect((await table(t, "securityEvents")).some((e: any) => e.code === "OAUTH_GRANT_REPLAYED")).toBe(true);
    expect((await owner.as.query(api.mcp.inbound.oauth.listGrants, {}))[0]).toMatchObject({
      revoked: true,
      revokedReason: "code_reuse",
    });
  });

  test("redirect URI mismatch: unregistered at /authorize (no redirect), different one at /token", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const reg = await registerClient(t, { redirect_uris: [REDIRECT, "https://app.example/cb"] });
    const { client_id } = (await reg.json()) as { client_id: string };
    const res = await t.fetch(authorizeUrl(client_id, { redirect_uri: "https://evil.example/cb" }), {
      redirect: "manual",
    } as RequestInit);
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.json()).toMatchObject({ error: "invalid_request" });
    // unknown client: no redirect either
    expect(
      (await t.fetch(authorizeUrl(`wdn_oc_${"A".repeat(43)}`), { redirect: "manual" } as RequestInit)).status,
    ).toBe(400);
    const { code } = await codeFor(t, owner, ["calc"], client_id);
    expect((await exchange(t, client_id, code, { redirect_uri: "https://app.example/cb" })).body.error).toBe(
      "invalid_grant",
    );
  });

  test("wrong resource (RFC 8707): refused at /authorize, /token and on refresh; a token is bound to /mcp", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const { client_id } = (await (await registerClient(t)).json()) as { client_id: string };
    const res = await t.fetch(authorizeUrl(client_id, { resource: "https://other.example/mcp" }), {
      redirect: "manual",
    } as RequestInit);
    expect(new URL(res.headers.get("location")!).searchParams.get("error")).toBe("invalid_target");
    const a = await codeFor(t, owner, ["calc"], client_id);
    expect((await exchange(t, client_id, a.code, { resource: "https://other.example/mcp" })).body.error).toBe(
      "invalid_target",
    );
    const b = await codeFor(t, owner, ["calc"], client_id);
    const ok = await exchange(t, client_id, b.code);
    expect(
      (await refreshWith(t, client_id, ok.body.refresh_token, { resource: "https://warden.test/other" })).body.error,
    ).toBe("invalid_target");
    // the deployment's public URL changes: tokens for the old resource stop working at /mcp
    const saved = process.env.WARDEN_PUBLIC_BASE_URL;
    process.env.WARDEN_PUBLIC_BASE_URL = "https://moved.warden.test";
    try {
      expect(await mcpStatus(t, ok.body.access_token)).toBe(401);
    } finally {
      process.env.WARDEN_PUBLIC_BASE_URL = saved;
    }
    expect(await mcpStatus(t, ok.body.access_token)).toBe(200);
  });

  test("expired code → invalid_grant; expired consent request → OAUTH_REQUEST_INVALID", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const { code, clientId } = await codeFor(t, owner);
    await t.run(async (ctx) => {
      for (const c of await ctx.db.query("oauthCodes").take(10))
        await ctx.db.patch(c._id, { expiresAt: Date.now() - 1 });
    });
    expect(await exchange(t, clientId, code)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const res = await t.fetch(authorizeUrl(clientId), { redirect: "manual" } as RequestInit);
    const requestId = new URL(res.headers.get("location")!).searchParams.get("request")!;
    await t.run(async (ctx) => {
      for (const r of await ctx.db.query("oauthRequests").take(10))
        await ctx.db.patch(r._id, { expiresAt: Date.now() - 1 });
    });
    expect(await owner.as.query(api.mcp.inbound.oauth.consentRequest, { requestId })).toEqual({ invalid: "expired" });
    await expectCode(
      owner.as.mutation(api.mcp.inbound.oauth.approve, { requestId, toolScopes: ["calc"] }),
      "OAUTH_REQUEST_INVALID",
    );
  });

  test("refresh rotation; reuse of a rotated refresh token revokes the whole chain", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const { code, clientId } = await codeFor(t, owner);
    const first = (await exchange(t, clientId, code)).body;
    const second = await refreshWith(t, clientId, first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(await mcpStatus(t, second.body.access_token)).toBe(200);
    // another client cannot use it
    const other = ((await (await registerClient(t)).json()) as { client_id: string }).client_id;
    expect((await refreshWith(t, other, second.body.refresh_token)).body.error).toBe("invalid_grant");
    // the stolen, already rotated first refresh token comes back
    expect((await refreshWith(t, clientId, first.refresh_token)).body.error).toBe("invalid_grant");
    expect(await mcpStatus(t, second.body.access_token)).toBe(401);
    expect((await refreshWith(t, clientId, second.body.refresh_token)).body.error).toBe("invalid_grant");
    expect((await owner.as.query(api.mcp.inbound.oauth.listGrants, {}))[0]).toMatchObject({
      revoked: true,
      revokedReason: "refresh_reuse",
    });
  });

  test("revoked grant (SyncBoard) and RFC 7009 /revoke → 401 at /mcp; static tokens keep working", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const staticToken = await owner.as.mutation(api.mcp.inbound.tokens.mint, {
      name: "static",
      toolScopes: ["calc"],
      expiresInDays: 30,
    });
    const a = await codeFor(t, owner);
    const ta = (await exchange(t, a.clientId, a.code)).body;
    const { client } = await connect(t, ta.access_token);
    await client.close();
    const [grant] = await owner.as.query(api.mcp.inbound.oauth.listGrants, {});
    // an admin may not revoke (owner only), nor may tokens:revoke touch a grant
    const adminM = await member(t, { role: "admin" });
    await expectCode(adminM.as.mutation(api.mcp.inbound.oauth.revokeGrantByOwner, { grantId: grant._id }), "FORBIDDEN");
    await expectCode(owner.as.mutation(api.mcp.inbound.tokens.revoke, { tokenId: grant._id }), "NOT_FOUND");
    await owner.as.mutation(api.mcp.inbound.oauth.revokeGrantByOwner, { grantId: grant._id });
    const res = await post(t, initialize(), { authorization: `Bearer ${ta.access_token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("resource_metadata=");
    expect((await refreshWith(t, a.clientId, ta.refresh_token)).body.error).toBe("invalid_grant");
    expect((await table(t, "mcpSessions")).every((s: any) => s.closedAt !== undefined)).toBe(true);

    // RFC 7009: an access token alone, then a refresh token (ends the grant)
    const b = await codeFor(t, owner, ["calc"], a.clientId);
    const tb = (await exchange(t, a.clientId, b.code)).body;
    const revoke = async (token: string) =>
      await t.fetch("/oauth/revoke", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, client_id: a.clientId }).toString(),
      });
    expect((await revoke(tb.access_token)).status).toBe(200);
    expect(await mcpStatus(t, tb.access_token)).toBe(401);
    expect((await revoke(tb.refresh_token)).status).toBe(200);
    expect((await refreshWith(t, a.clientId, tb.refresh_token)).body.error).toBe("invalid_grant");
    expect((await revoke("not-a-token")).status).toBe(200);
    const actions = (await table(t, "auditLog")).map((x: any) => x.action);
    expect(actions.filter((x: string) => x === "mcp.oauth.revoke")).toHaveLength(2);
    expect(actions).toContain("mcp.oauth.revoke_access_token");

    expect(await mcpStatus(t, staticToken.token)).toBe(200);
  });

  test("registration: redirect URIs validated; a flood from one source → 429 with Retry-After", async () => {
    const t = newT();
    for (const uris of [
      ["http://example.com/cb"],
      ["https://a.example/cb#x"],
      ["cursor://x/cb"],
      [],
      ["https://u:p@a.example/cb"],
    ]) {
      const res = await registerClient(t, { redirect_uris: uris });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_redirect_uri" });
    }
    const bad = await registerClient(t, { grant_types: ["client_credentials"] });
    expect((await bad.json()).error).toBe("invalid_client_metadata");
    let last: Response | null = null;
    for (let i = 0; i < 10 && (last === null || last.status !== 429); i++) last = await registerClient(t);
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await table(t, "securityEvents")).some((e: any) => e.code === "RATE_LIMITED")).toBe(true);
    expect((await table(t, "oauthClients")).length).toBeLessThanOrEqual(10);
  });

  test("consent: only an owner of the workspace decides; deny sends access_denied; a decided request is spent", async () => {
    const t = newT();
    const owner = await workspaceWithSkills(t);
    const { client_id } = (await (await registerClient(t)).json()) as { client_id: string };
    const res = await t.fetch(authorizeUrl(client_id), { redirect: "manual" } as RequestInit);
    const requestId = new URL(res.headers.get("location")!).searchParams.get("request")!;
    const viewer = await member(t, { role: "viewer" });
    await expectCode(viewer.as.query(api.mcp.inbound.oauth.consentRequest, { requestId }), "FORBIDDEN");
    await expectCode(
      viewer.as.mutation(api.mcp.inbound.oauth.approve, { requestId, toolScopes: ["calc"] }),
      "FORBIDDEN",
    );
    // scopes are checked against the owner's workspace
    await expectCode(
      owner.as.mutation(api.mcp.inbound.oauth.approve, { requestId, toolScopes: ["mcp:nosuch/tool"] }),
      "CONFIG_INVALID",
    );
    const { redirectTo } = await owner.as.mutation(api.mcp.inbound.oauth.deny, { requestId });
    expect(new URL(redirectTo).searchParams.get("error")).toBe("access_denied");
    await expectCode(
      owner.as.mutation(api.mcp.inbound.oauth.approve, { requestId, toolScopes: ["calc"] }),
      "OAUTH_REQUEST_INVALID",
    );
    expect((await table(t, "auditLog")).some((a: any) => a.action === "mcp.oauth.deny")).toBe(true);
  });

  test("malformed token requests", async () => {
    const t = newT();
    const json = await t.fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(400);
    expect((await tokenRequest(t, { grant_type: "password", client_id: "x" })).body.error).toBe(
      "unsupported_grant_type",
    );
    expect(
      (
        await tokenRequest(t, {
          grant_type: "authorization_code",
          code: "x",
          code_verifier: VERIFIER,
          redirect_uri: REDIRECT,
        })
      ).status,
    ).toBe(401);
    const dup = await t.fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=refresh_token&grant_type=authorization_code&client_id=x",
    });
    expect(dup.status).toBe(400);
    // an access token is not a refresh token and vice versa
    expect(await mcpStatus(t, `wdn_ort_${"A".repeat(43)}`)).toBe(401);
    await expect(connect(t, `wdn_oat_${"A".repeat(43)}`)).rejects.toBeInstanceOf(StreamableHTTPError);
  });
});
