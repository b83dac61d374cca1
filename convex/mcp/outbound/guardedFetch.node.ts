"use node";
/**
 * NODE ONLY. Import this module only from "use node" action files. It defines no Convex functions
 * (two dots in the name); the directive makes Convex bundle it for Node.
 *
 * The MCP SDK client's `fetch`, built on safeFetch (convex/lib/safeFetch.node.ts):
 *   - only the registered server URL; POST, plus DELETE to end an upstream session (GET is answered
 *     locally with 405, so no never-ending standalone SSE stream is ever opened);
 *   - the allowlist is the server's own host; safeFetch vets every resolved address at connect
 *     time, pins the connection, refuses redirects, and counts response bytes while they stream
 *     (SSE included) — it destroys the socket the moment the cap is crossed;
 *   - one deadline for the whole connect + call; each request gets the time that is left;
 *   - only the MCP transport's own headers plus the server's stored auth header go upstream —
 *     nothing else a caller might carry (e.g. an inbound /mcp bearer token) can be forwarded;
 *   - the first refusal is remembered and aborts a per-call AbortController, so a pending
 *     request fails at once instead of waiting for its timeout;
 *   - connections are kept alive (safeFetch `keepAlive`) in a pool partitioned by registered
 *     server, URL and the exact auth header: two servers, or one server before and after its
 *     credential changed, never share a socket. Only requests that are not tool calls may be
 *     re-sent on a fresh socket when a reused one was already closed.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { safeFetch } from "../../lib/safeFetch.node.js";
import { inspectMessages } from "../protocol";

/** The only request headers that go upstream (besides the server's own auth header). */
const TRANSPORT_HEADERS = new Set([
  "content-type",
  "accept",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
]);
const USER_AGENT = "Warden-MCP/1";
const MAX_REQUEST_MS = 120_000;

export class GuardFailure extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = "GuardFailure";
  }
}

export type GuardOptions = {
  /** the registered server URL (already through checkEgressUrl) */
  url: string;
  /** absolute deadline (ms since epoch) for everything */
  deadline: number;
  /** byte cap for a response to tools/call */
  callMaxBytes: number;
  /** byte cap for any other response (initialize, tools/list, ping) */
  otherMaxBytes: number;
  /** the server's stored auth header, if any */
  authHeader?: { name: string; value: string };
  /** the registered server (its id): part of the keep-alive partition */
  pool?: string;
  /** OAuth servers: a 401 answer fails the call with this code (the caller refreshes and retries once) */
  unauthorizedCode?: string;
};

export type Guard = {
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  signal: AbortSignal;
  failure: () => string | undefined;
  callBytes: () => number;
  dispose: () => void;
};

function flattenHeaders(h: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  new Headers(h).forEach((value, key) => {
    out[key.toLowerCase()] = value;
  });
  return out;
}

