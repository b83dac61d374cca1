/**
 * npm run bench:runtime-scale — does the embedded runtime's cost grow with the number of documents?
 *
 * For each size (default 1k, 10k, 100k log rows; BENCH_SIZES=1000,10000,100000,1000000 for 1M) one
 * child process starts the real app (convex/) on startRuntime(), signs in an owner, enables a Telegram
 * channel, seeds N log rows (split over invocationLog, securityEvents, activityLog and auditLog,
 * 60 s apart, then rolled up like the cron does; then waits for the compaction the seed triggered) and
 * measures, with the real `convex` client over WebSocket and signed webhooks over HTTP:
 *   overview / log page      ConvexHttpClient query latency (p50) of logs/dashboard:overview, logs/browse:invocations
 *   webhook 1 / 16 clients    signed Telegram updates per second (each runs the real route: verify, dedupe, store, schedule;
 *                             the agent run it schedules sends its reply to a local stand-in for api.telegram.org)
 *   ack w/ dashboard          webhook latency (p50) while a ConvexClient is subscribed to the overview and the log page
 *   update visible            server-side insert of a log row → the subscribed log page shows it (p50)
 *   overview during compaction the overview while the seed's compaction runs (main thread vs worker)
 *   RSS                       resident memory after the measurements
 *   per webhook phase          process CPU ms per webhook (the client's share included), main-thread
 *                              event-loop utilization, log fsyncs per webhook
 * plus a bare Node server started in the same child (same secret-token check + fsync'd append per request,
 * same client loop) as the throughput reference. Then a fresh process starts the runtime on the data dir
 * (cold start: startRuntime() until ready, and process start → ready; then a 50-row read of the largest
 * log table, which loads it if it is still on disk, and the time until every table is in memory).
 *
 * BENCH_PROJECT=<dir> measures the runtime/ and convex/ of another folder (with node_modules linked), e.g.
 * exports of two commits, for a before/after in the same conditions on a tree others are editing.
 * BENCH_PROFILE=<dir> writes a CPU profile of each phase (<size>-<phase>.cpuprofile, and the cold start's
 * <size>-cold.cpuprofile); BENCH_KEEP_DATA=1 keeps each size's data dir (its path is printed).
 *
 * The bench lifts the app's rate limits for its workspace (rateLimitConfig) so it measures the runtime,
 * not the limiter. Loops are bounded by time and count; everything is on loopback.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { performance as nodePerformance } from "node:perf_hooks";
import { mkdtempSync, openSync, writeSync, fdatasyncSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const TG_SECRET = "bench-telegram-secret-token-0123456789";
const OWNER = { ownerKey: "bench_owner", password: "bench-owner-password-0123" };
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 3000);
/** BENCH_PROJECT=<folder>: measure the runtime/ and convex/ there (e.g. `git archive` exports of two commits). */
const PROJECT = process.env.BENCH_PROJECT ?? REPO;
const RUNTIME = join(PROJECT, "runtime");
const PROFILE_DIR = process.env.BENCH_PROFILE || null;

