// Calls Convex functions on the convex-test backend for clients: visibility and kind checks, identity,
// request metadata, log capture, error shaping, and durability (writes are fsynced before a result).
import { randomBytes } from "node:crypto";
import { formatWithOptions } from "node:util";
import { convexToJson, type JSONValue } from "convex/values";
import { execContext, type Accessor, type Backend, type ExecContext, type Identity } from "./internals.js";

export type Kind = "query" | "mutation" | "action";
/** `requestId`: the id of the HTTP request or WebSocket message, shown in server errors and logs. */
export type Caller = { identity: Identity | null; ip?: string; userAgent?: string; requestId?: string };
export type CallOutcome = "ok" | "app_error" | "server_error" | "not_found";
export type CallSuccess = { ok: true; value: unknown; logLines: string[]; commitTs: bigint | null };
export type CallFailure = { ok: false; errorMessage: string; errorData?: JSONValue; logLines: string[] };
export type CallResult = CallSuccess | CallFailure;

export interface Durability {
  /** Resolves once every write committed so far is on disk. */
  sync(): Promise<void>;
}

export class NotPublicError extends Error {}

/** "dir/mod:fn", "dir/mod" (default export) or "dir/mod.js:fn" → canonical parts. */
export function parseUdfPath(path: string): { module: string; name: string; canonical: string } {
  const idx = path.lastIndexOf(":");
  let mod = idx >= 0 ? path.slice(0, idx) : path;
  const name = idx >= 0 ? path.slice(idx + 1) : "default";
  mod = mod.replace(/\.js$/, "");
  return { module: mod, name, canonical: `${mod}:${name}` };
}

