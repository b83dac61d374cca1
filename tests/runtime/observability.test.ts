// @vitest-environment node
// Observability (issue 20.7): every answer of the runtime carries a request id (X-Request-Id; error
// bodies and server-error messages repeat it, and so do the runtime's log lines), and /metrics serves
// Prometheus figures to the operator only (direct loopback, or a bearer token from the environment).
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { realConsole } from "../../runtime/engine.js";
import { Metrics, labelValue, metricsAllowed } from "../../runtime/metrics.js";
import { startRuntime, type Runtime } from "../../runtime/index.js";
import type { CommitRecord } from "../../runtime/internals.js";
import { REPO, RawSocket, client, startFixture, tempDir, waitFor } from "./helpers.js";

const RID = /^[0-9a-f]{16}$/;

/** Parses `name{labels} value` lines into a lookup. */
function parse(text: string) {
  const rows = text.split("\n").filter((l) => l && !l.startsWith("#"));
  return (name: string, labels: Record<string, string> = {}) => {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const row = rows.find(
      (r) => (r.startsWith(`${name}{`) || r.startsWith(`${name} `)) && want.every((w) => r.includes(w)),
    );
    return row === undefined ? undefined : Number(row.slice(row.lastIndexOf(" ") + 1));
  };
}

describe("request ids and /metrics on the fixture runtime", () => {
  let rt: Awaited<ReturnType<typeof startFixture>>;
  beforeAll(async () => {
    rt = await startFixture();
  });
  afterAll(async () => {
    await rt?.cleanup();
  });

  test("every answer has X-Request-Id; error bodies repeat it; ids are unique", async () => {
    const seen = new Set<string>();
    const check = async (res: Response, bodyHasId: boolean) => {
      const id = res.headers.get("x-request-id")!;
      expect(id).toMatch(RID);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      if (bodyHasId) expect((await res.json()).requestId).toBe(id);
      return id;
    };
    // Runtime-written errors on both ports.
    await check(await fetch(`${rt.siteUrl}/no-such-route`), true);
    await check(await fetch(`${rt.url}/api/query`, { method: "POST", body: "{not json" }), true);
    await check(await fetch(`${rt.url}/api/nope`, { method: "POST", body: "{}" }), true);
    await check(await fetch(`${rt.url}/api/query`, { method: "GET" }), true);
    // Successful answers, route answers and static files carry the header too.
    await check(await fetch(`${rt.siteUrl}/hello?name=x`), false);
    await check(await fetch(`${rt.url}/assets/missing.js`), false);
    await check(await fetch(`${rt.url}/warden-config.json`), false);
    // A WebSocket upgrade the runtime refuses.
    const refused = await RawSocket.open(rt.url, { Origin: "https://evil.example" }).catch((e) => e);
    expect(refused.status).toBe(403);
    await rt.hub.idle();
    await waitFor(() => readFileSync(join(rt.dataDir, "connections.log"), "utf8").includes("origin_not_allowed"));
    const line = JSON.parse(readFileSync(join(rt.dataDir, "connections.log"), "utf8").trim().split("\n").pop()!);
    expect(line).toMatchObject({ event: "rejected", reason: "origin_not_allowed" });
    expect(line.requestId).toMatch(RID);
  });

  test("a server error names the same request id in the answer, the header and the server log", async () => {
    const spy = vi.spyOn(realConsole, "error").mockImplementation(() => undefined);
    try {
      const res = await fetch(`${rt.url}/api/mutation`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ path: "messages:crash", args: [{}], format: "convex_encoded_json" }),
      });
      expect(res.status).toBe(560);
      const id = res.headers.get("x-request-id")!;
      const body = await res.json();
      expect(body.requestId).toBe(id);
      expect(body.errorMessage).toBe(`[Request ID: ${id}] Server Error`);
      expect(spy.mock.calls.some((c) => String(c[0]).includes(`request ${id}`))).toBe(true);
      // Over the WebSocket each mutation gets its own id, in the message and the log.
      const c = client(rt.url);
      const err = await c.mutation(api.messages.crash, {}).catch((e: Error) => e);
      await c.close();
      const wsId = /\[Request ID: ([0-9a-f]{16})\]/.exec(String(err))?.[1];
      expect(wsId).toMatch(RID);
      expect(spy.mock.calls.some((c) => String(c[0]).includes(`request ${wsId}`))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  test("/metrics: loopback only, counts requests, calls, sessions and queues", async () => {
    const http = new ConvexHttpClient(rt.url);
    await http.mutation(api.messages.send, { author: "metrics", body: "private text 4242" });
    const c = client(rt.url);
    await c.query(api.messages.count, {});
    await fetch(`${rt.siteUrl}/hello?name=alice@example.com`);
    const res = await fetch(`${rt.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = parse(text);
    expect(m("warden_function_calls_total", { kind: "mutation", outcome: "ok" })).toBeGreaterThanOrEqual(1);
    expect(
      m("warden_http_requests_total", { server: "api", route: "/api/mutation", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      m("warden_http_requests_total", { server: "site", route: "/hello", method: "GET", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(m("warden_ws_sessions")).toBe(1);
    expect(m("warden_ws_events_total", { event: "connect" })).toBeGreaterThanOrEqual(1);
    expect(m("warden_transactions_total")).toBeGreaterThanOrEqual(1);
    expect(m("warden_queue_depth", { queue: "scheduled_functions" })).toBe(0);
    expect(m("warden_documents", { table: "messages" })).toBeGreaterThanOrEqual(1);
    expect(m("warden_http_request_duration_seconds_count", { server: "site" })).toBeGreaterThanOrEqual(1);
    // No raw paths, query strings, message text or addresses in labels.
    expect(text).not.toMatch(/alice|example\.com|private text|127\.0\.0\.1|metrics"/);
    await c.close();
    // Relayed by a (local) reverse proxy → refused, with the request id in the answer.
    for (const h of [
      { "X-Forwarded-For": "203.0.113.9" },
      { Forwarded: "for=203.0.113.9" },
      { "X-Real-IP": "203.0.113.9" },
    ] as Record<string, string>[]) {
      const r = await fetch(`${rt.url}/metrics`, { headers: h });
      expect(r.status).toBe(403);
      expect(await r.json()).toEqual({ error: "FORBIDDEN", requestId: r.headers.get("x-request-id") });
    }
  });
});

describe("/metrics with WARDEN_METRICS_TOKEN", () => {
  test("needs the bearer token, even on loopback", async () => {
    const token = "metrics-token-for-this-test-only-0123456789";
    const rt = await startFixture({ env: { WARDEN_METRICS_TOKEN: token } });
    try {
      expect((await fetch(`${rt.url}/metrics`)).status).toBe(403);
      expect((await fetch(`${rt.url}/metrics`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(403);
      const ok = await fetch(`${rt.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("warden_ready 1");
    } finally {
      await rt.cleanup();
    }
  });

  test("without a token only a direct loopback peer is allowed", () => {
    const req = (remoteAddress: string, headers: Record<string, string> = {}) =>
      ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;
    expect(metricsAllowed(req("127.0.0.1"), undefined)).toBe(true);
    expect(metricsAllowed(req("::1"), undefined)).toBe(true);
    expect(metricsAllowed(req("::ffff:127.0.0.1"), undefined)).toBe(true);
    expect(metricsAllowed(req("10.0.0.5"), undefined)).toBe(false);
    expect(metricsAllowed(req("::ffff:192.168.1.2"), undefined)).toBe(false);
    expect(metricsAllowed(req("127.0.0.1", { "x-forwarded-for": "1.2.3.4" }), undefined)).toBe(false);
    expect(metricsAllowed(req("10.0.0.5", { authorization: "Bearer t0k" }), "t0k")).toBe(true);
    expect(metricsAllowed(req("127.0.0.1"), "t0k")).toBe(false);
  });
});

describe("domain figures", () => {
  const rec = (writes: Record<string, unknown>, inserted: string[]): CommitRecord => ({
    ts: 1n,
    components: { "": { writes, nextDocId: 0, lastCreationTime: 0 } },
    tables: new Set(),
    inserted: { "": new Set(inserted) },
  });

  test("inserted log rows become counters; updates and foreign components do not", () => {
    const m = new Metrics();
    m.commit(
      rec(
        {
          "1invocationLog": { targetKind: "skill", allowed: true, code: "OK" },
          "2invocationLog": { targetKind: "mcp", allowed: false, code: "DOMAIN_NOT_ALLOWED" },
          "3securityEvents": { category: "webhook", code: "WEBHOOK_SIGNATURE_INVALID", source: "ip:203.0.113.9" },
          "4webhookDeliveries": { deliveryId: "u-1" },
          "5channelOutbox": { text: "hello there" },
          "6activityLog": { kind: "channel.vendor_error", meta: { willRetry: true } },
          "7invocationLog": { targetKind: "skill", allowed: false, code: "TIMEOUT" }, // an update, not an insert
        },
        ["1invocationLog", "2invocationLog", "3securityEvents", "4webhookDeliveries", "5channelOutbox", "6activityLog"],
      ),
    );
    m.commit(rec({ "5channelOutbox": null }, []));
    m.commit({
      ...rec({}, []),
      components: {
        rateLimiter: { writes: { "1securityEvents": { code: "X", category: "y" } }, nextDocId: 0, lastCreationTime: 0 },
      },
    });
    expect(m.get("warden_invocations_total", { target: "skill", outcome: "allowed" })).toBe(1);
    expect(m.get("warden_invocations_total", { target: "mcp", outcome: "denied" })).toBe(1);
    expect(m.get("warden_denials_total", { target: "mcp", code: "DOMAIN_NOT_ALLOWED" })).toBe(1);
    expect(m.get("warden_denials_total", { target: "skill", code: "TIMEOUT" })).toBe(0);
    expect(m.get("warden_security_events_total", { category: "webhook", code: "WEBHOOK_SIGNATURE_INVALID" })).toBe(1);
    expect(m.get("warden_webhook_deliveries_total")).toBe(1);
    expect(m.get("warden_deliveries_enqueued_total")).toBe(1);
    expect(m.get("warden_deliveries_dequeued_total")).toBe(1);
    expect(m.get("warden_delivery_failures_total", { retrying: "true" })).toBe(1);
    const text = m.render([]);
    expect(text).not.toMatch(/203\.0\.113|hello there|u-1/);
  });

  test("rows the upgrade moves out of the legacy log are not counted as new invocations", () => {
    const m = new Metrics();
    m.commit(
      rec({ "1invocationLog": { targetKind: "skill", allowed: false, code: "TIMEOUT" }, "2skillInvocationLog": null }, [
        "1invocationLog",
      ]),
    );
    expect(m.get("warden_invocations_total", { target: "skill", outcome: "denied" })).toBe(0);
    expect(m.get("warden_denials_total", { target: "skill", code: "TIMEOUT" })).toBe(0);
  });

  test("label values are sanitized and the number of series per metric is capped", () => {
    expect(labelValue('a"b\nc{d}')).toBe("a_b_c_d_");
    expect(labelValue("x".repeat(200))).toHaveLength(64);
    const m = new Metrics();
    for (let i = 0; i < 1000; i++) m.inc("warden_test_total", "t", { code: `C${i}` });
    const rows = m
      .render([])
      .split("\n")
      .filter((l) => l.startsWith("warden_test_total{"));
    expect(rows.length).toBeLessThanOrEqual(301);
    expect(m.get("warden_test_total", { code: "other" })).toBe(700);
  });

  test("the real app's log rows (checker log, security events) are counted with their own shapes", async () => {
    const dataDir = tempDir();
    let rt: Runtime | null = null;
    try {
      rt = await startRuntime({
        convexDir: join(REPO, "convex"),
        dataDir,
        port: 0,
        quiet: true,
        ownEnv: true,
        distDir: join(dataDir, "no-ui"),
      });
      // An unknown channel's webhook: a security event written by the route.
      expect((await fetch(`${rt.siteUrl}/webhooks/telegram/none`, { method: "POST", body: "{}" })).status).toBe(404);
      // The checker's own writer, run as the checker would.
      const log = await rt.engine.backend.loadModule("security/checkerLog");
      await rt.engine.backend.root.run(async (ctx: any) => {
        const ws = await ctx.db.query("workspaces").first();
        const base = {
          workspaceId: ws._id,
          targetName: "private-skill-name",
          callerKind: "agent",
          callerId: "visitor-7",
          durationMs: 1,
          inputBytes: 1,
          outputBytes: 1,
        };
        await log.writeInvocationLog(ctx, { ...base, targetKind: "skill", code: "OK", allowed: true });
        await log.writeInvocationLog(ctx, { ...base, targetKind: "skill", code: "DOMAIN_NOT_ALLOWED", allowed: false });
      });
      const text = await (await fetch(`${rt.url}/metrics`)).text();
      const m = parse(text);
      expect(m("warden_invocations_total", { target: "skill", outcome: "allowed" })).toBe(1);
      expect(m("warden_denials_total", { target: "skill", code: "DOMAIN_NOT_ALLOWED" })).toBe(1);
      expect(m("warden_security_events_total", { category: "skill", code: "DOMAIN_NOT_ALLOWED" })).toBe(1);
      expect(m("warden_security_events_total", { category: "webhook" })).toBeGreaterThanOrEqual(1);
      expect(m("warden_http_requests_total", { server: "site", route: "/webhooks/*", status: "404" })).toBe(1);
      expect(text).not.toMatch(/private-skill-name|visitor-7|none"/);
    } finally {
      await rt?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