/** Runs `fn`; with BENCH_PROFILE set, records a CPU profile of it (in-process inspector, 200 µs sampling). */
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return await fn();
  const { Session } = await import("node:inspector/promises");
  const { mkdirSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  try {
    return await fn();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

type Result = {
  size: number;
  overviewMs: number;
  /** overview p50 while the seed's compaction runs */
  overviewDuringCompactionMs: number;
  logPageMs: number;
  webhook1: number;
  webhook16: number;
  bare1: number;
  bare16: number;
  ackWithDashboardMs: number;
  updateVisibleMs: number;
  rssMiB: number;
  seedMs: number;
  compactMs: number;
  /** agent replies that reached the Telegram stand-in per webhook (1 + 16 client phases; should be 1) */
  repliesPerWebhook: number;
  /** per webhook phase: CPU ms per webhook (whole process), event-loop utilization, log fsyncs per webhook, log entries per fsync */
  webhookDetail: Record<
    "1" | "16",
    { cpuMsPerReq: number; elu: number; fsyncsPerReq: number; entriesPerFsync: number }
  >;
  coldStartMs?: number;
  /** after ready: a 50-row read of the largest log table (loads it if still on disk) */
  firstReadMs?: number;
  /** after ready: every table in memory */
  loadedMs?: number;
  spawnToReadyMs?: number;
};

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/**
 * `clients` concurrent loops for PHASE_MS (at most maxReqs in all): requests/s and latency p50, plus the
 * process's CPU time per request and the main thread's event-loop utilization (how busy it was).
 */
async function load(send: () => Promise<void>, clients: number, maxReqs = 5000) {
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  const elu0 = nodePerformance.eventLoopUtilization();
  const end = performance.now() + PHASE_MS;
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end && started < maxReqs) {
        started++;
        const s = performance.now();
        await send();
        lat.push(performance.now() - s);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return {
    rps: lat.length / ((performance.now() - t0) / 1000),
    p50: p50(lat),
    cpuMsPerReq: (cpu.user + cpu.system) / 1000 / lat.length,
    elu: nodePerformance.eventLoopUtilization(elu0).utilization,
    n: lat.length,
  };
}

async function timeIt(fn: () => Promise<unknown>, maxRuns = 100) {
  const xs: number[] = [];
  const end = performance.now() + PHASE_MS;
  for (let i = 0; i < maxRuns && (i < 3 || performance.now() < end); i++) {
    const s = performance.now();
    await fn();
    xs.push(performance.now() - s);
  }
  return p50(xs);
}

/** The reference: what a developer would write without the runtime (check + fsync'd append). */
function bareServer(file: string): Promise<{ server: Server; url: string }> {
  const fd = openSync(file, "a", 0o600);
  const want = Buffer.from(TG_SECRET);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const got = Buffer.from(String(req.headers["x-telegram-bot-api-secret-token"] ?? ""));
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        res.writeHead(401).end();
        return;
      }
      writeSync(fd, Buffer.concat([...chunks, Buffer.from("\n")]));
      fdatasyncSync(fd);
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  server.on("close", () => closeSync(fd));
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r({ server, url: `http://127.0.0.1:${(server.address() as any).port}` })),
  );
}

