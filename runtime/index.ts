// startRuntime(): the embedded local Convex runtime — convex/ functions on convex-test, the Convex
// client protocol (WebSocket + HTTP API) and SyncBoard on PORT, http.ts routes on SITE_PORT,
// crons and the scheduler on real time, durable state under the data directory.
import { createServer as createHttpServer, type Server, type RequestListener } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { transportFor } from "./transport.js";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { jsonToConvex } from "convex/values";
import { Backend, checkVersions, moduleMap } from "./internals.js";
import { loadApp, type LoadedApp } from "./load.js";
import { Persistence, type RecoveryInfo } from "./persist.js";
import { Engine, installConsoleCapture, realConsole, uninstallConsoleCapture } from "./engine.js";
import { AuthVerifier, parseProviders } from "./auth.js";
import { SyncHub } from "./sync.js";
import { ApiHandler, StorageUrls } from "./api.js";
import { SiteHandler } from "./site.js";
import { StaticSite } from "./static.js";
import { CronRunner, type CronSpec } from "./crons.js";
import { ConnectionLog, limitsFromEnv, type ConnLimits } from "./limits.js";
import { ensureDataDir, ensureKeys } from "./keys.js";
import { assignRequestId, sendJson } from "./httputil.js";
import { Metrics, metricsAllowed } from "./metrics.js";
import { OperatorChannel } from "./operator.js";
import { onlineBackup } from "./backup.js";

export type RuntimeOptions = {
  /** The functions folder (default ./convex). Its parent is the project (node_modules, dist/). */
  convexDir?: string;
  /** Default: WARDEN_DATA_DIR or <project>/.data */
  dataDir?: string;
  /** Default PORT or 3210; 0 = ephemeral. */
  port?: number;
  /** Default SITE_PORT or port+1 (ephemeral when port is 0). */
  sitePort?: number;
  /** Default HOST or 127.0.0.1 */
  host?: string;
  /** Set in process.env for the runtime's lifetime (restored by stop()). */
  env?: Record<string, string>;
  /** Set the runtime's own env values (URLs, keys, AUTH_MODE, origins) even where process.env has one (tests). */
  ownEnv?: boolean;
  /** Default <project>/dist */
  distDir?: string;
  /** No banner and no connection events on stdout. */
  quiet?: boolean;
  /** Print functions' console output on the server too. */
  echoFunctionLogs?: boolean;
  /** Return real error messages to clients instead of "Server Error" (dev only). */
  exposeErrors?: boolean;
  limits?: Partial<ConnLimits>;
  /** Snapshot after this many logged transactions (default 1000). */
  compactEntries?: number;
};

export type Runtime = {
  url: string;
  siteUrl: string;
  dataDir: string;
  authMode: string;
  recovery: RecoveryInfo;
  /** Milliseconds spent in each start-up step, in order (sums to about the whole start). */
  startup: Record<string, number>;
  /** Resolves when the tables start-up left on disk are in memory (loaded between requests after ready). */
  loaded: Promise<void>;
  engine: Engine;
  hub: SyncHub;
  persistence: Persistence;
  metrics: Metrics;
  crons: string[];
  stop(): Promise<void>;
};

