// Benchmark of the embedded runtime on the fixture app (npm run bench:runtime, ~30 s):
// mutation round trips per second and subscription update latency with 1, 10 and 50 ConvexClients,
// against the same mutation called in-process on a plain convex-test instance (no protocol, no fsync).
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { ConvexClient } from "convex/browser";
import { convexTest } from "convex-test";
import { startRuntime } from "../runtime/index.js";
import { loadApp } from "../runtime/load.js";
import { moduleMap } from "../runtime/internals.js";
import { api } from "../runtime/fixtures/app/convex/_generated/api.js";

const FIXTURE = fileURLToPath(new URL("../runtime/fixtures/app/convex", import.meta.url));
const THROUGHPUT_MS = Number(process.env.BENCH_MS ?? 3000);
const LATENCY_WRITES = 30;

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");

async function runtimeRow(url: string, n: number) {
  const clients = Array.from({ length: n }, () => new ConvexClient(url, { webSocketConstructor: WebSocket as any, unsavedChangesWarning: false }));
  // Mutation round trips: every client increments its own counter in a loop.
  const lat: number[] = [];
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      while (performance.now() - t0 < THROUGHPUT_MS) {
        const s = performance.now();
        await c.mutation(api.counters.increment, { name: `tp-${n}-${i}` });
        lat.push(performance.now() - s);
        ops++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;

  // Subscription latency: all clients watch one counter, client 0 writes it.
  const name = `lat-${n}`;
  const started = new Map<number, number>();
  const updates: number[] = [];
  let ready = 0;
  const unsubs = clients.map((c) => {
    let first = true;
    return c.onUpdate(api.counters.get, { name }, (v: number) => {
      if (first) {
        first = false;
        ready++;
        return;
      }
      const s = started.get(v);
      if (s !== undefined) updates.push(performance.now() - s);
    });
  });
  while (ready < n) await new Promise((r) => setTimeout(r, 5));
  for (let k = 1; k <= LATENCY_WRITES; k++) {
    started.set(k, performance.now());
    await clients[0].mutation(api.counters.increment, { name });
    await new Promise((r) => setTimeout(r, 5));
  }
  const deadline = performance.now() + 3000;
  while (updates.length < LATENCY_WRITES * n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  unsubs.forEach((u) => u());
  await Promise.all(clients.map((c) => c.close()));
  return { n, opsPerSec: ops / elapsed, p50: pct(lat, 50), p99: pct(lat, 99), subP50: pct(updates, 50), subP99: pct(updates, 99), missed: LATENCY_WRITES * n - updates.length };
}

async function inProcessRow() {
  const app = await loadApp(FIXTURE);
  try {
    const t = convexTest(app.schema, moduleMap(app.files, "/convex")) as any;
    const lat: number[] = [];
    let ops = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < THROUGHPUT_MS) {
      const s = performance.now();
      await t.mutationFromPath({ udfPath: "counters:increment", componentPath: "" }, { name: "plain" });
      lat.push(performance.now() - s);
      ops++;
    }
    return { opsPerSec: ops / ((performance.now() - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    app.cleanup();
  }
}

async function main() {
  const link = join(FIXTURE, "..", "node_modules");
  if (!existsSync(link)) symlinkSync(fileURLToPath(new URL("../node_modules", import.meta.url)), link, "dir");
  const dataDir = mkdtempSync(join(tmpdir(), "warden-bench-"));
  const rt = await startRuntime({
    convexDir: FIXTURE,
    dataDir,
    port: 0,
    quiet: true,
    limits: { newPerIpPerMinute: 100_000 },
    env: { FIXTURE_CRON_SECONDS: "3600" },
  });
  const rows = [];
  try {
    for (const n of [1, 10, 50]) rows.push(await runtimeRow(rt.url, n));
  } finally {
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const plain = await inProcessRow();

  console.log("\nEmbedded runtime benchmark (fixture app, counters:increment; WAL fsync on every ack)");
  console.log("clients | mutations/s | mutation p50 / p99 ms | subscription update p50 / p99 ms | in-process ÷ runtime");
  console.log("--------|-------------|-----------------------|-----------------------------------|---------------------");
  for (const r of rows) {
    console.log(
      `${String(r.n).padStart(7)} | ${f(r.opsPerSec, 0).padStart(11)} | ${`${f(r.p50)} / ${f(r.p99)}`.padStart(21)} | ${`${f(r.subP50)} / ${f(r.subP99)}`.padStart(33)}${r.missed ? ` (${r.missed} missed)` : ""} | ${f(plain.opsPerSec / r.opsPerSec, 1).padStart(19)}×`,
    );
  }
  console.log(`in-process convex-test (same mutation, no protocol, no persistence): ${f(plain.opsPerSec, 0)} mutations/s, p50 ${f(plain.p50, 2)} ms, p99 ${f(plain.p99, 2)} ms`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