async function measure(size: number, dataDir: string): Promise<Result> {
  const { startRuntime } = await import(join(RUNTIME, "index.ts"));
  const { ConvexHttpClient, ConvexClient } = await import("convex/browser");
  const { anyApi } = await import("convex/server");
  const { hashPassword } = await import(join(PROJECT, "convex", "lib", "password.ts"));
  const WebSocket = (await import("ws")).default;
  const api = anyApi as any;

  // A stand-in for api.telegram.org (the agent's replies go there).
  let tgRequests = 0;
  const tg = createServer((req, res) => {
    tgRequests++;
    req.resume();
    req.on("end", () =>
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true,"result":{"message_id":1}}'),
    );
  });
  await new Promise<void>((r) => tg.listen(0, "127.0.0.1", () => r()));
  const tgBase = `http://127.0.0.1:${(tg.address() as any).port}`;

  writeFileSync(join(dataDir, "owner-bootstrap.done"), "bench");
  const rt = await startRuntime({
    convexDir: join(PROJECT, "convex"),
    dataDir,
    port: 0,
    quiet: true,
    ownEnv: true,
    env: { WARDEN_TELEGRAM_API_BASE: `${tgBase}/telegram` },
  });
  await rt.engine.callSystem("owners/admin:syncOwners", {
    owners: [
      { ownerKey: OWNER.ownerKey, passwordHash: await hashPassword(OWNER.password), role: "owner", active: true },
    ],
  });
  const signin = await fetch(`${rt.siteUrl}/auth/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(OWNER),
  });
  if (!signin.ok) throw new Error(`sign-in failed: ${signin.status}`);
  const { token } = (await signin.json()) as { token: string };
  const http = new ConvexHttpClient(rt.url);
  http.setAuth(token);
  const channelId = await http.mutation(api.channels.manage.create, {
    platform: "telegram",
    name: "Bench bot",
    settings: { botUsername: "bench_bot" },
  });
  await http.mutation(api.secrets.manage.setChannelSecret, {
    channelId,
    name: "TELEGRAM_SECRET_TOKEN",
    value: TG_SECRET,
  });
  await http.mutation(api.secrets.manage.setChannelSecret, {
    channelId,
    name: "TELEGRAM_BOT_TOKEN",
    // The adapter only sends with a token of Telegram's shape (digits:20+ chars); a shorter one made every
    // reply a CHANNEL_NOT_CONFIGURED failure that never reached the stand-in.
    value: "123456:bench-bot-token-0123456789abcdef",
  });
  await http.mutation(api.channels.manage.enable, { channelId });

  const root = rt.engine.backend.root;
  const workspaceId = await root.run(async (ctx: any) => (await ctx.db.query("workspaces").first())._id);
  await root.run(async (ctx: any) => {
    for (const name of [
      "channelUser",
      "allUsersGlobal",
      "webhookPerChannel",
      "globalInvocations",
      "chatGlobal",
      "skillPerSkill",
    ])
      await ctx.db.insert("rateLimitConfig", {
        workspaceId,
        name,
        rate: 1_000_000,
        periodMs: 60_000,
        updatedAt: Date.now(),
      });
  });

  // Seed: N log rows, 60 s apart going back from now, in batches (one transaction each).
  const seed0 = performance.now();
  const now = Date.now();
  for (let done = 0; done < size;) {
    const n = Math.min(2000, size - done);
    const base = done;
    await root.run(async (ctx: any) => {
      for (let i = 0; i < n; i++) {
        const k = base + i;
        const at = now - 60_000 - k * 60_000;
        switch (k % 4) {
          case 0:
            await ctx.db.insert("invocationLog", {
              workspaceId,
              targetKind: "skill",
              targetName: "bench",
              callerKind: "agent",
              code: k % 8 ? "OK" : "RATE_LIMITED",
              allowed: k % 8 !== 0,
              durationMs: 3,
              inputBytes: 10,
              outputBytes: 20,
              inputPreview: '{"q":"x"}',
              outputPreview: '{"ok":true}',
              at,
            });
            break;
          case 1:
            await ctx.db.insert("securityEvents", {
              workspaceId,
              code: "RATE_LIMITED",
              category: "skill",
              source: "ip:x",
              at,
            });
            break;
          case 2:
            await ctx.db.insert("activityLog", {
              workspaceId,
              kind: "chat",
              summary: "answered",
              visibility: "private",
              at,
            });
            break;
          default:
            await ctx.db.insert("auditLog", { workspaceId, actorLabel: "bench", action: "skill.update", at });
        }
      }
    });
    done += n;
  }
  for (let i = 0; i < 1000; i++) {
    const r: any = await rt.engine.callSystem("logs/summaries:rollupInvocations", {});
    if (!r?.more) break;
  }
  await rt.persistence.sync();
  const seedMs = performance.now() - seed0;
  // The seed is weeks of writes in seconds: let the compaction it triggers (a worker thread merging the
  // log into the snapshot, sized to the log) finish, as a deployment would have long before, then start
  // every measurement from the same state.
  // Query latency while that compaction runs (it merges the previous snapshot with the whole log).
  const page = { paginationOpts: { numItems: 50, cursor: null } };
  for (let i = 0; i < 3; i++) await http.query(api.logs.dashboard.overview, {}); // first-call costs (module load, index trees)
  const c0 = performance.now();
  let compacting = true;
  const compaction = rt.persistence.compact().finally(() => (compacting = false));
  const during: number[] = [];
  while (compacting || during.length < 3) {
    const s = performance.now();
    await http.query(api.logs.dashboard.overview, {});
    during.push(performance.now() - s);
  }
  await compaction;
  await rt.persistence.compact(); // and anything logged since
  const compactMs = performance.now() - c0;

  const overviewMs = await phase(`${size}-overview`, () => timeIt(() => http.query(api.logs.dashboard.overview, {})));
  const logPageMs = await phase(`${size}-logpage`, () => timeIt(() => http.query(api.logs.browse.invocations, page)));

  let update = 0;
  const webhook = async () => {
    const u = ++update;
    const chat = 1000 + (u % 50);
    const body = JSON.stringify({
      update_id: u,
      message: {
        message_id: u,
        date: Math.floor(Date.now() / 1000),
        from: { id: chat, is_bot: false, first_name: "B" },
        chat: { id: chat, type: "private" },
        text: `hello ${u}`,
      },
    });
    const res = await fetch(`${rt.siteUrl}/webhooks/telegram/${channelId}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`webhook: ${res.status}`);
  };
  // The reference first, before any webhook has queued agent work in the runtime.
  const bareFile = join(dataDir, "bare.log");
  const bare = await bareServer(bareFile);
  const bareSend = async () => {
    const res = await fetch(bare.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET },
      body: JSON.stringify({ update_id: ++update, message: { text: "hello" } }),
    });
    await res.arrayBuffer();
  };
  const b1 = await load(bareSend, 1);
  const b16 = await load(bareSend, 16);
  await new Promise((r) => bare.server.close(r));

  // Each webhook schedules agent work; let it finish between phases (bounded) so each phase starts alike.
  const drain = async () => {
    const end = performance.now() + 30_000;
    const pending = () =>
      rt.engine.backend.scheduledJobs().filter((j: any) => j.state === "pending" || j.state === "inProgress").length;
    while (pending() > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
  };
  // First-use costs (module loads and JIT of the webhook and reply paths) out of the 1-client phase, as the
  // queries above get warm-up calls.
  for (let i = 0; i < 20; i++) await webhook();
  await drain();
  const tg0 = tgRequests;
  const fs0 = { fsyncs: 0, entries: 0, ...rt.persistence.stats };
  const w1 = await phase(`${size}-webhook1`, () => load(webhook, 1));
  const fs1 = { fsyncs: 0, entries: 0, ...rt.persistence.stats };
  await drain();
  const fs2 = { fsyncs: 0, entries: 0, ...rt.persistence.stats };
  const w16 = await phase(`${size}-webhook16`, () => load(webhook, 16));
  const fs3 = { fsyncs: 0, entries: 0, ...rt.persistence.stats };
  await drain();
  const repliesPerWebhook = (tgRequests - tg0) / (w1.n + w16.n);

  // A dashboard subscribed over WebSocket while webhooks come in.
  const ws = new ConvexClient(rt.url, { webSocketConstructor: WebSocket as any, unsavedChangesWarning: false });
  ws.setAuth(async () => token);
  let latestPage: any[] = [];
  let overviews = 0;
  const u1 = ws.onUpdate(api.logs.dashboard.overview, {}, () => overviews++);
  const u2 = ws.onUpdate(api.logs.browse.invocations, page, (r: any) => (latestPage = r.page));
  const t0 = performance.now();
  while ((overviews === 0 || latestPage.length === 0) && performance.now() - t0 < 60_000)
    await new Promise((r) => setTimeout(r, 10));
  const ack = await phase(`${size}-ack`, () => load(webhook, 1));
  await drain();

  // Update visible: a log row written on the server until the subscribed page shows it.
  const vis: number[] = [];
  for (let i = 0; i < 15; i++) {
    const s = performance.now();
    const id = await root.run(async (ctx: any) =>
      ctx.db.insert("invocationLog", {
        workspaceId,
        targetKind: "skill",
        targetName: "bench",
        callerKind: "agent",
        code: "OK",
        allowed: true,
        durationMs: 3,
        inputBytes: 10,
        outputBytes: 20,
        inputPreview: "{}",
        outputPreview: "{}",
        at: Date.now(),
      }),
    );
    while (!latestPage.some((r: any) => (r.id ?? r._id) === id) && performance.now() - s < 30_000)
      await new Promise((r) => setImmediate(r));
    vis.push(performance.now() - s);
  }
  u1();
  u2();
  await ws.close();
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  await rt.stop();
  tg.close();
  return {
    size,
    overviewMs,
    overviewDuringCompactionMs: p50(during),
    logPageMs,
    webhook1: w1.rps,
    webhook16: w16.rps,
    bare1: b1.rps,
    bare16: b16.rps,
    ackWithDashboardMs: ack.p50,
    updateVisibleMs: p50(vis),
    rssMiB,
    seedMs,
    compactMs,
    repliesPerWebhook,
    webhookDetail: {
      "1": {
        cpuMsPerReq: w1.cpuMsPerReq,
        elu: w1.elu,
        fsyncsPerReq: (fs1.fsyncs - fs0.fsyncs) / w1.n,
        entriesPerFsync: (fs1.entries - fs0.entries) / Math.max(1, fs1.fsyncs - fs0.fsyncs),
      },
      "16": {
        cpuMsPerReq: w16.cpuMsPerReq,
        elu: w16.elu,
        fsyncsPerReq: (fs3.fsyncs - fs2.fsyncs) / w16.n,
        entriesPerFsync: (fs3.entries - fs2.entries) / Math.max(1, fs3.fsyncs - fs2.fsyncs),
      },
    },
  };
}