export function createGuard(opts: GuardOptions): Guard {
  const controller = new AbortController();
  let failed: string | undefined;
  let lastCallBytes = 0;
  const target = new URL(opts.url);
  const host = target.hostname;
  const partition = JSON.stringify([
    opts.pool ?? "",
    target.href,
    opts.authHeader?.name ?? "",
    opts.authHeader?.value ?? "",
  ]);
  const fail = (code: string): never => {
    if (failed === undefined) failed = code;
    if (!controller.signal.aborted) controller.abort(new GuardFailure(code));
    throw new GuardFailure(code);
  };
  const timer = setTimeout(
    () => {
      if (failed === undefined) failed = "TIMEOUT";
      controller.abort(new GuardFailure("TIMEOUT"));
    },
    Math.max(1, opts.deadline - Date.now()),
  );

  const guardedFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (failed !== undefined) fail(failed);
    const method = (init.method ?? "GET").toUpperCase();
    const sessionEnd = method === "DELETE" && new Headers(init.headers).has("mcp-session-id");
    if (method !== "POST" && !sessionEnd) return new Response(null, { status: 405, headers: { Allow: "POST" } });
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url !== target.href) fail("DOMAIN_NOT_ALLOWED");
    const remaining = opts.deadline - Date.now();
    if (remaining <= 0) fail("TIMEOUT");
    const body = typeof init.body === "string" ? init.body : "";
    const isCall = inspectMessages(body).toolCalls.length > 0;

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(flattenHeaders(init.headers))) if (TRANSPORT_HEADERS.has(k)) headers[k] = v;
    headers["user-agent"] = USER_AGENT;
    if (opts.authHeader) headers[opts.authHeader.name] = opts.authHeader.value;

    const pending = safeFetch(target.href, {
      method,
      headers,
      ...(method === "POST" ? { body } : {}),
      allowlist: [host],
      timeoutMs: Math.min(remaining, MAX_REQUEST_MS),
      maxBytes: isCall ? opts.callMaxBytes : opts.otherMaxBytes,
      keepAlive: { partition, retryStale: !isCall },
    });
    // The transport's own abort (client.close()) and ours both end the wait at once.
    const signals = [controller.signal, init.signal].filter((s): s is AbortSignal => !!s);
    const aborted = new Promise<"ABORTED">((resolve) => {
      for (const s of signals) {
        if (s.aborted) resolve("ABORTED");
        else s.addEventListener("abort", () => resolve("ABORTED"), { once: true });
      }
    });
    const r = await Promise.race([pending, aborted]);
    if (r === "ABORTED") return fail(failed ?? "UPSTREAM_ERROR");
    if (!r.ok) return fail(r.code);
    if (r.status === 401 && opts.unauthorizedCode) return fail(opts.unauthorizedCode);
    if (isCall) lastCallBytes = r.bytes;
    const out = new Headers();
    const ct = r.headers["content-type"];
    if (ct) out.set("content-type", ct);
    const sid = r.headers["mcp-session-id"];
    if (sid) out.set("mcp-session-id", sid);
    const noBody = r.status === 202 || r.status === 204 || r.status === 205 || r.status === 304;
    return new Response(noBody ? null : r.body, { status: r.status, headers: out });
  };

  return {
    fetch: guardedFetch,
    signal: controller.signal,
    failure: () => failed,
    callBytes: () => lastCallBytes,
    dispose: () => clearTimeout(timer),
  };
}

/** Maps whatever a client call threw to a catalogue code (never the message). */
export function errorCode(err: unknown, guard: Guard): string {
  const seen = guard.failure();
  if (seen) return seen;
  if (err instanceof GuardFailure) return err.code;
  if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) return "TIMEOUT";
  return "UPSTREAM_ERROR";
}

export type Connected<T> = { ok: true; value: T; guard: Guard } | { ok: false; code: string };

/**
 * Connects an SDK Client to `opts.url` through the guard, runs `fn`, always closes.
 * Errors come back as codes.
 */
export async function withMcpClient<T>(
  opts: GuardOptions,
  fn: (client: Client, guard: Guard, remainingMs: () => number) => Promise<T>,
): Promise<Connected<T>> {
  const guard = createGuard(opts);
  const remainingMs = () => Math.max(1, opts.deadline - Date.now());
  const transport = new StreamableHTTPClientTransport(new URL(opts.url), { fetch: guard.fetch });
  const client = new Client({ name: "warden", version: "1.0.0" }, { capabilities: {} });
  client.onerror = () => undefined;
  try {
    await client.connect(transport, { timeout: remainingMs(), signal: guard.signal });
    const value = await fn(client, guard, remainingMs);
    const code = guard.failure();
    if (code) return { ok: false, code };
    return { ok: true, value, guard };
  } catch (err) {
    return { ok: false, code: errorCode(err, guard) };
  } finally {
    // A stateful server gets its session ended (DELETE) instead of holding it until it expires.
    if (transport.sessionId !== undefined && guard.failure() === undefined) {
      await transport.terminateSession().catch(() => undefined);
    }
    guard.dispose();
    await client.close().catch(() => undefined);
  }
}
