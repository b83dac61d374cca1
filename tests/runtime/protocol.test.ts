// @vitest-environment node
// The embedded runtime against the real convex clients: subscriptions, mutations, actions, HTTP API,
// visibility, errors, pagination journals, components, storage, http.ts routes, scheduler, crons.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { checkVersions } from "../../runtime/internals.js";
import { nextRun } from "../../runtime/crons.js";
import { client, startFixture, tempDir, waitFor, RawSocket } from "./helpers.js";

let rt: Awaited<ReturnType<typeof startFixture>>;
const dist = tempDir("warden-dist-");

beforeAll(async () => {
  mkdirSync(join(dist, "assets"));
  writeFileSync(join(dist, "index.html"), "<!doctype html><title>SyncBoard</title>");
  writeFileSync(join(dist, "assets", "app.js"), "console.log(1)");
  rt = await startFixture({ distDir: dist, limits: { newPerIpPerMinute: 1000 } });
});
afterAll(async () => {
  await rt?.cleanup();
});

describe("internals", () => {
  test("self-test passed at startup and the pinned versions are installed", () => {
    expect(rt.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(checkVersions()).toEqual([]);
  });
});

describe("WebSocket protocol", () => {
  test("subscribe → mutate → update arrives; the mutation resolves after its Transition", async () => {
    const a = client(rt.url);
    const b = client(rt.url);
    const seenA: number[] = [];
    const seenB: number[] = [];
    a.onUpdate(api.messages.count, {}, (n) => seenA.push(n));
    b.onUpdate(api.messages.count, {}, (n) => seenB.push(n));
    await waitFor(() => seenA.length > 0 && seenB.length > 0);
    const before = seenA.at(-1)!;
    await a.mutation(api.messages.send, { author: "ws", body: "hello" });
    // Convex guarantees the writer's own subscription already reflects its acknowledged write.
    expect(seenA.at(-1)).toBe(before + 1);
    await waitFor(() => seenB.at(-1) === before + 1);
    await a.close();
    await b.close();
  });

  test("action over WebSocket runs a mutation and a query", async () => {
    const c = client(rt.url);
    const r = await c.action(api.actions.echo, { text: "via ws" });
    expect(r.text).toBe("via ws");
    expect(r.count).toBeGreaterThan(0);
    await c.close();
  });

  test("5 clients × 20 increments of one counter = 100 (serializable)", async () => {
    const clients = Array.from({ length: 5 }, () => client(rt.url));
    const results = await Promise.all(
      clients.map(async (c) => {
        const out: number[] = [];
        for (let i = 0; i < 20; i++) out.push(await c.mutation(api.counters.increment, { name: "race" }));
        return out;
      }),
    );
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const http = new ConvexHttpClient(rt.url);
    expect(await http.query(api.counters.get, { name: "race" })).toBe(100);
    await Promise.all(clients.map((c) => c.close()));
  });

  test("internal functions are not callable over WebSocket", async () => {
    const c = client(rt.url);
    const internalRef = makeFunctionReference<"mutation">("messages:sendInternal");
    await expect(c.mutation(internalRef as any, { author: "x", body: "y" })).rejects.toThrow(
      /Could not find public function/,
    );
    await c.close();
  });

  test("paginated subscription keeps its page end (journal) when a row is inserted", async () => {
    const http = new ConvexHttpClient(rt.url);
    for (let i = 0; i < 5; i++) await http.mutation(api.messages.send, { author: "page", body: `p${i}` });
    const c = client(rt.url);
    const pages: any[] = [];
    c.onUpdate(api.messages.paginated, { paginationOpts: { numItems: 3, cursor: null } }, (p) => pages.push(p));
    await waitFor(() => pages.length > 0);
    const first = pages.at(-1).page.map((m: any) => m._id);
    expect(first).toHaveLength(3);
    const newId = await http.mutation(api.messages.send, { author: "page", body: "newest" });
    const grown = await waitFor(() => (pages.at(-1).page.length === 4 ? pages.at(-1) : null));
    expect(grown.page.map((m: any) => m._id)).toEqual([newId, ...first]);
    await c.close();
  });

  test("failing and internal queries arrive as QueryFailed", async () => {
    const c = client(rt.url);
    const err: any = await new Promise((resolve) => c.onUpdate(api.messages.failing, {}, () => undefined, resolve));
    expect(err.data).toEqual({ code: "QUERY_NOPE" });
    await c.close();
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({
      type: "ModifyQuerySet",
      baseVersion: 0,
      newVersion: 1,
      modifications: [{ type: "Add", queryId: 3, udfPath: "jobs:tick", args: [{ name: "x" }] }],
    });
    const t = await s.next((m) => m.type === "Transition");
    expect(t.modifications[0]).toMatchObject({ type: "QueryFailed", queryId: 3 });
    expect(t.modifications[0].errorMessage).toMatch(/Could not find public function/);
    s.close();
  });

  test("Transition versions follow the protocol (raw socket)", async () => {
    const s = await RawSocket.open(rt.url);
    s.connect();
    s.send({
      type: "ModifyQuerySet",
      baseVersion: 0,
      newVersion: 1,
      modifications: [{ type: "Add", queryId: 0, udfPath: "messages:count", args: [{}] }],
    });
    const t = await s.next((m) => m.type === "Transition");
    expect(t.startVersion).toEqual({ querySet: 0, identity: 0, ts: "AAAAAAAAAAA=" });
    expect(t.endVersion.querySet).toBe(1);
    expect(t.modifications[0]).toMatchObject({ type: "QueryUpdated", queryId: 0 });
    s.send({ type: "Mutation", requestId: 7, udfPath: "messages:send", args: [{ author: "raw", body: "x" }] });
    const resp = await s.next((m) => m.type === "MutationResponse");
    expect(resp).toMatchObject({ requestId: 7, success: true });
    const idx = s.messages.indexOf(resp);
    const after = await s.next((m) => m.type === "Transition" && s.messages.indexOf(m) > idx);
    const u64 = (b64: string) => Buffer.from(b64, "base64").readBigUInt64LE();
    expect(u64(after.endVersion.ts)).toBeGreaterThanOrEqual(u64(resp.ts));
    s.send({ type: "ModifyQuerySet", baseVersion: 5, newVersion: 6, modifications: [] });
    expect((await s.next((m) => m.type === "FatalError")).error).toMatch(/base version/);
    await s.waitClosed();
  });
});

describe("HTTP API", () => {
  test("ConvexHttpClient query, mutation, action", async () => {
    const http = new ConvexHttpClient(rt.url);
    const id = await http.mutation(api.messages.send, { author: "http", body: "b" });
    const mine = await http.query(api.messages.byAuthor, { author: "http" });
    expect(mine.map((m) => m._id)).toContain(id);
    const r = await http.action(api.actions.echo, { text: "t" });
    expect(r.text).toBe("t");
  });

  test("function logs come back as logLines", async () => {
    const res = await fetch(`${rt.url}/api/mutation`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "messages:logged", format: "convex_encoded_json", args: [{ author: "logger" }] }),
    });
    const body = await res.json();
    expect(body.status).toBe("success");
    expect(body.logLines).toEqual(["[LOG] send logger", "[WARN] { level: 'warn' }"]);
  });

  test("internal functions are not callable over HTTP (/api/mutation and /api/function)", async () => {
    const http = new ConvexHttpClient(rt.url);
    const before = await http.query(api.messages.count, {});
    const internalRef = makeFunctionReference<"mutation">("messages:sendInternal");
    await expect(http.mutation(internalRef as any, { author: "x", body: "y" })).rejects.toThrow(
      /Could not find public function/,
    );
    await expect((http as any).function(internalRef, undefined, { author: "x", body: "y" })).rejects.toThrow(
      /Could not find public function/,
    );
    const asQuery = makeFunctionReference<"query">("messages:send");
    await expect(http.query(asQuery as any, { author: "x", body: "y" })).rejects.toThrow(
      /as Query, but it is defined as Mutation/,
    );
    expect(await http.query(api.messages.count, {})).toBe(before);
  });

  test("ConvexError data reaches the client; other errors are hidden; schema is enforced", async () => {
    const http = new ConvexHttpClient(rt.url);
    const err: any = await http.mutation(api.messages.fail, {}).catch((e) => e);
    expect(err.data).toEqual({ code: "NOPE" });
    const crash: any = await http.mutation(api.messages.crash, {}).catch((e) => e);
    expect(String(crash.message)).toMatch(/Server Error/);
    expect(String(crash.message)).not.toMatch(/secret internal detail/);
    const before = await http.query(api.messages.count, {});
    await expect(http.mutation(api.messages.badSchema, {})).rejects.toThrow();
    expect(await http.query(api.messages.count, {})).toBe(before);
  });

  test("CORS: allowed origin gets headers, other origins are refused", async () => {
    const allowed = rt.url;
    const pre = await fetch(`${rt.url}/api/query`, {
      method: "OPTIONS",
      headers: { origin: allowed, "access-control-request-method": "POST" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(allowed);
    const bad = await fetch(`${rt.url}/api/query`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ path: "messages:count", args: [{}] }),
    });
    expect(bad.status).toBe(403);
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("request bodies over 1 MB are refused", async () => {
    const res = await fetch(`${rt.url}/api/mutation`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "messages:send", args: [{ author: "big", body: "x".repeat(1_100_000) }] }),
    });
    expect(res.status).toBe(413);
  });

  test("components from convex.config.ts are registered (rate limiter: 3 per minute)", async () => {
    const http = new ConvexHttpClient(rt.url);
    const r: boolean[] = [];
    for (let i = 0; i < 4; i++) r.push(await http.mutation(api.limited.hit, { key: "k1" }));
    expect(r).toEqual([true, true, true, false]);
  });

  test("file storage: upload URL (single use), stored blob served at its URL", async () => {
    const http = new ConvexHttpClient(rt.url);
    const uploadUrl = await http.mutation(api.files.uploadUrl, {});
    expect(uploadUrl.startsWith(`${rt.url}/api/storage/upload?token=`)).toBe(true);
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const up = await fetch(uploadUrl, { method: "POST", body: bytes });
    const { storageId } = await up.json();
    const again = await fetch(uploadUrl, { method: "POST", body: bytes });
    expect(again.status).toBe(401);
    const fileUrl = await http.query(api.files.url, { id: storageId });
    expect(fileUrl!.startsWith(`${rt.url}/api/storage/`)).toBe(true);
    const got = await fetch(fileUrl!);
    expect(got.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
  });
});

