// @vitest-environment node
// WebSocket hardening: 1 MB frame cap, 10 new connections per minute per IP, 5 concurrent per
// identity, and the JSON-lines connection log.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { startFixture, waitFor, RawSocket } from "./helpers.js";
import { SlidingWindow } from "../../runtime/limits.js";

const ISSUER = "https://fixture.issuer.test";
let key: CryptoKey;
let jwks: string;

async function token(sub: string) {
  return await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(ISSUER)
    .setAudience("fixture-app")
    .setSubject(sub)
    .setExpirationTime("10m")
    .sign(key);
}

function logLines(dataDir: string) {
  return readFileSync(join(dataDir, "connections.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  key = pair.privateKey;
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" }] });
});

describe("per-IP connection rate (defaults: 10 per minute)", () => {
  let rt: Awaited<ReturnType<typeof startFixture>>;
  beforeAll(async () => {
    rt = await startFixture({ env: { FIXTURE_JWKS: jwks } });
  });
  afterAll(async () => {
    await rt?.cleanup();
  });

  test("the 11th connection within a minute is refused with 429 and logged", async () => {
    const sockets: RawSocket[] = [];
    for (let i = 0; i < 10; i++) sockets.push(await RawSocket.open(rt.url));
    const err: any = await RawSocket.open(rt.url).catch((e) => e);
    expect(err.status).toBe(429);
    // Closing connections does not refill the window: it counts new connections.
    sockets.forEach((s) => s.close());
    await Promise.all(sockets.map((s) => s.waitClosed()));
    expect(((await RawSocket.open(rt.url).catch((e) => e)) as any).status).toBe(429);
    await rt.hub.opts.connLog.flush();
    const rejected = logLines(rt.dataDir).filter((l) => l.event === "rejected" && l.reason === "ip_rate_limit");
    expect(rejected.length).toBe(2);
    expect(rejected[0]).toMatchObject({ ip: "127.0.0.1", subject: "anonymous" });
    expect(Date.parse(rejected[0].time)).toBeGreaterThan(0);
  });

  test("sliding window: events expire after 60 s", () => {
    const w = new SlidingWindow(2, 60_000);
    expect([w.tryAdd("ip", 0), w.tryAdd("ip", 10_000), w.tryAdd("ip", 20_000)]).toEqual([true, true, false]);
    expect(w.tryAdd("ip", 60_001)).toBe(true); // the first event left the window
    expect(w.tryAdd("ip", 60_002)).toBe(false);
    expect(w.tryAdd("other", 60_002)).toBe(true);
  });
});

describe("per-identity concurrency and frame size", () => {
  let rt: Awaited<ReturnType<typeof startFixture>>;
  beforeAll(async () => {
    rt = await startFixture({ env: { FIXTURE_JWKS: jwks }, limits: { newPerIpPerMinute: 1000 } });
  });
  afterAll(async () => {
    await rt?.cleanup();
  });

  async function authed(sub: string) {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({ type: "Authenticate", tokenType: "User", value: await token(sub), baseVersion: 0 });
    return s;
  }

  test("a 6th concurrent connection of one identity is closed; a slot frees when one closes", async () => {
    const five: RawSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await authed("busy-user");
      await s.next((m) => m.type === "Transition" && m.endVersion.identity === 1);
      five.push(s);
    }
    const sixth = await authed("busy-user");
    const closed = await sixth.waitClosed();
    expect(closed.code).toBe(1008);
    expect(sixth.messages.some((m) => m.type === "Transition" && m.endVersion.identity === 1)).toBe(false);
    // Another identity is unaffected.
    const other = await authed("other-user");
    await other.next((m) => m.type === "Transition" && m.endVersion.identity === 1);
    five[0].close();
    await five[0].waitClosed();
    await waitFor(() => rt.hub.identities.count(`${ISSUER}|busy-user`) === 4);
    const again = await authed("busy-user");
    await again.next((m) => m.type === "Transition" && m.endVersion.identity === 1);
    [...five, other, again].forEach((s) => s.close());
    await rt.hub.opts.connLog.flush();
    const lines = logLines(rt.dataDir);
    expect(lines.find((l) => l.reason === "too_many_concurrent_connections_for_identity")).toMatchObject({
      subject: "busy-user",
      ip: "127.0.0.1",
    });
    expect(lines.some((l) => l.event === "authenticated" && l.subject === "busy-user")).toBe(true);
    expect(lines.some((l) => l.event === "connect")).toBe(true);
  });

  test("a 2 MB frame closes the socket (1009) and is logged", async () => {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.ws.send("x".repeat(2 * 1024 * 1024));
    expect((await s.waitClosed()).code).toBe(1009);
    await rt.hub.opts.connLog.flush();
    await waitFor(() => logLines(rt.dataDir).some((l) => l.reason === "frame_too_large"));
  });

  test("a frame just under 1 MB is accepted", async () => {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({
      type: "Mutation",
      requestId: 1,
      udfPath: "messages:send",
      args: [{ author: "big", body: "y".repeat(900_000) }],
    });
    expect(await s.next((m) => m.type === "MutationResponse")).toMatchObject({ success: true });
    expect(s.closed).toBeNull();
    s.close();
  });

  test("an origin that is not allowed cannot open the WebSocket", async () => {
    const err: any = await RawSocket.open(rt.url, { origin: "https://evil.example" }).catch((e) => e);
    expect(err.status).toBe(403);
  });
});
