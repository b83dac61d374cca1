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
    const start = (ip: string) => t.fetch("/chat/session", { method: "POST", headers: { "X-Real-IP": ip } });
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

  test("POST /chat/send: bearer session, 202, then 429 + Retry-After after 10/min; errors are codes only", async () => {
    const { t } = await publicChat();
    const { token } = await (await t.fetch("/chat/session", { method: "POST" })).json();
    const auth = { ...json, Authorization: `Bearer ${token}`, Origin: TEST_ENV.WARDEN_ALLOWED_ORIGINS };
    const send = (b: unknown, headers: Record<string, string> = auth) => t.fetch("/chat/send", { method: "POST", headers, body: JSON.stringify(b) });

    expect((await send({ text: "hi" }, json)).status).toBe(401);
    expect(await (await send({ text: "hi" }, { ...json, Authorization: "Bearer wcs_unknown_token_value_xx" })).json()).toEqual({ error: "SESSION_INVALID" });

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
    const read = await t.fetch(`/chat/messages?threadId=${threadId}`, { headers: { Authorization: `Bearer ${other}` } });
    expect(read.status).toBe(403);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const mine = await t.fetch(`/chat/messages?threadId=${threadId}`, { headers: { Authorization: `Bearer ${token}` } });
    const { messages } = await mine.json();
    expect(messages[0]).toMatchObject({ role: "user", text: "hello" });
    expect(messages[1]).toMatchObject({ role: "assistant", status: "done" });
    expect(await (await send("not json" as unknown as object)).json()).toEqual({ error: "BAD_REQUEST" });
  });
});