const LEVELS = { log: "LOG", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG" } as const;
let consoleInstalled: { restore(): void; echo: boolean } | null = null;
export const realConsole = globalThis.console;

/** Route console output of running functions into their logLines (the Convex client prints them). */
export function installConsoleCapture(echo: boolean) {
  if (consoleInstalled) {
    consoleInstalled.echo = echo;
    return;
  }
  const original = globalThis.console;
  const proxy = Object.create(original);
  for (const [method, level] of Object.entries(LEVELS)) {
    proxy[method] = (...args: unknown[]) => {
      const ctx = execContext.getStore();
      if (ctx?.logLines && !(ctx as { done?: boolean }).done) {
        const text = formatWithOptions({ depth: 4, colors: false }, ...args);
        ctx.logLines.push(`[${level}] ${text}`);
        const rid = (ctx as { requestId?: string }).requestId;
        if (consoleInstalled?.echo)
          (original as any)[method](rid ? `[fn ${level} request=${rid}]` : `[fn ${level}]`, text);
        return;
      }
      (original as any)[method](...args);
    };
  }
  globalThis.console = proxy;
  consoleInstalled = {
    echo,
    restore() {
      globalThis.console = original;
      consoleInstalled = null;
    },
  };
}
export function uninstallConsoleCapture() {
  consoleInstalled?.restore();
}

function isConvexError(e: unknown): e is { data: unknown; message: string } {
  return typeof e === "object" && e !== null && Symbol.for("ConvexError") in e;
}

export class Engine {
  constructor(
    readonly backend: Backend,
    private readonly durability: Durability,
    private readonly opts: { exposeErrors: boolean; onCall?: (kind: Kind | "unknown", outcome: CallOutcome) => void },
  ) {}

  /** Accessors by (identity, ip, user agent): building one makes a few dozen closures in convex-test. */
  private readonly accessors = new Map<string, Accessor>();

  accessor(caller: Caller | null): Accessor {
    if (!caller?.identity && !caller?.ip && !caller?.userAgent) return this.backend.root;
    const key = JSON.stringify([caller.identity ?? null, caller.ip ?? null, caller.userAgent ?? null]);
    let a = this.accessors.get(key);
    if (a) return a;
    a = this.backend.root;
    if (caller.identity) a = a.withIdentity(caller.identity);
    if (caller.ip || caller.userAgent) a = a.withRequestMetadata({ ip: caller.ip, userAgent: caller.userAgent });
    if (this.accessors.size >= 1000) this.accessors.clear();
    this.accessors.set(key, a);
    return a;
  }

  /** The kind of a public function, or a NotPublicError (internal, missing, http action). */
  async publicKind(udfPath: string, expected: Kind | "any"): Promise<Kind> {
    const { module, name, canonical } = parseUdfPath(udfPath);
    let fn: any;
    try {
      fn = (await this.backend.loadModule(module))[name];
    } catch (e) {
      if (!String((e as Error)?.message).startsWith("Could not find module"))
        realConsole.error(`[runtime] module ${module} failed to load:`, e);
      fn = undefined;
    }
    if (!fn || fn.isPublic !== true)
      throw new NotPublicError(
        `Could not find public function for '${canonical}'. Did you forget to run \`npx convex dev\` or \`npx convex deploy\`?`,
      );
    const kind: Kind | null = fn.isQuery ? "query" : fn.isMutation ? "mutation" : fn.isAction ? "action" : null;
    if (!kind) throw new NotPublicError(`Could not find public function for '${canonical}'.`);
    if (expected !== "any" && kind !== expected) {
      const cap = (k: string) => k[0].toUpperCase() + k.slice(1);
      throw new NotPublicError(
        `Trying to execute ${canonical} as ${cap(expected)}, but it is defined as ${cap(kind)}.`,
      );
    }
    return kind;
  }

  failure(e: unknown, logLines: string[], udfPath: string, requestId = randomBytes(8).toString("hex")): CallFailure {
    if (e instanceof NotPublicError) return { ok: false, errorMessage: e.message, logLines };
    if (isConvexError(e)) {
      let errorData: JSONValue;
      try {
        errorData = convexToJson(e.data as any);
      } catch {
        errorData = null;
      }
      return { ok: false, errorMessage: e.message, errorData, logLines };
    }
    realConsole.error(`[runtime] ${udfPath} failed (request ${requestId}):`, e);
    const message = this.opts.exposeErrors && e instanceof Error ? `${e.name}: ${e.message}` : "Server Error";
    return { ok: false, errorMessage: `[Request ID: ${requestId}] ${message}`, logLines };
  }

  /** Run a client call: checks visibility/kind, captures logs, fsyncs writes before returning. */
  async call(expected: Kind | "any", udfPath: string, args: unknown, caller: Caller): Promise<CallResult> {
    const ctx: ExecContext & { done?: boolean; commitTs?: bigint; requestId?: string } = {
      logLines: [],
      requestId: caller.requestId,
    };
    const logLines = ctx.logLines!;
    let kind: Kind | null = null;
    try {
      kind = await this.publicKind(udfPath, expected);
      if (typeof args !== "object" || args === null || Array.isArray(args))
        throw new NotPublicError(
          `The arguments to a Convex function must be an object. Received: ${JSON.stringify(args)}`,
        );
      const { canonical } = parseUdfPath(udfPath);
      const path = { udfPath: canonical, componentPath: "" };
      const a = this.accessor(caller);
      const run = kind === "query" ? a.queryFromPath : kind === "mutation" ? a.mutationFromPath : a.actionFromPath;
      const value = await execContext.run(ctx, () => run.call(a, path, args as Record<string, unknown>));
      ctx.done = true;
      if (kind !== "query") await this.durability.sync();
      this.opts.onCall?.(kind, "ok");
      return {
        ok: true,
        value,
        logLines,
        commitTs: kind === "mutation" ? (ctx.commitTs ?? this.backend.lastCommitTs()) : null,
      };
    } catch (e) {
      ctx.done = true;
      if (kind === "action") await this.durability.sync().catch(() => undefined);
      this.opts.onCall?.(
        kind ?? "unknown",
        e instanceof NotPublicError ? "not_found" : isConvexError(e) ? "app_error" : "server_error",
      );
      return this.failure(e, logLines, udfPath, caller.requestId);
    }
  }

  /** Run any function (internal included) as the system: crons, bootstrap. */
  async callSystem(udfPath: string, args: Record<string, unknown>): Promise<unknown> {
    const { canonical } = parseUdfPath(udfPath);
    try {
      return await this.backend.root.fun({ udfPath: canonical, componentPath: "" }, args);
    } finally {
      await this.durability.sync();
    }
  }

  /** Records the commit ts on the running call (called from the commit hook). */
  static noteCommit(ts: bigint) {
    const ctx = execContext.getStore() as (ExecContext & { commitTs?: bigint }) | undefined;
    if (ctx) ctx.commitTs = ts;
  }
}
