// The Convex sync protocol over WebSocket (see node_modules/convex/src/browser/sync/protocol.ts):
// sessions hold query sets and identity; the hub re-runs affected queries after each commit in one
// snapshot, waits until the writes are durable, then pushes one Transition per session.
import type { IncomingMessage } from "node:http";
import { AsyncResource } from "node:async_hooks";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { convexToJson, jsonToConvex, type JSONValue } from "convex/values";
import { execContext, tableNameFromId, type CommitRecord, type ExecContext, type Identity } from "./internals.js";
import { indexKey, keyInRange, type ReadRange } from "./store.js";
import { Engine, parseUdfPath, type Durability } from "./engine.js";
import { AuthFailure, type AuthVerifier } from "./auth.js";
import { ConnectionLog, IdentityCounter, SlidingWindow, type ConnLimits } from "./limits.js";
import { clientIp, newRequestId } from "./httputil.js";

export function encodeTs(ts: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, ts));
  return b.toString("base64");
}

type Mod =
  | { type: "QueryUpdated"; value: JSONValue; logLines: string[]; journal: string | null }
  | { type: "QueryFailed"; errorMessage: string; errorData?: JSONValue; logLines: string[]; journal: string | null };
/** What a result depended on: whole tables, index intervals, documents by id. */
type Entry = { str: string; mod: Mod; reads: Set<string>; ranges: ReadRange[]; docs: Set<string> };
type Change = { componentPath: string; table: string; id: string; before: unknown; after: unknown };

function affected(e: Entry, changes: Change[]): boolean {
  for (const ch of changes) {
    if (e.reads.has(ch.table) || e.docs.has(ch.id)) return true;
    for (const r of e.ranges) {
      if (r.table !== ch.table || r.componentPath !== ch.componentPath) continue;
      if (ch.before && keyInRange(indexKey(r.fields, ch.before), r)) return true;
      if (ch.after && keyInRange(indexKey(r.fields, ch.after), r)) return true;
    }
  }
  return false;
}
type QueryRec = {
  udfPath: string;
  args: Record<string, unknown>;
  argsJson: string;
  journal: string | null;
  lastStr: string | null;
};
type Plan = {
  querySet: number;
  identityVersion: number;
  identity: Identity | null;
  queries: Array<{ queryId: number; rec: QueryRec; key: string }>;
  removed: number[];
};
type Version = { querySet: number; identity: number; ts: bigint };

const MAX_QUERIES_PER_SESSION = 2000;
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
const PING_MS = 15_000;
const SYNC_PATH = /^\/api\/[^/]+\/sync$/;

function cacheKey(identity: Identity | null, rec: { udfPath: string; argsJson: string }, journal: string | null) {
  return `${identity ? JSON.stringify(identity) : ""}\u0000${rec.udfPath}\u0000${rec.argsJson}\u0000${journal ?? ""}`;
}

export type HubOptions = {
  limits: ConnLimits;
  allowedOrigins: Set<string>;
  connLog: ConnectionLog;
  isReady: () => boolean;
};

/** A token presented on the upgrade: `?token=` or `Authorization: Bearer` (seed 001). */
export function upgradeToken(req: IncomingMessage): string | null {
  const q = new URL(req.url ?? "/", "http://x").searchParams.get("token");
  if (q) return q;
  const m = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ""));
  return m ? m[1] : null;
}

export class SyncHub {
  readonly sessions = new Set<Session>();
  private cache = new Map<string, Entry>();
  private dirty: Change[] = [];
  private wanted = false;
  private running: Promise<void> | null = null;
  private readonly wss: WebSocketServer;
  private readonly ipWindow: SlidingWindow;
  readonly identities: IdentityCounter;
  /** calls per signed-in member across their connections */
  readonly memberCalls: SlidingWindow;
  private readonly ping: NodeJS.Timeout;
  private nextConn = 1;
  // Refreshes start from commit hooks, inside convex-test's async context of the committing function
  // (possibly a component's); they must run from a clean context, captured here at startup.
  private readonly scope = new AsyncResource("warden-sync-refresh");
  stats = { refreshes: 0, queryRuns: 0 };

