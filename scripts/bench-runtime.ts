// Benchmark of the embedded runtime on the fixture app (npm run bench:runtime, ~1 min):
// mutation round trips per second and subscription update latency with 1, 10 and 50 ConvexClients,
// against the same mutation called in-process on a plain convex-test instance (no protocol, no fsync).
//
// The reference is interleaved: for each client count, PAIRS pairs of slices alternate between the
// runtime (all clients looping the mutation) and the in-process instance (one caller), which one goes
// first alternating, and the reported "in-process ÷ runtime" is the median pair ratio, so machine load
// that comes and goes hits both sides alike. Both sides live in this process at once: convex-test keeps
// each instance's state in its own AsyncLocalStorage context, and only one side runs during a slice.
// No stated target: the ratio is the protocol + persistence overhead, reported as measured.
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { ConvexClient } from "convex/browser";
import { convexTest } from "convex-test";
import { startRuntime } from "../runtime/index.js";
import { loadApp } from "../runtime/load.js";
import { moduleMap } from "../runtime/internals.js";
import { api } from "../runtime/fixtures/app/convex/_generated/api.js";
import { median } from "./bench/pairs";

const FIXTURE = fileURLToPath(new URL("../runtime/fixtures/app/convex", import.meta.url));
/** Time on the runtime side per client count (the reference gets the same), split into PAIRS slices. */
const THROUGHPUT_MS = Number(process.env.BENCH_MS ?? 3000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 10);
const SLICE_MS = THROUGHPUT_MS / PAIRS;
const LATENCY_WRITES = 30;

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");

type Clients = ConvexClient[];
interface Slice {
  ops: number;
  ms: number;
  lat: number[];
}

/** One runtime slice: every client increments its own counter in a loop for `ms`. */
async function runtimeSlice(clients: Clients, ms: number): Promise<Slice> {
  const lat: number[] = [];
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      while (performance.now() - t0 < ms) {
        const s = performance.now();
        await c.mutation(api.counters.increment, { name: `tp-${clients.length}-${i}` });
        lat.push(performance.now() - s);
        ops++;
      }
    }),
  );
  return { ops, ms: performance.now() - t0, lat };
}

/** One reference slice: the same mutation on the in-process convex-test instance, one caller. */
async function inProcessSlice(t: any, ms: number): Promise<Slice> {
  const lat: number[] = [];
  let ops = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const s = performance.now();
    await t.mutationFromPath({ udfPath: "counters:increment", componentPath: "" }, { name: "plain" });
    lat.push(performance.now() - s);
    ops++;
  }
  return { ops, ms: performance.now() - t0, lat };
}

async function row(url: string, t: any, n: number) {
  const clients = Array.from(
    { length: n },
    () => new ConvexClient(url, { webSocketConstructor: WebSocket as any, unsavedChangesWarning: false }),
  );
  // Warm both sides (connections, first-call costs).
  await runtimeSlice(clients, Math.min(300, SLICE_MS));
  await inProcessSlice(t, Math.min(300, SLICE_MS));
  const rt: Slice = { ops: 0, ms: 0, lat: [] };
  const ref: Slice = { ops: 0, ms: 0, lat: [] };
  const ratios: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    let a: Slice;
    let b: Slice;
    if (i % 2 === 0) {
      a = await runtimeSlice(clients, SLICE_MS);
      b = await inProcessSlice(t, SLICE_MS);
    } else {
      b = await inProcessSlice(t, SLICE_MS);
      a = await runtimeSlice(clients, SLICE_MS);
    }
    for (const [tot, x] of [
      [rt, a],
      [ref, b],
    ] as const) {
      tot.ops += x.ops;
      tot.ms += x.ms;
      tot.lat.push(...x.lat);
    }
    ratios.push(b.ops / b.ms / (a.ops / a.ms));
  }

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
  while (updates.length < LATENCY_WRITES * n && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  unsubs.forEach((u) => u());
  await Promise.all(clients.map((c) => c.close()));
  return {
    n,
    opsPerSec: (rt.ops / rt.ms) * 1000,
    p50: pct(rt.lat, 50),
    p99: pct(rt.lat, 99),
    subP50: pct(updates, 50),
    subP99: pct(updates, 99),
    missed: LATENCY_WRITES * n - updates.length,
    ref: { opsPerSec: (ref.ops / ref.ms) * 1000, p50: pct(ref.lat, 50), p99: pct(ref.lat, 99) },
    ratio: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
  };
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
    // Throughput, not the abuse limits: lift the per-IP connection and per-connection message rates.
    limits: { newPerIpPerMinute: 100_000, messagesPerConnectionPerMinute: 100_000_000 },
    env: { FIXTURE_CRON_SECONDS: "3600" },
  });
  const rows = [];
  let app: Awaited<ReturnType<typeof loadApp>> | undefined;
  try {
    app = await loadApp(FIXTURE);
    const t = convexTest(app.schema, moduleMap(app.files, "/convex")) as any;
    for (const n of [1, 10, 50]) rows.push(await row(rt.url, t, n));
  } finally {
    app?.cleanup();
    await rt.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  console.log(
    `\nEmbedded runtime benchmark (fixture app, counters:increment; WAL fsync on every ack; node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")})`,
  );
  console.log(
    `${PAIRS} interleaved pairs of ${SLICE_MS} ms slices per client count; in-process ÷ runtime = median pair (min–max)`,
  );
  console.log(
    "clients | mutations/s | mutation p50 / p99 ms | subscription update p50 / p99 ms | in-process mutations/s, p50 / p99 ms | in-process ÷ runtime",
  );
  console.log(
    "--------|-------------|-----------------------|-----------------------------------|--------------------------------------|---------------------",
  );
  for (const r of rows) {
    const sub = `${f(r.subP50)} / ${f(r.subP99)}${r.missed ? ` (${r.missed} missed)` : ""}`;
    const ref = `${f(r.ref.opsPerSec, 0)}, ${f(r.ref.p50, 2)} / ${f(r.ref.p99, 2)}`;
    const ratio = `${f(r.ratio, 1)}× (${f(r.min, 1)}–${f(r.max, 1)})`;
    console.log(
      `${String(r.n).padStart(7)} | ${f(r.opsPerSec, 0).padStart(11)} | ${`${f(r.p50)} / ${f(r.p99)}`.padStart(21)} | ${sub.padStart(33)} | ${ref.padStart(36)} | ${ratio.padStart(19)}`,
    );
  }
  console.log(
    "in-process: a plain convex-test instance in this process, same mutation, one caller, no protocol, no persistence.",
  );
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