describe("http.ts routes on the site port", () => {
  test("GET with the real URL, POST echo, unknown route 404, /health", async () => {
    const hello = await (await fetch(`${rt.siteUrl}/hello?name=warden`)).json();
    expect(hello.hello).toBe("warden");
    expect(hello.url).toBe(`${rt.siteUrl}/hello?name=warden`);
    const echo = await fetch(`${rt.siteUrl}/echo`, { method: "POST", body: "ping\n" });
    expect(echo.status).toBe(201);
    expect(echo.headers.get("x-echo")).toBe("1");
    expect(await echo.text()).toBe("ping\n");
    expect((await fetch(`${rt.siteUrl}/nope`)).status).toBe(404);
    const health = await fetch(`${rt.siteUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, from: "app" });
  });

  test("SSE is streamed, not buffered", async () => {
    const t0 = Date.now();
    const res = await fetch(`${rt.siteUrl}/sse`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    const arrivals: Array<[number, string]> = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push([Date.now() - t0, dec.decode(value)]);
    }
    expect(arrivals.map((a) => a[1]).join("")).toBe("data: 0\n\ndata: 1\n\ndata: 2\n\n");
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    expect(arrivals.at(-1)![0] - arrivals[0][0]).toBeGreaterThanOrEqual(150);
  });
});

describe("scheduler and crons", () => {
  test("a scheduled mutation runs on real time", async () => {
    const http = new ConvexHttpClient(rt.url);
    const id = await http.mutation(api.jobs.schedule, { note: "soon", delayMs: 200 });
    const job = await waitFor(
      async () => (await http.query(api.jobs.list, {})).find((j) => j._id === id && j.ranAt),
      3000,
    );
    expect(job.ranAt).toBeGreaterThan(0);
  });

  test("the interval cron runs", async () => {
    const http = new ConvexHttpClient(rt.url);
    await waitFor(async () => (await http.query(api.jobs.cronRuns, { name: "interval" })) >= 1, 3000);
    expect(rt.crons).toEqual(["fixture tick", "fixture daily"]);
  });

  test("calendar schedules compute their next run in UTC", () => {
    const from = new Date("2026-03-10T10:20:30Z"); // a Tuesday
    expect(nextRun({ type: "hourly", minuteUTC: 5 }, from).toISOString()).toBe("2026-03-10T11:05:00.000Z");
    expect(nextRun({ type: "daily", hourUTC: 3, minuteUTC: 15 }, from).toISOString()).toBe("2026-03-11T03:15:00.000Z");
    expect(nextRun({ type: "weekly", dayOfWeek: "monday", hourUTC: 0 }, from).toISOString()).toBe(
      "2026-03-16T00:00:00.000Z",
    );
    expect(nextRun({ type: "monthly", day: 1, hourUTC: 12 }, from).toISOString()).toBe("2026-04-01T12:00:00.000Z");
    expect(nextRun({ type: "cron", cron: "*/15 * * * *" }, from).toISOString()).toBe("2026-03-10T10:30:00.000Z");
    expect(nextRun({ type: "interval", seconds: 90 }, from).toISOString()).toBe("2026-03-10T10:22:00.000Z");
  });
});

describe("SyncBoard static files", () => {
  test("index, SPA fallback, config, security headers, no traversal", async () => {
    const index = await fetch(`${rt.url}/`);
    expect(await index.text()).toContain("SyncBoard");
    const csp = index.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ${rt.url.replace("http", "ws")} ${rt.url} ${rt.siteUrl}`);
    expect(index.headers.get("x-frame-options")).toBe("DENY");
    expect(index.headers.get("x-content-type-options")).toBe("nosniff");
    expect(index.headers.get("referrer-policy")).toBe("no-referrer");
    const spa = await fetch(`${rt.url}/workspaces/abc`);
    expect(await spa.text()).toContain("SyncBoard");
    const asset = await fetch(`${rt.url}/assets/app.js`);
    expect(asset.headers.get("content-type")).toMatch(/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${rt.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${rt.url}/..%2f..%2f..%2fetc%2fpasswd`)).status).not.toBe(200);
    const cfg = await (await fetch(`${rt.url}/warden-config.json`)).json();
    expect(cfg).toEqual({ convexUrl: rt.url, siteUrl: rt.siteUrl, authMode: "builtin" });
  });
});