async function cold(dataDir: string, size: number) {
  const t0 = performance.now();
  const { startRuntime } = await import(join(RUNTIME, "index.ts"));
  const s = performance.now();
  const rt: any = await phase(`${size}-cold`, () =>
    startRuntime({ convexDir: join(PROJECT, "convex"), dataDir, port: 0, quiet: true, ownEnv: true }),
  );
  const startMs = performance.now() - s;
  const readyAtMs = performance.now(); // since this process started
  // Large tables stay on disk until used or loaded in the background: the first read of one right after
  // ready, and when all are in memory.
  const f0 = performance.now();
  await rt.engine.backend.root.query(
    async (ctx: any) => await ctx.db.query("invocationLog").withIndex("by_at").order("desc").take(50),
  );
  const firstReadMs = performance.now() - f0;
  await rt.loaded;
  const loadedMs = performance.now() - s - startMs;
  const r = {
    startMs,
    readyAtMs,
    importMs: s - t0,
    documents: rt.recovery.documents,
    recoveryMs: rt.recovery.ms,
    deferredTables: rt.recovery.deferredTables,
    firstReadMs,
    loadedMs,
    steps: rt.startup,
  };
  console.error(`[bench] cold start: ${JSON.stringify(r)}`);
  await rt.stop();
  return r;
}

