// @vitest-environment node
/**
 * Issue 25 items 7 and 8 on the embedded runtime's WebSocket: a token on the upgrade (seed 001:
 * `?token=`, invalid → 401 before the upgrade), strict mode closing with 4401 (seed 004), a message
 * rate per connection and a call rate per signed-in member (seed 000 T604), each logged.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { startFixture, waitFor } from "./helpers.js";

const ISSUER = "https://fixture.issuer.test";
let key: CryptoKey;
let jwks = "";

async function token(opts: { sub?: string; expSec?: number; iss?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience("fixture-app")
    .setSubject(opts.sub ?? "user-1")
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (opts.expSec ?? 600))
    .sign(key);
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  key = pair.privateKey;
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" }] });
});

type Sock = { ws: WebSocket; messages: any[]; closed: { code: number; reason: string } | null; send(m: unknown): void };

function open(url: string, query = "", headers: Record<string, string> = {}): Promise<Sock | { status: number }> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/1.48.0/sync${query}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      const s: Sock = { ws, messages: [], closed: null, send: (m) => ws.send(JSON.stringify(m)) };
      ws.on("message", (d) => s.messages.push(JSON.parse(d.toString())));
      ws.on("close", (code, reason) => (s.closed = { code, reason: reason.toString() }));
      s.send({ type: "Connect", sessionId: "s", connectionCount: 0, lastCloseReason: null, clientTs: Date.now() });
      resolve(s);
    });
    ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once("error", reject);
  });
}
const isSock = (x: Sock | { status: number }): x is Sock => "ws" in x;
const whoami = {
  type: "ModifyQuerySet",
  baseVersion: 0,
  newVersion: 1,
  modifications: [{ type: "Add", queryId: 1, udfPath: "messages:whoami", args: [{}] }],
};
const log = (dataDir: string) =>
  readFileSync(join(dataDir, "connections.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("a token on the WebSocket upgrade", () => {
  let rt: Awaited<ReturnType<typeof startFixture>>;
  beforeAll(async () => {
    rt = await startFixture({
      env: { FIXTURE_JWKS: jwks, FIXTURE_ISSUER: ISSUER },
      limits: { newPerIpPerMinute: 1000 },
    });
  });
  afterAll(async () => rt?.cleanup());

  test("?token=<valid> authenticates the socket before any message", async () => {
    const s = await open(rt.url, `?token=${await token()}`);
    if (!isSock(s)) throw new Error(`refused ${s.status}`);
    s.send(whoami);
    const t = await waitFor(() =>
      s.messages.find((m) => m.type === "Transition" && m.modifications.some((x: any) => x.queryId === 1)),
    );
    expect(t.modifications.find((x: any) => x.queryId === 1).value).toMatchObject({
      subject: "user-1",
      issuer: ISSUER,
    });
    s.ws.close();
  });

  test.each([
    ["expired ?token", async () => ({ query: `?token=${await token({ expSec: -60 })}`, headers: {} })],
    [
      "unknown issuer ?token",
      async () => ({ query: `?token=${await token({ iss: "https://evil.example" })}`, headers: {} }),
    ],
    ["garbage ?token", async () => ({ query: "?token=not-a-jwt", headers: {} })],
    [
      "bad Authorization header",
      async () => ({ query: "", headers: { authorization: `Bearer ${await token({ expSec: -1 })}` } }),
    ],
  ])("%s → 401 before the upgrade, logged", async (_n, make) => {
    const { query, headers } = await make();
    const r = await open(rt.url, query, headers);
    expect(isSock(r)).toBe(false);
    expect((r as { status: number }).status).toBe(401);
    await rt.hub.opts.connLog.flush();
    expect(
      log(rt.dataDir).some(
        (l) => l.event === "rejected" && l.code === 401 && String(l.reason).startsWith("auth_failed"),
      ),
    ).toBe(true);
  });

  test("no token: the Convex client's default path (anonymous, then Authenticate) still works", async () => {
    const s = await open(rt.url);
    if (!isSock(s)) throw new Error("refused");
    s.send(whoami);
    const t = await waitFor(() => s.messages.find((m) => m.type === "Transition"));
    expect(t.modifications.find((x: any) => x.queryId === 1).value).toBeNull();
    s.ws.close();
  });
});

describe("strict socket auth (WARDEN_WS_STRICT_AUTH=1)", () => {
  let rt: Awaited<ReturnType<typeof startFixture>>;
  beforeAll(async () => {
    rt = await startFixture({
      env: { FIXTURE_JWKS: jwks, FIXTURE_ISSUER: ISSUER },
      limits: { newPerIpPerMinute: 1000, strictAuth: true },
    });
  });
  afterAll(async () => rt?.cleanup());

  test("a token that expires closes the authenticated socket with 4401 instead of dropping to anonymous", async () => {
    const s = await open(rt.url, `?token=${await token({ expSec: 2 })}`);
    if (!isSock(s)) throw new Error("refused");
    const closed = await waitFor(() => s.closed, 5000);
    expect(closed.code).toBe(4401);
    expect(s.messages.some((m) => m.type === "AuthError")).toBe(false);
  });

  test("a failed re-authentication of an authenticated socket closes it with 4401", async () => {
    const s = await open(rt.url, `?token=${await token()}`);
    if (!isSock(s)) throw new Error("refused");
    s.send({
      type: "Authenticate",
      tokenType: "User",
      value: await token({ iss: "https://evil.example" }),
      baseVersion: 0,
    });
    expect((await waitFor(() => s.closed, 3000)).code).toBe(4401);
  });
});

describe("per-connection and per-member rates", () => {
  let rt: Awaited<ReturnType<typeof startFixture>>;
  beforeAll(async () => {
    rt = await startFixture({
      env: { FIXTURE_JWKS: jwks, FIXTURE_ISSUER: ISSUER },
      limits: {
        newPerIpPerMinute: 1000,
        messagesPerConnectionPerMinute: 6,
        callsPerMemberPerMinute: 3,
        concurrentPerIdentity: 10,
      },
    });
  });
  afterAll(async () => rt?.cleanup());

  test("a connection over its message rate is closed with 4429 (logged)", async () => {
    const s = await open(rt.url);
    if (!isSock(s)) throw new Error("refused");
    for (let i = 0; i < 8; i++) s.send({ type: "Event", eventType: "x", event: {} });
    expect((await waitFor(() => s.closed, 3000)).code).toBe(4429);
    await rt.hub.opts.connLog.flush();
    expect(log(rt.dataDir).some((l) => l.reason === "message_rate_limit")).toBe(true);
  });

  test("a signed-in member over their call rate gets RATE_LIMITED, across connections (logged)", async () => {
    const tok = await token({ sub: "busy-member" });
    const a = await open(rt.url, `?token=${tok}`);
    const b = await open(rt.url, `?token=${tok}`);
    if (!isSock(a) || !isSock(b)) throw new Error("refused");
    const mutate = (s: Sock, id: number) =>
      s.send({ type: "Mutation", requestId: id, udfPath: "messages:send", args: [{ author: "m", body: String(id) }] });
    mutate(a, 1);
    mutate(a, 2);
    mutate(b, 1);
    mutate(b, 2);
    const responses = await waitFor(() => {
      const all = [...a.messages, ...b.messages].filter((m) => m.type === "MutationResponse");
      return all.length >= 4 ? all : null;
    }, 5000);
    const limited = responses.filter((r) => r.success === false && r.errorData?.code === "RATE_LIMITED");
    expect(limited).toHaveLength(1);
    await rt.hub.opts.connLog.flush();
    expect(log(rt.dataDir).some((l) => l.reason === "member_call_rate_limit" && l.subject === "busy-member")).toBe(
      true,
    );
    a.ws.close();
    b.ws.close();
  });
});