/** Sets env vars for the runtime's lifetime and restores the previous values. */
class EnvScope {
  private saved = new Map<string, string | undefined>();
  set(key: string, value: string) {
    if (!this.saved.has(key)) this.saved.set(key, process.env[key]);
    process.env[key] = value;
  }
  setDefault(key: string, value: string) {
    if (process.env[key] === undefined || process.env[key] === "") this.set(key, value);
  }
  restore() {
    for (const [k, v] of this.saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    this.saved.clear();
  }
}

function acquireLock(dataDir: string) {
  const file = join(dataDir, "LOCK");
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8"));
    let alive = false;
    try {
      if (pid && pid !== process.pid) {
        process.kill(pid, 0);
        alive = true;
      }
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`Data directory ${dataDir} is in use by process ${pid}`);
    if (pid === process.pid) throw new Error(`Data directory ${dataDir} is already used by a runtime in this process`);
  }
  writeFileSync(file, String(process.pid), { mode: 0o600 });
  return () => {
    try {
      if (readFileSync(file, "utf8") === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolvePort(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

/** Stops listening and closes idle keep-alive connections; requests still running get `graceMs`. */
function closeServer(server: Server, graceMs = 0): Promise<void> {
  return new Promise((r) => {
    if (!server.listening) return r();
    server.close(() => r());
    server.closeIdleConnections();
    if (graceMs <= 0) server.closeAllConnections();
    else setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}

const API_ROUTES = new Set([
  "/api/query",
  "/api/query_at_ts",
  "/api/mutation",
  "/api/action",
  "/api/function",
  "/api/query_ts",
  "/api/storage/upload",
]);

/** A bounded route label for the main port (never the raw path). */
function mainRoute(url: string | undefined): string {
  const path = (url ?? "/").split("?")[0];
  if (API_ROUTES.has(path) || path === "/metrics" || path === "/warden-config.json") return path;
  if (path.startsWith("/api/storage/")) return "/api/storage/*";
  if (path.startsWith("/api/")) return "/api/*";
  return "static";
}

/** How long a shutdown waits for requests already received before closing their connections. */
const SHUTDOWN_DRAIN_MS = 2000;

const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host);

async function bootstrapOwner(
  app: LoadedApp,
  backend: Backend,
  engine: Engine,
  dataDir: string,
  say: (s: string) => void,
) {
  const marker = join(dataDir, "owner-bootstrap.done");
  if (existsSync(marker) || !app.files["owners/admin"]) {
    if (!app.files["owners/admin"])
      say("note: owners/admin:bootstrapFirstOwner is not in this app; first-owner setup skipped");
    return;
  }
  const admin = await backend.loadModule("owners/admin").catch(() => null);
  const pw = app.files["lib/password"] ? await backend.loadModule("lib/password").catch(() => null) : null;
  if (!admin?.bootstrapFirstOwner || typeof pw?.hashPassword !== "function") {
    say("warning: owners/admin:bootstrapFirstOwner or lib/password:hashPassword missing; first-owner setup skipped");
    return;
  }
  const password = randomBytes(18).toString("base64url");
  const ownerKey = process.env.WARDEN_OWNER_KEY || "owner";
  const passwordHash: string = await pw.hashPassword(password);
  const result = (await engine.callSystem("owners/admin:bootstrapFirstOwner", { ownerKey, passwordHash })) as {
    created?: boolean;
  } | null;
  writeFileSync(marker, new Date().toISOString(), { mode: 0o600 });
  if (result?.created) {
    // Printed directly (not via `say`) so it shows even in quiet mode: it is shown this one time only.
    realConsole.log(
      [
        "",
        "  ┌─ First owner created ─────────────────────────────────────────────",
        `  │ owner key: ${ownerKey}`,
        `  │ password:  ${password}`,
        "  │ Sign in to SyncBoard with these and change the password.",
        "  │ This password is shown ONCE and is not stored in plain text anywhere.",
        "  └───────────────────────────────────────────────────────────────────",
        "",
      ].join("\n"),
    );
  }
}

/** Applies the owners JSON (WARDEN_OWNERS_FILE, default <data>/owners.json) written by `npm run owners`. */
async function syncOwnersFile(app: LoadedApp, engine: Engine, dataDir: string, say: (s: string) => void) {
  const file = process.env.WARDEN_OWNERS_FILE || join(dataDir, "owners.json");
  if (!existsSync(file) || !app.files["owners/admin"]) return;
  try {
    const { parseOwnersJson } = await import("../convex/lib/ownersFile");
    const { owners, orgLinks } = parseOwnersJson(readFileSync(file, "utf8"));
    const r = (await engine.callSystem("owners/admin:syncOwners", { owners, ...(orgLinks ? { orgLinks } : {}) })) as {
      created: number;
      updated: number;
      deactivated: number;
    };
    say(`Owners from ${file}: ${r.created} created, ${r.updated} updated, ${r.deactivated} deactivated`);
  } catch (e) {
    realConsole.warn(`[runtime] owners file not applied: ${e instanceof Error ? e.message : e}`);
  }
}

export async function startRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  const t0 = Date.now();
  const startup: Record<string, number> = {};
  let lastMark = performance.now();
  const mark = (step: string) => {
    const now = performance.now();
    startup[step] = Math.round((now - lastMark) * 10) / 10;
    lastMark = now;
  };
  const convexDir = resolve(opts.convexDir ?? "convex");
  const projectDir = dirname(convexDir);
  const dataDir = resolve(opts.dataDir ?? process.env.WARDEN_DATA_DIR ?? join(projectDir, ".data"));
  const host = opts.host ?? process.env.HOST ?? "127.0.0.1";
  const quiet = opts.quiet ?? false;
  const say = (s: string) => {
    if (!quiet) realConsole.log(s);
  };
  const env = new EnvScope();
  for (const [k, v] of Object.entries(opts.env ?? {})) env.set(k, v);

  const cleanups: Array<() => unknown> = [() => env.restore()];
  const undo = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  let ready = false;
  try {
    ensureDataDir(dataDir);
    cleanups.push(acquireLock(dataDir));
    for (const w of checkVersions()) say(`warning: ${w}`);
    const { keys } = await ensureKeys(dataDir);
    // HTTPS enforced: plain HTTP only on loopback, unless TLS is served here or a TLS proxy is in front.
    const transport = transportFor(host, { ...process.env, ...(opts.env ?? {}) });
    const createServer = (handler: RequestListener): Server =>
      transport.kind === "tls"
        ? (createHttpsServer({ cert: transport.cert, key: transport.key }, handler) as unknown as Server)
        : createHttpServer(handler);

    // Servers first: with port 0 the URLs (and so the env the functions read) depend on the bound ports.
    let onMain: ((req: any, res: any) => void) | null = null;
    let onSite: ((req: any, res: any) => void) | null = null;
    const notReady = (_req: any, res: any) => sendJson(res, 503, { status: "starting" }, { "Retry-After": "1" });
    const metrics = new Metrics();
    let routeOf: (path: string, method: string) => Promise<string | null> = async () => null;
    // Every request gets an id (X-Request-Id, error bodies, log lines) and is counted once answered.
    const main = createServer((req, res) => {
      assignRequestId(req, res);
      const t0 = performance.now();
      res.once("close", () =>
        metrics.httpRequest("api", mainRoute(req.url), req.method, res.statusCode, (performance.now() - t0) / 1000),
      );
      (onMain ?? notReady)(req, res);
    });
    const site = createServer((req, res) => {
      assignRequestId(req, res);
      const t0 = performance.now();
      res.once("close", () => {
        const seconds = (performance.now() - t0) / 1000;
        const path = (req.url ?? "/").split("?")[0];
        void routeOf(path, req.method ?? "GET").then((r) =>
          metrics.httpRequest(
            "site",
            r ?? (path === "/health" ? "/health" : "unmatched"),
            req.method,
            res.statusCode,
            seconds,
          ),
        );
      });
      (onSite ?? notReady)(req, res);
    });
    let hub: SyncHub | null = null;
    main.on("upgrade", (req, socket, head) => {
      if (ready && hub) hub.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    const requestedPort = opts.port ?? (process.env.PORT ? Number(process.env.PORT) : 3210);
    const port = await listen(main, requestedPort, host);
    cleanups.push(() => closeServer(main));
    const requestedSite =
      opts.sitePort ??
      (process.env.SITE_PORT ? Number(process.env.SITE_PORT) : requestedPort === 0 ? 0 : requestedPort + 1);
    const sitePort = await listen(site, requestedSite, host);
    cleanups.push(() => closeServer(site));
    const scheme = transport.kind === "tls" ? "https" : "http";
    const url = `${scheme}://${urlHost(host)}:${port}`;
    const siteUrl = `${scheme}://${urlHost(host)}:${sitePort}`;
    mark("keys+listen");

    // Production mode refuses a missing or well-known encryption key instead of generating one.
    if (process.env.WARDEN_ENV === "production") {
      const { assertSecretsConfigured } = await import("../convex/secrets/guard");
      assertSecretsConfigured(process.env);
    }
    const own = (k: string, v: string) =>
      opts.ownEnv && !(opts.env && k in opts.env) ? env.set(k, v) : env.setDefault(k, v);
    own("SKILL_SECRET_ENCRYPTION_KEY", keys.SKILL_SECRET_ENCRYPTION_KEY);
    own("WARDEN_AUTH_PRIVATE_JWK", JSON.stringify(keys.ownerIssuerPrivateJwk));
    own("WARDEN_AUTH_ISSUER", siteUrl);
    own("CONVEX_SITE_URL", siteUrl);
    own("CONVEX_CLOUD_URL", url);
    own("AUTH_MODE", "builtin");
    own("WARDEN_ALLOWED_ORIGINS", [url, ...(host === "127.0.0.1" ? [`http://localhost:${port}`] : [])].join(","));
    const authMode = process.env.AUTH_MODE!;

    const allowedOrigins = new Set(
      process.env
        .WARDEN_ALLOWED_ORIGINS!.split(",")
        .map((s) => s.trim().replace(/\/+$/, ""))
        .filter(Boolean),
    );

    installConsoleCapture(opts.echoFunctionLogs ?? false);
    cleanups.push(() => uninstallConsoleCapture());
    const app = await loadApp(convexDir);
    cleanups.push(() => app.cleanup());
    mark("bundle");

    const storageUrls = new StorageUrls(url);
    Backend.setStorageUrls(storageUrls);
    const backend = await Backend.create({
      schema: app.schema,
      modules: moduleMap(app.files, "/convex"),
      components: app.components.map((c, i) => ({
        path: c.path,
        schema: c.schema,
        modules: moduleMap(c.files, `/components/${i}`),
      })),
    });
    cleanups.push(() => backend.setHooks(null));
    mark("engine+selftest");

    const persistence = new Persistence(dataDir, backend, {
      compactEntries: opts.compactEntries ?? (Number(process.env.WARDEN_WAL_COMPACT_ENTRIES) || undefined),
      log: (m) => realConsole.warn(`[runtime] ${m}`),
      onFailure: () => {
        // Writes can no longer be made durable: stop serving rather than acknowledge them.
        ready = false;
        realConsole.error(
          "[runtime] FATAL: persistence failed; refusing requests. Fix the data directory and restart.",
        );
        void hub?.close();
      },
    });
    const recovery = await persistence.recover();
    mark("recovery");
    backend.setHooks({
      onCommit(rec) {
        persistence.onCommit(rec);
        metrics.commit(rec);
        Engine.noteCommit(rec.ts);
        hub?.markChanged(rec);
      },
      onBlobStored: (path, id, blob) => persistence.onBlobStored(path, id, blob),
    });
    cleanups.push(() => persistence.close());

    routeOf = (path, method) => backend.routeOf(path, method);
    const engine = new Engine(backend, persistence, {
      exposeErrors: opts.exposeErrors ?? process.env.WARDEN_EXPOSE_ERRORS === "1",
      onCall: (kind, outcome) => metrics.functionCall(kind, outcome),
    });
    // eslint-disable-next-line prefer-const
    let siteHandler: SiteHandler;
    const verifier = new AuthVerifier(parseProviders(app.authConfig), (u) =>
      siteHandler.isLocal(u) ? siteHandler.fetchLocal(u) : null,
    );
    siteHandler = new SiteHandler(engine, verifier, persistence, { siteUrl, isReady: () => ready });
    const api = new ApiHandler(engine, verifier, persistence, storageUrls, { allowedOrigins });
    const oidcOrigins = verifier.providers.flatMap((p) => (p.kind === "oidc" ? [new URL(p.domain).origin] : []));
    const staticSite = new StaticSite({
      distDir: opts.distDir ?? join(projectDir, "dist"),
      url,
      siteUrl,
      authMode,
      extraOrigins: oidcOrigins,
    });
    const limits = { ...limitsFromEnv(), ...opts.limits };
    const connLog = new ConnectionLog(join(dataDir, "connections.log"), quiet, (e) =>
      metrics.connection(e.event, e.reason),
    );
    hub = new SyncHub(engine, persistence, verifier, { limits, allowedOrigins, connLog, isReady: () => ready });
    const theHub = hub;
    cleanups.push(async () => {
      await theHub.close();
      await connLog.flush();
    });
    const metricsToken = process.env.WARDEN_METRICS_TOKEN || undefined;
    const scrape = () =>
      metrics.render([
        { name: "warden_ready", help: "1 while the runtime serves requests.", series: [[{}, ready ? 1 : 0]] },
        {
          name: "warden_uptime_seconds",
          help: "Seconds since the runtime started.",
          series: [[{}, Math.round((Date.now() - metrics.startedAt) / 1000)]],
        },
        { name: "warden_ws_sessions", help: "Open WebSocket sessions.", series: [[{}, theHub.sessions.size]] },
        {
          name: "warden_queue_depth",
          help: "Work waiting: pending scheduled functions (agent runs, deliveries, retries) and queued channel replies.",
          series: queueDepth(),
        },
        {
          name: "warden_documents",
          help: "Documents per table (root component).",
          series: [...backend.documentCounts()].map(([table, n]) => [{ table }, n]),
        },
        {
          name: "process_resident_memory_bytes",
          help: "Resident memory of the runtime process.",
          series: [[{}, process.memoryUsage().rss]],
        },
      ]);
    const queueDepth = (): Array<[Record<string, string>, number]> => {
      let scheduled = 0;
      let running = 0;
      for (const j of backend.scheduledJobs()) {
        if (j.state === "pending") scheduled++;
        else if (j.state === "inProgress") running++;
      }
      return [
        [{ queue: "scheduled_functions" }, scheduled],
        [{ queue: "scheduled_functions_running" }, running],
        [{ queue: "channel_outbox" }, backend.documentCounts().get("channelOutbox") ?? 0],
      ];
    };
    onMain = (req, res) => {
      const u = new URL(req.url ?? "/", "http://localhost");
      if (u.pathname === "/metrics") {
        if (!metricsAllowed(req, metricsToken)) return sendJson(res, 403, { error: "FORBIDDEN" });
        const body = scrape();
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store" });
        return void res.end(req.method === "HEAD" ? undefined : body);
      }
      if (u.pathname.startsWith("/api/")) {
        if (!ready) return notReady(req, res);
        return void api.handle(req, res, u);
      }
      staticSite.handle(req, res, u);
    };
    onSite = (req, res) => void siteHandler.handle(req, res);

    // Crons (convex-test ignores crons.ts).
    let cronSpecs: Record<string, CronSpec> = {};
    if (app.files.crons)
      cronSpecs = ((await backend.loadModule("crons")).default?.crons ?? {}) as Record<string, CronSpec>;
    const cronRunner = new CronRunner(
      cronSpecs,
      (name, args) => engine.callSystem(name, jsonToConvex(args as any) as Record<string, unknown>),
      (m) => realConsole.warn(`[runtime] ${m}`),
    );
    cleanups.push(() => cronRunner.stop());

    // Scheduled functions persisted by a previous run lost their timers: re-arm them (same job IDs).
    const timers = new Set<NodeJS.Timeout>();
    cleanups.push(() => timers.forEach(clearTimeout));
    let rearmed = 0;
    for (const job of backend.scheduledJobs()) {
      if (job.state === "inProgress") await backend.failInterruptedJob(job.componentPath, job.id);
      if (job.state !== "pending") continue;
      rearmed++;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          void backend
            .runScheduledJob(job.componentPath, job.id)
            .then(() => persistence.sync())
            .catch((e) => realConsole.error(`[runtime] scheduled job ${job.name} failed`, e));
        },
        Math.max(0, Math.min(job.scheduledTime - Date.now(), 2 ** 31 - 1)),
      );
      timers.add(timer);
    }
    // Finished scheduled-function records are kept 7 days, like Convex (checked at start, then hourly).
    const pruneJobs = () =>
      backend
        .pruneScheduledJobs(Date.now() - 7 * 24 * 3600 * 1000)
        .then(() => persistence.sync())
        .catch((e) => realConsole.warn(`[runtime] pruning scheduled-function records failed: ${e}`));
    mark("servers+crons");
    await pruneJobs();
    const pruneTimer = setInterval(() => void pruneJobs(), 3600 * 1000);
    pruneTimer.unref();
    cleanups.push(() => clearInterval(pruneTimer));
    await persistence.sync();
    mark("scheduler");

    await bootstrapOwner(app, backend, engine, dataDir, say).catch((e) =>
      realConsole.warn(
        `[runtime] first-owner setup failed (will retry on next start): ${e instanceof Error ? e.message : e}`,
      ),
    );
    await syncOwnersFile(app, engine, dataDir, say);
    if (app.files["skills/codeSync"]) {
      await engine
        .callSystem("skills/codeSync:sync", {})
        .catch((e) => realConsole.warn(`[runtime] code-skill sync failed: ${e instanceof Error ? e.message : e}`));
    }
    mark("owners+skills");
    cronRunner.start();
    // The operator's local channel (`npm run warden`); WARDEN_OPERATOR_SOCKET=0 turns it off.
    let operator: OperatorChannel | null = null;
    if (process.env.WARDEN_OPERATOR_SOCKET !== "0") {
      const channel = new OperatorChannel(dataDir, engine, (m) => realConsole.warn(`[runtime] ${m}`), {
        // `npm run warden -- backup <dir>`: a consistent point-in-time copy while requests go on.
        "runtime:backup": async (args) => {
          if (typeof args.dir !== "string") throw new Error("runtime:backup needs { dir }");
          const m = await onlineBackup(
            args.dir,
            { dataDir, backend, persistence },
            { includeKeys: args.includeKeys === true },
          );
          return { dir: resolve(args.dir), ...m, files: m.files.length };
        },
      });
      try {
        await channel.start();
        operator = channel;
        cleanups.push(() => channel.stop());
      } catch (e) {
        realConsole.warn(
          `[runtime] operator socket ${channel.path} not available (${e instanceof Error ? e.message : e}); \`npm run warden\` will not reach this process`,
        );
      }
    }
    mark("operator");
    ready = true;
    // Large tables stayed on disk at start: load them between requests now (a request that needs one
    // first loads it itself).
    let stopped = false;
    cleanups.push(() => (stopped = true));
    const loaded = new Promise<void>((r) => setImmediate(r))
      .then(() => backend.loadDeferred({ stop: () => stopped }))
      .catch((e) => realConsole.warn(`[runtime] loading tables failed: ${e instanceof Error ? e.message : e}`));

    say(
      [
        `Warden runtime ready in ${Date.now() - t0} ms (single-node embedded Convex runtime; see runtime/README.md)`,
        `  SyncBoard + Convex API  ${url}${staticSite.built ? "" : "  (SyncBoard not built)"}`,
        `  HTTP routes (site)      ${siteUrl}   health: ${siteUrl}/health`,
        `  Data directory          ${dataDir}  (${recovery.documents} documents restored, ${recovery.replayed} log entries replayed${rearmed ? `, ${rearmed} scheduled jobs re-armed` : ""})`,
        `  Auth mode               ${authMode}   allowed origins: ${[...allowedOrigins].join(", ")}`,
        `  Crons                   ${cronRunner.names().length ? cronRunner.names().join(", ") : "none"}`,
        `  Operator socket         ${operator ? `${operator.path}  (npm run warden -- help)` : "off"}`,
      ].join("\n"),
    );

    let stopping: Promise<void> | null = null;
    return {
      url,
      siteUrl,
      dataDir,
      authMode,
      recovery,
      startup,
      loaded,
      engine,
      hub,
      persistence,
      metrics,
      crons: cronRunner.names(),
      stop() {
        stopping ??= (async () => {
          ready = false;
          stopped = true;
          await operator?.stop();
          // Stop producing work and accepting connections, let running requests finish (bounded),
          // close the WebSockets (upgraded sockets keep server.close() waiting), then flush + snapshot.
          cronRunner.stop();
          timers.forEach(clearTimeout);
          const servers = Promise.all([closeServer(main, SHUTDOWN_DRAIN_MS), closeServer(site, SHUTDOWN_DRAIN_MS)]);
          await theHub.close(SHUTDOWN_DRAIN_MS);
          await servers;
          await persistence.close();
          await undo();
        })();
        return stopping;
      },
    };
  } catch (e) {
    ready = false;
    await undo();
    throw e;
  }
}
