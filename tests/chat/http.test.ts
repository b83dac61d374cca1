import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { publicChat } from "./setup";
import { TEST_ENV } from "../env";
import { SECURITY_HEADERS } from "../../convex/lib/httpSecurity";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const json = { "Content-Type": "application/json" };

describe("public chat over HTTP", () => {
  test("POST /chat/session mints a token; per-IP limit → 429 with Retry-After; other IPs unaffected", async () => {
    const { t } = await publicChat();
    // The source is the connection's address (request metadata), as the platform reports it.
    const start = (ip: string) => t.withRequestMetadata({ ip }).fetch("/chat/session", { method: "POST" });
    const first = await start("203.0.113.9");
    expect(first.status).toBe(201);
    const body = await first.json();
    expect(Object.keys(body).sort()).toEqual(["expiresAt", "token"]);
    for (let i = 1; i < 20; i++) expect((await start("203.0.113.9")).status).toBe(201);
    const limited = await start("203.0.113.9");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toEqual({ error: "RATE_LIMITED" });
    for (const h of Object.keys(SECURITY_HEADERS)) expect(limited.headers.get(h)).toBe(SECURITY_HEADERS[h]);
    expect((await start("198.51.100.1")).status).toBe(201);
    const ev = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(ev.some((e) => e.detail === "limit=chatSessionsPerIp")).toBe(true);
    expect(JSON.stringify(ev)).not.toContain("203.0.113.9");
  });

  test("rotating X-Forwarded-For / X-Real-IP from one connection gets no more than the per-IP limit", async () => {
    const { t } = await publicChat();
    const attacker = t.withRequestMetadata({ ip: "203.0.113.66" });
    let minted = 0;
    for (let i = 0; i < 40; i++) {
      const r = await attacker.fetch("/chat/session", {
        method: "POST",
        headers: {
          "X-Forwarded-For": `10.${i}.0.1, 192.0.2.${i}`,
          "X-Real-IP": `198.51.100.${i}`,
          Forwarded: `for=192.0.2.${i}`,
        },
      });
      if (r.status === 201) minted++;
      else expect(r.status).toBe(429);
    }
    expect(minted).toBe(20);
    // nor does rotating the low bits of an IPv6 /64
    const v6 = (n: number) =>
      t.withRequestMetadata({ ip: `2001:db8:1:2::${n.toString(16)}` }).fetch("/chat/session", { method: "POST" });
    let v6Minted = 0;
    for (let i = 0; i < 25; i++) if ((await v6(i + 1)).status === 201) v6Minted++;
    expect(v6Minted).toBe(20);
    // with no connection address and no trusted proxy, everyone shares the "unknown" bucket
    let unknown = 0;
    for (let i = 0; i < 21; i++)
      if ((await t.fetch("/chat/session", { method: "POST", headers: { "X-Real-IP": `10.9.9.${i}` } })).status === 201)
        unknown++;
    expect(unknown).toBe(20);
  });

  test("behind trusted proxies: the rightmost untrusted X-Forwarded-For entry is the client", async () => {
    const { t } = await publicChat();
    const viaProxy = (xff: string) =>
      t
        .withRequestMetadata({ ip: "10.0.0.2" })
        .fetch("/chat/session", { method: "POST", headers: { "X-Forwarded-For": xff } });
    process.env.WARDEN_TRUSTED_PROXIES = "10.0.0.0/8";
    try {
      // The client prepends forged entries; the proxy appends the address it saw (203.0.113.5).
      let minted = 0;
      for (let i = 0; i < 25; i++)
        if ((await viaProxy(`198.51.100.${i}, 203.0.113.5, 10.0.0.7`)).status === 201) minted++;
      expect(minted).toBe(20);
      // another real client behind the same proxy has its own bucket
      expect((await viaProxy("203.0.113.6")).status).toBe(201);
      // a direct (untrusted) peer cannot name a client at all
      let direct = 0;
      for (let i = 0; i < 25; i++) {
        const r = await t
          .withRequestMetadata({ ip: "192.0.2.200" })
          .fetch("/chat/session", { method: "POST", headers: { "X-Forwarded-For": `198.51.100.${i}` } });
        if (r.status === 201) direct++;
      }
      expect(direct).toBe(20);
    } finally {
      delete process.env.WARDEN_TRUSTED_PROXIES;
    }
  });

  test("POST /chat/send: bearer session, 202, then 429 + Retry-After after 10/min; errors are codes only", async () => {
    const { t } = await publicChat();
    const { token } = await (await t.fetch("/chat/session", { method: "POST" })).json();
    const auth = { ...json, Authorization: `Bearer ${token}`, Origin: TEST_ENV.WARDEN_ALLOWED_ORIGINS };
    const send = (b: unknown, headers: Record<string, string> = auth) =>
      t.fetch("/chat/send", { method: "POST", headers, body: JSON.stringify(b) });

    expect((await send({ text: "hi" }, json)).status).toBe(401);
    expect(
      await (await send({ text: "hi" }, { ...json, Authorization: "Bearer wcs_unknown_token_value_xx" })).json(),
    ).toEqual({ error: "SESSION_INVALID" });

    const first = await send({ text: "hello" });
    expect(first.status).toBe(202);
    expect(first.headers.get("Access-Control-Allow-Origin")).toBe(TEST_ENV.WARDEN_ALLOWED_ORIGINS);
    const { threadId } = await first.json();
    const tooLong = await send({ threadId, text: "a".repeat(4001) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toEqual({ error: "MESSAGE_TOO_LONG" });
    for (let i = 1; i < 10; i++) expect((await send({ threadId, text: `m${i}` })).status).toBe(202);
    const limited = await send({ threadId, text: "one more" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toEqual({ error: "RATE_LIMITED" });

    // another session cannot post into (or read) that thread
    const other = (await (await t.fetch("/chat/session", { method: "POST" })).json()).token;
    const cross = await send({ threadId, text: "x" }, { ...json, Authorization: `Bearer ${other}` });
    expect(cross.status).toBe(403);
    expect(await cross.json()).toEqual({ error: "FORBIDDEN" });
    const read = await t.fetch(`/chat/messages?threadId=${threadId}`, {
      headers: { Authorization: `Bearer ${other}` },
    });
    expect(read.status).toBe(403);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const mine = await t.fetch(`/chat/messages?threadId=${threadId}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const { messages } = await mine.json();
    expect(messages[0]).toMatchObject({ role: "user", text: "hello" });
    expect(messages[1]).toMatchObject({ role: "assistant", status: "done" });
    expect(await (await send("not json" as unknown as object)).json()).toEqual({ error: "BAD_REQUEST" });
  });
});
