// @vitest-environment node
// Group commit never acknowledges before the fsync: while the log's fdatasync is held back, concurrent
// writes over an http.ts route, ConvexHttpClient and the WebSocket client all wait (one fsync then covers
// all of them); when the fsync fails, none of them gets a 200 or a success, and the runtime stops serving.
import { afterAll, expect, test } from "vitest";
import { rmSync } from "node:fs";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { client, startFixture, waitFor } from "./helpers.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
});

/** Holds every fdatasync of the write-ahead log until released (or failed). */
function gateFsync(persistence: unknown) {
  const p = persistence as { handle(seg: number): Promise<any> };
  const orig = p.handle.bind(p);
  const gate = {
    calls: 0,
    open: null as null | (() => void),
    fail: null as null | ((e: Error) => void),
    held: Promise.resolve(),
  };
  let release: () => void = () => undefined;
  let reject: (e: Error) => void = () => undefined;
  gate.held = new Promise<void>((res, rej) => {
    release = res;
    reject = rej;
  });
  gate.held.catch(() => undefined);
  gate.open = () => release();
  gate.fail = (e) => reject(e);
  p.handle = async (seg: number) => {
    const fh = await orig(seg);
    if (!fh.__gated) {
      const datasync = fh.datasync.bind(fh);
      fh.datasync = async () => {
        gate.calls++;
        await gate.held;
        return datasync();
      };
      fh.__gated = true;
    }
    return fh;
  };
  return gate;
}

function writes(rt: { url: string; siteUrl: string }, tag: string) {
  const http = new ConvexHttpClient(rt.url);
  const ws = client(rt.url);
  const outcome = (p: Promise<unknown>) =>
    p.then(
      (v) => ({ ok: true, v }),
      (e) => ({ ok: false, e: String(e) }),
    );
  const route = Array.from({ length: 6 }, (_, i) =>
    fetch(`${rt.siteUrl}/send`, { method: "POST", body: `${tag}-route-${i}` }).then(async (r) => ({
      ok: r.status === 200,
      status: r.status,
      v: await r.text(),
    })),
  );
  const viaHttp = Array.from({ length: 4 }, (_, i) =>
    outcome(http.mutation(api.messages.send, { author: tag, body: `http${i}` })),
  );
  const viaWs = Array.from({ length: 4 }, (_, i) =>
    outcome(ws.mutation(api.messages.send, { author: tag, body: `ws${i}` })),
  );
  let settled = 0;
  const results: Array<{ ok: boolean } | undefined> = [];
  const all = [...route, ...viaHttp, ...viaWs].map((p, i) => p.then((r) => (results[i] = r)).finally(() => settled++));
  // The WebSocket client resends unfinished mutations after a reconnect: once the runtime stops, those
  // stay pending (never a success); the others settle.
  return {
    all: Promise.all(all),
    oneShot: Promise.all(all.slice(0, 10)),
    results,
    settled: () => settled,
    close: () => ws.close(),
  };
}

test("acks wait for the fsync that covers them; one fsync covers concurrent writes", async () => {
  const rt = await startFixture();
  cleanups.push(() => rt.cleanup());
  // Warm up the route and clients before holding the log.
  expect((await fetch(`${rt.siteUrl}/send`, { method: "POST", body: "warm" })).status).toBe(200);
  await rt.persistence.sync();
  const gate = gateFsync(rt.persistence);
  const w = writes(rt, "held");
  // Every write reaches the log, then waits: nothing is answered while the fsync is held.
  await waitFor(() => gate.calls >= 1, 5000);
  await new Promise((r) => setTimeout(r, 400));
  expect(w.settled()).toBe(0);
  gate.open!();
  const results = await w.all;
  expect(results.every((r) => r.ok)).toBe(true);
  // 14 writes, but fsyncs are grouped: far fewer fsyncs than writes.
  expect(gate.calls).toBeLessThan(14);
  await w.close();
}, 60_000);

test("a failed fsync: no write gets a 200 or a success, and the runtime stops serving", async () => {
  const rt = await startFixture();
  cleanups.push(() => rt.cleanup());
  expect((await fetch(`${rt.siteUrl}/send`, { method: "POST", body: "warm" })).status).toBe(200);
  await rt.persistence.sync();
  const gate = gateFsync(rt.persistence);
  const w = writes(rt, "lost");
  await waitFor(() => gate.calls >= 1, 5000);
  gate.fail!(Object.assign(new Error("EIO: i/o error, fdatasync (injected)"), { code: "EIO" }));
  const results = await w.oneShot;
  expect(results.filter((r) => r.ok)).toEqual([]);
  for (const r of results.slice(0, 6) as unknown as Array<{ status: number }>) expect([500, 503]).toContain(r.status);
  await new Promise((r) => setTimeout(r, 1000));
  expect(w.results.filter((r) => r?.ok)).toEqual([]);
  // Refusing requests from now on: nothing can be made durable.
  expect((await fetch(`${rt.siteUrl}/health`)).status).toBe(503);
  await w.close();
  rmSync(rt.dataDir, { recursive: true, force: true });
}, 60_000);