function child(args: string[], size: number): Promise<{ out: any; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // A million documents (plus index trees) need more than Node's default heap limit.
    const heap = size >= 500_000 ? ["--max-old-space-size=16384"] : [];
    const p = spawn(process.execPath, [...heap, "--import", "tsx", SELF, ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    p.stdout.on("data", (d) => (text += d));
    p.on("exit", (code) => {
      const line = text.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line)
        return reject(new Error(`child ${args.join(" ")} exited ${code}:\n${text.slice(-2000)}`));
      resolve({ out: JSON.parse(line.slice(7)), wallMs: performance.now() - t0 });
    });
  });
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "measure") {
  console.log("RESULT " + JSON.stringify(await measure(Number(rest[0]), rest[1])));
  process.exit(0);
} else if (mode === "cold") {
  console.log("RESULT " + JSON.stringify(await cold(rest[0], Number(rest[1]))));
  process.exit(0);
} else {
  const sizes = (process.env.BENCH_SIZES ?? "1000,10000,100000").split(",").map(Number);
  const results: Result[] = [];
  for (const size of sizes) {
    const dataDir = mkdtempSync(join(tmpdir(), "warden-scale-"));
    try {
      const m = (await child(["measure", String(size), dataDir], size)).out as Result;
      const c = await child(["cold", dataDir, String(size)], size);
      m.coldStartMs = c.out.startMs;
      m.firstReadMs = c.out.firstReadMs;
      m.loadedMs = c.out.loadedMs;
      m.spawnToReadyMs = c.out.readyAtMs;
      results.push(m);
      console.error(`[bench] ${size} rows done: ${JSON.stringify(m)}`);
    } finally {
      if (process.env.BENCH_KEEP_DATA === "1") console.error(`[bench] ${size} rows: data kept in ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const base = results[0];
  const rows: Array<[string, (r: Result) => number, "lat" | "thr", string]> = [
    ["overview p50 (ms)", (r) => r.overviewMs, "lat", "ms"],
    ["log page p50 (ms)", (r) => r.logPageMs, "lat", "ms"],
    ["webhooks/s, 1 client", (r) => r.webhook1, "thr", "/s"],
    ["webhooks/s, 16 clients", (r) => r.webhook16, "thr", "/s"],
    ["ack p50 w/ dashboard (ms)", (r) => r.ackWithDashboardMs, "lat", "ms"],
    ["update visible p50 (ms)", (r) => r.updateVisibleMs, "lat", "ms"],
    ["overview p50 during compaction (ms)", (r) => r.overviewDuringCompactionMs, "lat", "ms"],
    ["compaction after the seed (ms)", (r) => r.compactMs, "lat", "ms"],
    ["cold start (ms)", (r) => r.coldStartMs ?? NaN, "lat", "ms"],
    ["process start → ready (ms)", (r) => r.spawnToReadyMs ?? NaN, "lat", "ms"],
    ["  then 1st big-table read (ms)", (r) => r.firstReadMs ?? NaN, "lat", "ms"],
    ["  then all tables loaded (ms)", (r) => r.loadedMs ?? NaN, "lat", "ms"],
    ["RSS (MiB)", (r) => r.rssMiB, "lat", "MiB"],
    ["  CPU ms/webhook, 1 client", (r) => r.webhookDetail["1"].cpuMsPerReq, "lat", "ms"],
    ["  CPU ms/webhook, 16 clients", (r) => r.webhookDetail["16"].cpuMsPerReq, "lat", "ms"],
    ["  main thread busy, 1 client (%)", (r) => r.webhookDetail["1"].elu * 100, "lat", "%"],
    ["  fsyncs/webhook, 1 client", (r) => r.webhookDetail["1"].fsyncsPerReq, "lat", ""],
    ["  fsyncs/webhook, 16 clients", (r) => r.webhookDetail["16"].fsyncsPerReq, "lat", ""],
    ["  replies sent/webhook", (r) => r.repliesPerWebhook, "lat", ""],
    ["bare server/s, 1 client", (r) => r.bare1, "thr", "/s"],
    ["bare server/s, 16 clients", (r) => r.bare16, "thr", "/s"],
  ];
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  console.log(
    `\nEmbedded runtime vs log rows (ratio to ${base.size.toLocaleString("en")}; latency: higher is worse, throughput: lower is worse)\n`,
  );
  console.log(`${"".padEnd(28)}${results.map((r) => `${r.size.toLocaleString("en")} rows`.padStart(20)).join("")}`);
  for (const [name, get, kind] of rows) {
    const cells = results.map((r) => {
      const v = get(r);
      const ratio = kind === "lat" ? v / get(base) : get(base) / v;
      return `${f(v)} (${ratio.toFixed(2)}×)`.padStart(20);
    });
    console.log(`${name.padEnd(28)}${cells.join("")}`);
  }
  console.log("\nTargets");
  const last = results[results.length - 1];
  const check = (what: string, ok: boolean, detail: string) =>
    console.log(`  ${ok ? "met   " : "MISSED"}  ${what}: ${detail}`);
  for (const [name, get, kind] of rows.slice(0, 6)) {
    const ratio = kind === "lat" ? get(last) / get(base) : get(base) / get(last);
    check(
      `${name} at ${last.size.toLocaleString("en")} within 1.25× of ${base.size.toLocaleString("en")}`,
      ratio <= 1.25,
      `${ratio.toFixed(2)}×`,
    );
  }
  for (const r of results)
    check(
      `16 clients ≥ 3× 1 client (${r.size.toLocaleString("en")})`,
      r.webhook16 >= 3 * r.webhook1,
      `${(r.webhook16 / r.webhook1).toFixed(2)}×`,
    );
  for (const r of results)
    check(
      `within 10× of the bare server (${r.size.toLocaleString("en")}, 1 / 16 clients)`,
      r.bare1 / r.webhook1 <= 10 && r.bare16 / r.webhook16 <= 10,
      `${(r.bare1 / r.webhook1).toFixed(1)}× / ${(r.bare16 / r.webhook16).toFixed(1)}× slower`,
    );
  check(
    `cold start at ${last.size.toLocaleString("en")} under 1 s`,
    (last.coldStartMs ?? Infinity) < 1000,
    `${f(last.coldStartMs ?? NaN)} ms`,
  );
  console.log(
    `\nload: ${(await import("node:os"))
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} (1/5/15 min), ${(await import("node:os")).cpus().length} cores`,
  );
}
