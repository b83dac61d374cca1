// @vitest-environment node
// JWT verification in the runtime: providers from the fixture's auth.config.ts (a customJwt issuer
// whose JWKS the fixture's own http.ts serves, and an OIDC provider on a local server).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { client, startFixture, waitFor, RawSocket } from "./helpers.js";

const ISSUER = "https://fixture.issuer.test";
let rt: Awaited<ReturnType<typeof startFixture>>;
let key: CryptoKey;
let otherKey: CryptoKey;
let oidcKey: CryptoKey;
let oidc: Server;
let oidcDomain: string;
let oidcMode: "up" | "down" = "up";

async function token(
  opts: {
    key?: CryptoKey;
    iss?: string;
    aud?: string;
    sub?: string;
    expSec?: number;
    alg?: string;
    kid?: string;
    extra?: Record<string, unknown>;
  } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ email: "ada@example.test", role: "owner", ...opts.extra })
    .setProtectedHeader({ alg: opts.alg ?? "ES256", kid: opts.kid ?? "k1" })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? "fixture-app")
    .setSubject(opts.sub ?? "user-1")
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (opts.expSec ?? 600))
    .sign(opts.key ?? key);
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  ({ privateKey: otherKey } = await generateKeyPair("ES256"));
  const rsa = await generateKeyPair("RS256", { extractable: true });
  oidcKey = rsa.privateKey;
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: "r1", alg: "RS256", use: "sig" };
  oidc = createServer((req, res) => {
    if (oidcMode === "down") return void req.socket.destroy();
    if (req.url === "/.well-known/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ keys: [rsaJwk] }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => oidc.listen(0, "127.0.0.1", () => r()));
  oidcDomain = `http://127.0.0.1:${(oidc.address() as any).port}`;
  rt = await startFixture({
    env: { FIXTURE_JWKS: JSON.stringify({ keys: [jwk] }), FIXTURE_ISSUER: ISSUER, FIXTURE_OIDC_DOMAIN: oidcDomain },
    limits: { newPerIpPerMinute: 1000 },
  });
});
afterAll(async () => {
  await rt?.cleanup();
  oidc?.close();
});

async function whoamiOverWs(tok: string | null) {
  const c = client(rt.url);
  const auth: boolean[] = [];
  if (tok)
    c.setAuth(
      async () => tok,
      (ok) => auth.push(ok),
    );
  const seen: any[] = [];
  c.onUpdate(api.messages.whoami, {}, (v) => seen.push(v));
  await waitFor(() => seen.length > 0 && (!tok || auth.length > 0), 5000);
  return { c, auth, seen };
}

describe("WebSocket authentication", () => {
  test("a valid token gives the verified identity (claims mapped like Convex)", async () => {
    const { c, auth, seen } = await whoamiOverWs(await token());
    expect(auth).toEqual([true]);
    const id = await waitFor(() => seen.find((v) => v !== null));
    expect(id).toMatchObject({
      subject: "user-1",
      issuer: ISSUER,
      tokenIdentifier: `${ISSUER}|user-1`,
      email: "ada@example.test",
      role: "owner",
    });
    expect(id).not.toHaveProperty("exp");
    expect(id).not.toHaveProperty("aud");
    await c.close();
  });

  test.each([
    ["expired", () => token({ expSec: -60 })],
    ["bad signature", () => token({ key: otherKey })],
    ["unknown issuer", () => token({ iss: "https://evil.example" })],
    ["wrong audience", () => token({ aud: "other-app" })],
    [
      "unsigned (alg none)",
      async () => {
        const t = await token();
        const [, payload] = t.split(".");
        return `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`;
      },
    ],
  ])("%s token → AuthError, queries never see the claimed identity, connection stays usable", async (_name, make) => {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({ type: "Authenticate", tokenType: "User", value: await make(), baseVersion: 0 });
    s.send({
      type: "ModifyQuerySet",
      baseVersion: 0,
      newVersion: 1,
      modifications: [{ type: "Add", queryId: 1, udfPath: "messages:whoami", args: [{}] }],
    });
    const err = await s.next((m) => m.type === "AuthError");
    expect(err).toMatchObject({ baseVersion: 0, authUpdateAttempted: true });
    const t = await s.next((m) => m.type === "Transition" && m.modifications.some((x: any) => x.queryId === 1));
    expect(t.modifications.find((x: any) => x.queryId === 1).value).toBeNull();
    expect(t.endVersion.identity).toBe(0);
    expect(s.closed).toBeNull();
    s.close();
  });

  test("the ConvexClient reports a rejected token as unauthenticated", async () => {
    const { c, auth, seen } = await whoamiOverWs(await token({ expSec: -60 }));
    expect(auth).toEqual([false]);
    expect(seen.every((v) => v === null)).toBe(true);
    await c.close();
  });

  test("a token expiring while connected is dropped with AuthError", async () => {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({ type: "Authenticate", tokenType: "User", value: await token({ expSec: 2 }), baseVersion: 0 });
    s.send({
      type: "ModifyQuerySet",
      baseVersion: 0,
      newVersion: 1,
      modifications: [{ type: "Add", queryId: 1, udfPath: "messages:whoami", args: [{}] }],
    });
    const who = (m: any) =>
      m.type === "Transition" && m.modifications.some((x: any) => x.queryId === 1 && x.value !== null);
    expect((await s.next(who)).endVersion.identity).toBe(1);
    const err = await s.next((m) => m.type === "AuthError", 4000);
    expect(err).toMatchObject({ error: "Token expired", baseVersion: 0, authUpdateAttempted: false });
    const idx = s.messages.indexOf(err);
    await s.next(
      (m) =>
        m.type === "Transition" &&
        s.messages.indexOf(m) > idx &&
        m.modifications.some((x: any) => x.queryId === 1 && x.value === null),
    );
    s.close();
  });

  test("admin keys are refused", async () => {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({ type: "Authenticate", tokenType: "Admin", value: "anything", baseVersion: 0 });
    expect((await s.next((m) => m.type === "AuthError")).error).toMatch(/Admin authentication is not supported/);
    s.close();
    const res = await fetch(`${rt.url}/api/query`, {
      method: "POST",
      headers: { authorization: "Convex anything", "content-type": "application/json" },
      body: JSON.stringify({ path: "messages:whoami", args: [{}] }),
    });
    expect(res.status).toBe(401);
  });

  test("OIDC provider: keys from ${domain}/.well-known/jwks.json; unreachable → AuthError, not a crash", async () => {
    const good = await token({
      key: oidcKey,
      alg: "RS256",
      kid: "r1",
      iss: oidcDomain,
      aud: "fixture-oidc",
      sub: "clerk-user",
    });
    oidcMode = "down";
    const t0 = Date.now();
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({ type: "Authenticate", tokenType: "User", value: good, baseVersion: 0 });
    expect((await s.next((m) => m.type === "AuthError", 5000)).error).toMatch(/signing keys/);
    expect(Date.now() - t0).toBeLessThan(4000);
    s.close();
    oidcMode = "up";
    const { c, seen } = await whoamiOverWs(good);
    expect(await waitFor(() => seen.find((v) => v !== null))).toMatchObject({
      subject: "clerk-user",
      issuer: oidcDomain,
    });
    await c.close();
  });
});

describe("claims → identity (custom claims never replace verified ones)", () => {
  /** Registered claims first, forged ones after them (a mapper that copies in order would let them win). */
  async function forgedToken(o: {
    sub: string;
    iss?: string;
    aud?: string;
    key?: CryptoKey;
    alg?: string;
    kid?: string;
    extra?: Record<string, unknown>;
  }) {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: o.iss ?? ISSUER,
      sub: o.sub,
      aud: o.aud ?? "fixture-app",
      iat: now - 5,
      exp: now + 600,
      email: "ada@example.test",
      ...forged,
      ...o.extra,
    };
    return await new SignJWT(payload)
      .setProtectedHeader({ alg: o.alg ?? "ES256", kid: o.kid ?? "k1" })
      .sign(o.key ?? key);
  }
  const forged = {
    subject: "owner-victim",
    issuer: "https://evil.example",
    tokenIdentifier: "https://evil.example|owner-victim",
    org: { id: "org_1" },
  };

  test("custom JWT: a custom subject/issuer/tokenIdentifier claim is dropped; sub/iss stay", async () => {
    const http = new ConvexHttpClient(rt.url);
    http.setAuth(await forgedToken({ sub: "user-7" }));
    const id = await http.query(api.messages.whoami, {});
    expect(id).toMatchObject({
      subject: "user-7",
      issuer: ISSUER,
      tokenIdentifier: `${ISSUER}|user-7`,
      email: "ada@example.test",
      "org.id": "org_1",
    });
    expect(JSON.stringify(id)).not.toContain("owner-victim");
    expect(JSON.stringify(id)).not.toContain("evil.example");
  });

  test("OIDC: standard claims map to camelCase fields; custom claims cannot set them or the verified ones", async () => {
    const tok = await forgedToken({
      key: oidcKey,
      alg: "RS256",
      kid: "r1",
      iss: oidcDomain,
      aud: "fixture-oidc",
      sub: "clerk-user",
      extra: { given_name: "Ada", email_verified: false, emailVerified: true, givenName: "Mallory", org_id: "org_2" },
    });
    const http = new ConvexHttpClient(rt.url);
    http.setAuth(tok);
    const id = await http.query(api.messages.whoami, {});
    expect(id).toMatchObject({
      subject: "clerk-user",
      issuer: oidcDomain,
      tokenIdentifier: `${oidcDomain}|clerk-user`,
      givenName: "Ada",
      emailVerified: false,
      email: "ada@example.test",
      org_id: "org_2",
      org: { id: "org_1" },
    });
    expect(id).not.toHaveProperty("given_name");
    expect(JSON.stringify(id)).not.toMatch(/owner-victim|evil\.example|Mallory/);
  });

  test("the web socket sees the same verified identity", async () => {
    const { c, seen } = await whoamiOverWs(await forgedToken({ sub: "ws-user" }));
    expect(await waitFor(() => seen.find((v) => v !== null))).toMatchObject({
      subject: "ws-user",
      issuer: ISSUER,
      tokenIdentifier: `${ISSUER}|ws-user`,
    });
    await c.close();
  });
});

describe("HTTP authentication", () => {
  test("ConvexHttpClient: valid bearer → identity; invalid → 401", async () => {
    const http = new ConvexHttpClient(rt.url);
    http.setAuth(await token({ sub: "http-user" }));
    expect(await http.query(api.messages.whoami, {})).toMatchObject({ subject: "http-user" });
    http.setAuth(await token({ key: otherKey }));
    await expect(http.query(api.messages.whoami, {})).rejects.toThrow(/Unauthenticated/);
  });

  test("http.ts routes: a verified bearer token gives ctx.auth an identity; a bad one gives none", async () => {
    const ok = await fetch(`${rt.siteUrl}/whoami`, {
      headers: { authorization: `Bearer ${await token({ sub: "site-user" })}` },
    });
    expect(await ok.json()).toMatchObject({ subject: "site-user", issuer: ISSUER });
    const bad = await fetch(`${rt.siteUrl}/whoami`, {
      headers: { authorization: `Bearer ${await token({ key: otherKey })}` },
    });
    expect(await bad.json()).toBeNull();
  });
});