  constructor(
    readonly engine: Engine,
    readonly durability: Durability,
    readonly auth: AuthVerifier,
    readonly opts: HubOptions,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.limits.maxFrameBytes, perMessageDeflate: false });
    this.ipWindow = new SlidingWindow(opts.limits.newPerIpPerMinute);
    this.identities = new IdentityCounter(opts.limits.concurrentPerIdentity);
    this.memberCalls = new SlidingWindow(opts.limits.callsPerMemberPerMinute);
    this.ping = setInterval(() => {
      for (const s of this.sessions) s.send({ type: "Ping" });
    }, PING_MS);
    this.ping.unref();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const ip = clientIp(req);
    const requestId = newRequestId();
    const reject = (status: number, text: string, reason: string, extra = "") => {
      this.opts.connLog.write({ event: "rejected", ip, reason, code: status, requestId });
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\nX-Request-Id: ${requestId}\r\n${extra}\r\n`,
      );
      socket.destroy();
    };
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (!SYNC_PATH.test(path)) return reject(404, "Not Found", "unknown_path");
    if (!this.opts.isReady()) return reject(503, "Service Unavailable", "not_ready");
    const origin = req.headers.origin;
    if (origin && !this.opts.allowedOrigins.has(origin)) return reject(403, "Forbidden", "origin_not_allowed");
    if (!this.ipWindow.tryAdd(ip)) return reject(429, "Too Many Requests", "ip_rate_limit", "Retry-After: 60\r\n");
    // Seed 001: a token may come on the upgrade (`?token=` or Authorization: Bearer); an invalid or
    // expired one is refused with 401 before the upgrade. Without one, the Convex client's own
    // Authenticate message (the default path) still works.
    const token = upgradeToken(req);
    const upgrade = (verified: { identity: Identity; exp: number | null } | null) =>
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const s = new Session(this, ws, this.nextConn++, ip, String(req.headers["user-agent"] ?? ""), requestId);
        this.sessions.add(s);
        this.opts.connLog.write({ event: "connect", ip, conn: s.id, requestId });
        if (verified) s.authenticateOnConnect(verified.identity, verified.exp);
      });
    if (token === null) return upgrade(null);
    this.auth.verify(token).then(
      (v) => upgrade({ identity: v.identity, exp: v.exp ?? null }),
      (e) => reject(401, "Unauthorized", `auth_failed: ${e instanceof AuthFailure ? e.message : "error"}`),
    );
  }

  /** A committed transaction: results whose read set its writes touch are recomputed. */
  markChanged(rec: CommitRecord) {
    for (const [componentPath, cw] of Object.entries(rec.components)) {
      for (const [id, after] of Object.entries(cw.writes)) {
        const table = tableNameFromId(id);
        if (table) this.dirty.push({ componentPath, table, id, before: cw.before?.[id] ?? null, after });
      }
    }
    this.request();
  }

  request() {
    this.wanted = true;
    if (this.running) return;
    this.running = this.scope
      .runInAsyncScope(async () => {
        while (this.wanted) {
          this.wanted = false;
          try {
            await this.refresh();
          } catch (e) {
            console.error("[runtime] subscription refresh failed", e);
          }
        }
      })
      .finally(() => {
        this.running = null;
        if (this.wanted) this.request();
      });
  }

  /** Resolves when no refresh is pending (tests, shutdown). */
  async idle() {
    while (this.running) await this.running;
  }

  private async refresh() {
    this.stats.refreshes++;
    const plans: Array<[Session, Plan]> = [];
    for (const s of this.sessions) if (!s.closed) plans.push([s, s.plan()]);
    const needed = new Map<string, { rec: QueryRec; identity: Identity | null }>();
    for (const [, p] of plans) for (const q of p.queries) needed.set(q.key, { rec: q.rec, identity: p.identity });
    const created = new Set<string>();
    const backend = this.engine.backend;
    // Synchronous: no commit can happen between invalidating and reading the commit ts.
    const invalidate = () => {
      const dirty = this.dirty;
      this.dirty = [];
      if (dirty.length) for (const [k, e] of this.cache) if (affected(e, dirty)) this.cache.delete(k);
      return backend.lastCommitTs();
    };
    let ts = invalidate();
    if ([...needed.keys()].some((k) => !this.cache.has(k))) {
      // One read-only transaction: the new results share one snapshot and no write can interleave.
      await backend.root.query(async () => {
        ts = invalidate();
        for (const [key, need] of needed) {
          if (this.cache.has(key)) continue;
          const entry = await this.compute(need.rec, need.identity);
          this.cache.set(key, entry);
          created.add(key);
          if (entry.mod.journal !== need.rec.journal) {
            const alias = cacheKey(need.identity, need.rec, entry.mod.journal);
            this.cache.set(alias, entry);
            created.add(alias);
          }
        }
      });
    }
    await this.durability.sync(); // never show a write that is not on disk yet
    for (const [s, p] of plans) s.deliver(p, this.cache, ts);
    for (const k of this.cache.keys()) if (!needed.has(k) && !created.has(k)) this.cache.delete(k);
  }

  private async compute(rec: QueryRec, identity: Identity | null): Promise<Entry> {
    this.stats.queryRuns++;
    const ctx: ExecContext & { done?: boolean } = {
      reads: new Set(),
      ranges: [],
      docs: new Set(),
      journalIn: rec.journal,
      journalOut: null,
      logLines: [],
    };
    let mod: Mod;
    try {
      await this.engine.publicKind(rec.udfPath, "query");
      const a = this.engine.accessor({ identity });
      const value = await execContext.run(ctx, () =>
        a.queryFromPath({ udfPath: parseUdfPath(rec.udfPath).canonical, componentPath: "" }, rec.args),
      );
      mod = {
        type: "QueryUpdated",
        value: convexToJson((value ?? null) as any),
        logLines: ctx.logLines!,
        journal: ctx.journalOut ?? rec.journal,
      };
    } catch (e) {
      const f = this.engine.failure(e, ctx.logLines!, rec.udfPath);
      mod = {
        type: "QueryFailed",
        errorMessage: f.errorMessage,
        logLines: f.logLines,
        journal: ctx.journalOut ?? rec.journal,
      };
      if (f.errorData !== undefined) mod.errorData = f.errorData;
    }
    ctx.done = true;
    return { str: JSON.stringify(mod), mod, reads: ctx.reads!, ranges: ctx.ranges!, docs: ctx.docs! };
  }

  /** True once close() started: new mutations and actions are no longer run. */
  closing = false;

  /**
   * Shutdown: lets requests already received finish and their answers go out (up to `drainMs`),
   * then closes every socket with 1001 and terminates those that do not finish the close handshake.
   */
  async close(drainMs = 2000) {
    this.closing = true;
    clearInterval(this.ping);
    const sessions = [...this.sessions];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, drainMs)));
    await Promise.race([Promise.all(sessions.map((s) => s.drain())).then(() => this.idle()), deadline]).catch(
      () => undefined,
    );
    clearTimeout(timer);
    await Promise.all(sessions.map((s) => s.shutdown(1000)));
    await this.idle().catch(() => undefined);
    this.wss.close();
  }
}

export class Session {
  closed = false;
  private querySet = 0;
  private identityVersion = 0;
  private identity: Identity | null = null;
  private identityKey: string | null = null;
  private queries = new Map<number, QueryRec>();
  private removed: number[] = [];
  private sent: Version = { querySet: 0, identity: 0, ts: 0n };
  private completed: Array<{ msg: unknown; commitTs: bigint }> = [];
  private queue: Promise<void> = Promise.resolve();
  private inflight = new Set<Promise<void>>();
  private expiry: NodeJS.Timeout | null = null;
  private sessionId: string | null = null;
  /** messages this connection sent in the last minute */
  private readonly messages: SlidingWindow;

  constructor(
    private readonly hub: SyncHub,
    private readonly ws: WebSocket,
    readonly id: number,
    private readonly ip: string,
    private readonly userAgent: string,
    /** The upgrade request's id: on every log line of this connection. */
    private readonly requestId: string,
  ) {
    this.messages = new SlidingWindow(hub.opts.limits.messagesPerConnectionPerMinute);
    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on("error", (err: Error & { code?: string }) => {
      const reason =
        err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
          ? "frame_too_large"
          : `socket_error:${err.code ?? err.message}`;
      this.log("rejected", reason);
    });
    ws.on("close", (code) => this.onClose(code));
  }

  private log(event: "authenticated" | "unauthenticated" | "disconnect" | "rejected", reason?: string, code?: number) {
    this.hub.opts.connLog.write({
      event,
      ip: this.ip,
      subject: (this.identity?.subject as string) ?? null,
      conn: this.id,
      reason,
      code,
      requestId: this.requestId,
    });
  }

  send(msg: unknown) {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log("rejected", "slow_consumer");
      this.ws.terminate();
      return;
    }
    this.ws.send(JSON.stringify(msg));
  }

  close(code: number, reason: string) {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason);
    this.onClose(code);
  }

  /** Resolves when every message received so far has been handled. */
  drain(): Promise<unknown> {
    return Promise.all([this.queue, ...this.inflight]);
  }

  /** Closes with 1001 ("going away"); a client that does not answer the close frame within `graceMs` is cut off. */
  shutdown(graceMs: number): Promise<void> {
    const ws = this.ws;
    if (ws.readyState === ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => ws.terminate(), graceMs);
      ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.close(1001, "server shutting down");
    });
  }

  private onClose(code: number) {
    if (this.closed) return;
    this.closed = true;
    if (this.expiry) clearTimeout(this.expiry);
    if (this.identityKey) this.hub.identities.release(this.identityKey);
    this.hub.sessions.delete(this);
    this.log("disconnect", undefined, code);
  }

  private fatal(error: string) {
    this.log("rejected", `protocol: ${error}`);
    this.send({ type: "FatalError", error });
    this.close(1008, "protocol error");
  }

  /** Identity verified on the upgrade (`?token=`), before any message. */
  authenticateOnConnect(identity: Identity, exp: number | null) {
    if (this.setIdentity(identity, null, exp)) this.log("authenticated", "upgrade_token");
  }

  private onMessage(data: Buffer, isBinary: boolean) {
    if (!this.messages.tryAdd("conn")) {
      this.log("rejected", "message_rate_limit");
      this.close(4429, "message rate limit");
      return;
    }
    let msg: any;
    try {
      if (isBinary) throw new Error("binary");
      msg = JSON.parse(data.toString("utf8"));
      if (typeof msg !== "object" || msg === null || typeof msg.type !== "string") throw new Error("shape");
    } catch {
      this.log("rejected", "malformed_message");
      this.close(1003, "malformed message");
      return;
    }
    this.queue = this.queue
      .then(() => this.handle(msg))
      .catch((e) => this.fatal(e instanceof ProtocolError ? e.message : "internal error"));
  }

  private async handle(msg: any) {
    if (this.closed) return;
    switch (msg.type) {
      case "Connect":
        this.sessionId = typeof msg.sessionId === "string" ? msg.sessionId : null;
        return;
      case "ModifyQuerySet":
        return this.modifyQuerySet(msg);
      case "Authenticate":
        return await this.authenticate(msg);
      case "Mutation":
        // Not run once shutdown started: unacknowledged, the client resends it after reconnecting.
        if (this.hub.closing) return;
        if (this.memberLimited(msg, "MutationResponse")) return;
        return await this.mutation(msg);
      case "Action": {
        if (this.hub.closing) return;
        if (this.memberLimited(msg, "ActionResponse")) return;
        const p = this.action(msg);
        this.inflight.add(p);
        void p.finally(() => this.inflight.delete(p));
        return;
      }
      case "Event":
        return;
      default:
        throw new ProtocolError(`Unknown message type ${String(msg.type).slice(0, 40)}`);
    }
  }

  /** A signed-in member over their call rate gets RATE_LIMITED (logged); anonymous calls have their own server-side limits. */
  private memberLimited(msg: any, type: "MutationResponse" | "ActionResponse"): boolean {
    if (!this.identityKey || this.hub.memberCalls.tryAdd(this.identityKey)) return false;
    this.log("rejected", "member_call_rate_limit");
    this.send({
      type,
      requestId: msg.requestId,
      success: false,
      result: "RATE_LIMITED",
      logLines: [],
      errorData: { code: "RATE_LIMITED", retryAfterMs: 60_000 },
    });
    return true;
  }

  private modifyQuerySet(msg: any) {
    if (msg.baseVersion !== this.querySet) throw new ProtocolError(`Invalid query set base version ${msg.baseVersion}`);
    if (!Number.isInteger(msg.newVersion) || msg.newVersion <= msg.baseVersion || !Array.isArray(msg.modifications))
      throw new ProtocolError("Invalid ModifyQuerySet");
    for (const m of msg.modifications) {
      if (m?.type === "Add") {
        if (
          !Number.isInteger(m.queryId) ||
          typeof m.udfPath !== "string" ||
          !Array.isArray(m.args) ||
          m.args.length !== 1
        )
          throw new ProtocolError("Invalid Add");
        if (this.queries.has(m.queryId)) throw new ProtocolError(`Duplicate query id ${m.queryId}`);
        if (m.componentPath) throw new ProtocolError("Queries on components are not allowed");
        if (this.queries.size >= MAX_QUERIES_PER_SESSION) throw new ProtocolError("Too many queries");
        let args: any;
        try {
          args = jsonToConvex(m.args[0]);
        } catch {
          throw new ProtocolError("Invalid query arguments");
        }
        const journal = typeof m.journal === "string" ? m.journal : null;
        this.queries.set(m.queryId, {
          udfPath: m.udfPath,
          args,
          argsJson: JSON.stringify(m.args[0]),
          journal,
          lastStr: null,
        });
      } else if (m?.type === "Remove") {
        if (this.queries.delete(m.queryId)) this.removed.push(m.queryId);
      } else throw new ProtocolError("Invalid query set modification");
    }
    this.querySet = msg.newVersion;
    this.hub.request();
  }

  private setIdentity(identity: Identity | null, version: number | null, exp: number | null = null) {
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = null;
    const key = identity ? String(identity.tokenIdentifier) : null;
    if (key !== this.identityKey) {
      if (this.identityKey) this.hub.identities.release(this.identityKey);
      this.identityKey = null;
      if (key && !this.hub.identities.tryAcquire(key)) {
        this.identity = identity; // for the log line
        this.log("rejected", "too_many_concurrent_connections_for_identity");
        this.identity = null;
        this.close(1008, "too many concurrent connections for this identity");
        return false;
      }
      this.identityKey = key;
    }
    this.identity = identity;
    if (version !== null) this.identityVersion = version;
    if (exp !== null) {
      const v = this.identityVersion;
      const ms = Math.min(Math.max(exp * 1000 - Date.now(), 0), 2 ** 31 - 1);
      this.expiry = setTimeout(() => this.expire(v), ms);
      this.expiry.unref();
    }
    this.hub.request();
    return true;
  }

  private expire(version: number) {
    if (this.closed || this.identityVersion !== version || !this.identity) return;
    this.log("unauthenticated", "token_expired");
    if (this.hub.opts.limits.strictAuth) return this.close(4401, "token expired");
    this.send({ type: "AuthError", error: "Token expired", baseVersion: version - 1, authUpdateAttempted: false });
    this.setIdentity(null, null);
  }

  private async authenticate(msg: any) {
    const base = Number.isInteger(msg.baseVersion) ? msg.baseVersion : this.identityVersion;
    const fail = (error: string, reason: string) => {
      this.log("rejected", reason);
      // strict mode: an authenticated socket whose token fails does not drop to anonymous
      if (this.hub.opts.limits.strictAuth && this.identity) return this.close(4401, "token rejected");
      this.send({ type: "AuthError", error, baseVersion: base, authUpdateAttempted: true });
      this.setIdentity(null, null); // queries never run with a rejected token
    };
    if (msg.tokenType === "None") {
      this.setIdentity(null, base + 1);
      return;
    }
    if (msg.tokenType === "Admin")
      return fail("Admin authentication is not supported by the Warden runtime", "admin_auth_unsupported");
    if (msg.tokenType !== "User" || typeof msg.value !== "string")
      return fail("Invalid Authenticate message", "auth_malformed");
    try {
      const { identity, exp } = await this.hub.auth.verify(msg.value);
      if (this.closed) return;
      if (this.setIdentity(identity, base + 1, exp)) this.log("authenticated");
    } catch (e) {
      if (!(e instanceof AuthFailure))
        console.error(`[runtime] token verification error (request ${this.requestId}, conn ${this.id})`, e);
      fail(
        e instanceof AuthFailure ? e.message : "Could not verify token",
        `auth_failed: ${e instanceof AuthFailure ? e.message : "error"}`,
      );
    }
  }

  private requestArgs(msg: any): { ok: true; udfPath: string; args: unknown } | { ok: false; error: string } {
    if (
      !Number.isInteger(msg.requestId) ||
      typeof msg.udfPath !== "string" ||
      !Array.isArray(msg.args) ||
      msg.args.length !== 1
    )
      throw new ProtocolError(`Invalid ${msg.type}`);
    if (msg.componentPath) return { ok: false, error: "Calling functions of components is not allowed" };
    try {
      return { ok: true, udfPath: msg.udfPath, args: jsonToConvex(msg.args[0]) };
    } catch {
      return { ok: false, error: "Invalid arguments" };
    }
  }

  /** Each mutation or action gets its own request id (in server-error messages and logs). */
  private caller() {
    return { identity: this.identity, ip: this.ip, userAgent: this.userAgent, requestId: newRequestId() };
  }

  private async mutation(msg: any) {
    const req = this.requestArgs(msg);
    if (!req.ok)
      return this.send({
        type: "MutationResponse",
        requestId: msg.requestId,
        success: false,
        result: req.error,
        logLines: [],
      });
    const r = await this.hub.engine.call("mutation", req.udfPath, req.args, this.caller());
    if (!r.ok) {
      const out: any = {
        type: "MutationResponse",
        requestId: msg.requestId,
        success: false,
        result: r.errorMessage,
        logLines: r.logLines,
      };
      if (r.errorData !== undefined) out.errorData = r.errorData;
      return this.send(out);
    }
    // Sent just before the first Transition at or after its commit ts (the client needs that order).
    const commitTs = r.commitTs ?? 0n;
    this.completed.push({
      commitTs,
      msg: {
        type: "MutationResponse",
        requestId: msg.requestId,
        success: true,
        result: convexToJson((r.value ?? null) as any),
        ts: encodeTs(commitTs),
        logLines: r.logLines,
      },
    });
    this.hub.request();
  }

  private async action(msg: any) {
    let out: any;
    try {
      const req = this.requestArgs(msg);
      if (!req.ok)
        out = { type: "ActionResponse", requestId: msg.requestId, success: false, result: req.error, logLines: [] };
      else {
        const r = await this.hub.engine.call("action", req.udfPath, req.args, this.caller());
        if (r.ok)
          out = {
            type: "ActionResponse",
            requestId: msg.requestId,
            success: true,
            result: convexToJson((r.value ?? null) as any),
            logLines: r.logLines,
          };
        else {
          out = {
            type: "ActionResponse",
            requestId: msg.requestId,
            success: false,
            result: r.errorMessage,
            logLines: r.logLines,
          };
          if (r.errorData !== undefined) out.errorData = r.errorData;
        }
      }
    } catch (e) {
      return this.fatal(e instanceof ProtocolError ? e.message : "internal error");
    }
    this.send(out);
  }

  plan(): Plan {
    const queries: Plan["queries"] = [];
    for (const [queryId, rec] of this.queries)
      queries.push({ queryId, rec, key: cacheKey(this.identity, rec, rec.journal) });
    const removed = this.removed;
    this.removed = [];
    return {
      querySet: this.querySet,
      identityVersion: this.identityVersion,
      identity: this.identity,
      queries,
      removed,
    };
  }

  deliver(plan: Plan, cache: Map<string, Entry>, ts: bigint) {
    if (this.closed) return;
    const modifications: unknown[] = [];
    for (const { queryId, rec, key } of plan.queries) {
      const e = cache.get(key);
      if (!e) continue;
      if (rec.lastStr !== e.str) {
        modifications.push({ queryId, ...e.mod });
        rec.lastStr = e.str;
      }
      rec.journal = e.mod.journal;
    }
    for (const queryId of plan.removed) modifications.push({ type: "QueryRemoved", queryId });
    const ready = this.completed.filter((c) => c.commitTs <= ts);
    this.completed = this.completed.filter((c) => c.commitTs > ts);
    for (const c of ready) this.send(c.msg);
    const end: Version = { querySet: plan.querySet, identity: plan.identityVersion, ts };
    const changed = end.querySet !== this.sent.querySet || end.identity !== this.sent.identity;
    if (modifications.length === 0 && ready.length === 0 && !changed) return;
    const v = (x: Version) => ({ querySet: x.querySet, identity: x.identity, ts: encodeTs(x.ts) });
    this.send({ type: "Transition", startVersion: v(this.sent), endVersion: v(end), modifications });
    this.sent = end;
  }
}

class ProtocolError extends Error {}
