"use node";
/**
 * NODE ONLY. Import this module only from Node-runtime action files (first line "use node");
 * it uses node:dns, node:http, node:https and node:net and cannot bundle for the default runtime.
 * The directive above makes Convex bundle this helper module for Node; it defines no functions.
 *
 * `safeFetch` is the only way a request leaves the box (webhook skills, MCP over HTTP, health
 * checks). In order:
 *   1. `checkEgressUrl`: scheme, userinfo, IP literals, exact allowlist match, port.
 *   2. Resolve the host once and vet EVERY address with `isPublicAddress`
 *      (a name resolving to any private/loopback/metadata address → PRIVATE_ADDRESS_BLOCKED).
 *   3. Connect to the vetted address only: the socket's `lookup` returns that address, so no
 *      second DNS answer can swap in another one; TLS uses SNI/certificate checks for the host.
 *      The connected peer address is re-checked against the vetted one.
 *   4. Redirects are never followed (any 3xx → REDIRECT_BLOCKED).
 *   5. One deadline covers DNS, connect, TLS, headers and body (→ TIMEOUT, socket destroyed).
 *   6. Content-Length above the cap, or more bytes streamed than the cap → OUTPUT_TOO_LARGE;
 *      the socket is destroyed as soon as the cap is crossed.
 *   7. No connection is reused unless the caller asks (`keepAlive`): then an idle socket is taken
 *      only from the pool of (partition, scheme, host, port, the address vetted for THIS request),
 *      so DNS is still resolved and vetted every time and a new answer never rides an old socket;
 *      sockets idle at most KEEP_ALIVE_IDLE_MS; any request that fails destroys its socket.
 * Failures return a code only (never an exception, message or stack).
 *
 * Codes (besides those of egress.ts): REDIRECT_BLOCKED, TIMEOUT, OUTPUT_TOO_LARGE, INPUT_INVALID
 * (bad method/header/body/limits from the caller), UPSTREAM_ERROR (new: DNS failure, refused,
 * reset, TLS failure, malformed response).
 */
import { createHash, randomBytes } from "node:crypto";
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import ipaddr from "ipaddr.js";
import { checkEgressUrl, isPublicAddress, TRANSPORT_HEADERS, type EgressCode } from "./egress";

export type ResolvedAddress = { address: string; family: number };
/** Resolves a hostname to all of its addresses. Injectable for tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type SafeFetchInit = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Allowlisted domains; entries are normalized with `validateAllowlistEntry`, invalid ones ignored. */
  allowlist: string[];
  allowHttp?: boolean;
  /** Whole-request deadline in ms. Default 10 000, max 120 000. */
  timeoutMs?: number;
  /** Response body cap in bytes. Default 50 KiB, max 16 MiB. */
  maxBytes?: number;
  /**
   * TESTS ONLY. Also accept loopback addresses (127.0.0.0/8, ::1) and any port. Takes effect only
   * when `process.env.WARDEN_TEST_ALLOW_LOOPBACK === "1"` as well. Production code never sets
   * either; a test in safeFetch.test.ts fails if a non-test file does.
   */
  testOnlyAllowLoopback?: boolean;
  /**
   * Operator dev setup (a local model server): a URL whose host is itself loopback (`localhost`,
   * `127.x`, `[::1]`) may be fetched over http on any port, and only loopback answers are accepted
   * for it. Takes effect only when `process.env.WARDEN_DEV === "1"`, which only the operator sets.
   */
  devAllowLoopbackHost?: boolean;
  /** Non-default ports allowed for this request's host (operator-declared). */
  allowedPorts?: string[];
  /** Resolver override (tests). Default: the system resolver, all addresses. */
  lookup?: Resolver;
  /**
   * Reuse connections (HTTP keep-alive) within `partition`, e.g. one registered server with one
   * credential: sockets are never shared across partitions. `retryStale`: the request may be sent
   * again once on a fresh connection if a reused one turns out closed before any response (only
   * for requests that are safe to repeat).
   */
  keepAlive?: { partition: string; retryStale?: boolean };
};

export type SafeFetchCode =
  EgressCode | "REDIRECT_BLOCKED" | "TIMEOUT" | "OUTPUT_TOO_LARGE" | "INPUT_INVALID" | "UPSTREAM_ERROR";

export type SafeFetchResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string; bytes: number; durationMs: number }
  | { ok: false; code: SafeFetchCode; durationMs: number };

/**
 * `safeFetchStream`: resolves once the response headers passed the checks; the body arrives as a
 * stream under the same rules: the deadline still covers the whole body, the byte cap is counted
 * while streaming, and either one errors the stream with a SafeFetchStreamError (socket destroyed).
 */
export type SafeFetchStreamResult =
  | { ok: true; status: number; headers: Record<string, string>; body: ReadableStream<Uint8Array>; durationMs: number }
  | { ok: false; code: SafeFetchCode; durationMs: number };

/** How a streamed body ends early: the code only (TIMEOUT, OUTPUT_TOO_LARGE, UPSTREAM_ERROR). */
export class SafeFetchStreamError extends Error {
  constructor(readonly code: SafeFetchCode) {
    super(code);
    this.name = "SafeFetchStreamError";
  }
}

export const SAFE_FETCH_DEFAULT_TIMEOUT_MS = 10_000;
export const SAFE_FETCH_DEFAULT_MAX_BYTES = 50 * 1024;
const MAX_TIMEOUT_MS = 120_000;
const MAX_MAX_BYTES = 16 * 1024 * 1024;
const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const MAX_REQUEST_HEADERS = 64;
const MAX_RESOLVED_ADDRESSES = 64;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const defaultResolver: Resolver = async (hostname) => {
  const all = await dnsLookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family }));
};

function isLoopbackAddress(ip: string): boolean {
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return ipaddr.IPv4.parse(ip).range() === "loopback";
  if (net.isIPv6(ip) && ipaddr.IPv6.isValid(ip)) return ipaddr.IPv6.parse(ip).range() === "loopback";
  return false;
}

function sameAddress(a: string | undefined, b: string): boolean {
  if (a === undefined || !ipaddr.isValid(a) || !ipaddr.isValid(b)) return false;
  return ipaddr.parse(a).toNormalizedString() === ipaddr.parse(b).toNormalizedString();
}

function collectHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

type Prepared = {
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
  timeoutMs: number;
  maxBytes: number;
  keepAlive?: { partition: string; retryStale: boolean };
};

function prepare(init: SafeFetchInit): Prepared | null {
  if (typeof init !== "object" || init === null || !Array.isArray(init.allowlist)) return null;
  const method = (init.method ?? "GET").toUpperCase();
  if (!METHODS.has(method)) return null;
  const timeoutMs = init.timeoutMs ?? SAFE_FETCH_DEFAULT_TIMEOUT_MS;
  const maxBytes = init.maxBytes ?? SAFE_FETCH_DEFAULT_MAX_BYTES;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) return null;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_MAX_BYTES) return null;
  const headers: Record<string, string> = {};
  const given = init.headers ?? {};
  if (typeof given !== "object" || given === null) return null;
  const entries = Object.entries(given);
  if (entries.length > MAX_REQUEST_HEADERS) return null;
  for (const [name, value] of entries) {
    if (typeof value !== "string") return null;
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch {
      return null;
    }
    const lower = name.toLowerCase();
    if (TRANSPORT_HEADERS.has(lower)) continue;
    headers[lower] = value;
  }
  let body: Buffer | null = null;
  if (init.body !== undefined) {
    if (typeof init.body !== "string") return null;
    body = Buffer.from(init.body, "utf8");
    if (body.length > MAX_REQUEST_BODY_BYTES) return null;
    headers["content-length"] = String(body.length);
  }
  headers["accept-encoding"] = "identity"; // we never decompress, so a small body stays small
  const ka = init.keepAlive;
  if (
    ka !== undefined &&
    (typeof ka !== "object" || ka === null || typeof ka.partition !== "string" || ka.partition.length === 0)
  )
    return null;
  if (!ka) headers["connection"] = "close";
  return {
    method,
    headers,
    body,
    timeoutMs,
    maxBytes,
    ...(ka ? { keepAlive: { partition: ka.partition, retryStale: ka.retryStale === true } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// keep-alive pool

/** An idle pooled socket is closed after this long (below common server keep-alive timeouts). */
export const KEEP_ALIVE_IDLE_MS = 3_000;
const POOL_MAX_AGENTS = 64;
const POOL_MAX_SOCKETS = 8;
const POOL_MAX_FREE = 4;
/** Per-process salt: pool keys (which may derive from a credential) are never plain or comparable across processes. */
const POOL_SALT = randomBytes(16);
/** Least recently used first. A dropped agent is not destroyed: its idle sockets time out (unref'd). */
const pool = new Map<string, http.Agent>();

function poolKey(partition: string, target: URL, pinned: ResolvedAddress): string {
  const port = target.port || (target.protocol === "https:" ? "443" : "80");
  const id = JSON.stringify([partition, target.protocol, target.hostname, port, pinned.address, pinned.family]);
  return createHash("sha256").update(POOL_SALT).update(id).digest("hex");
}

function pooledAgent(key: string, isHttps: boolean): http.Agent {
  const found = pool.get(key);
  if (found) {
    pool.delete(key);
    pool.set(key, found);
    return found;
  }
  const opts = {
    keepAlive: true,
    maxSockets: POOL_MAX_SOCKETS,
    maxFreeSockets: POOL_MAX_FREE,
    timeout: KEEP_ALIVE_IDLE_MS, // an idle (free) socket that times out is destroyed by the agent
    scheduling: "lifo" as const,
  };
  const agent = isHttps ? new https.Agent(opts) : new http.Agent(opts);
  pool.set(key, agent);
  while (pool.size > POOL_MAX_AGENTS) pool.delete(pool.keys().next().value as string);
  return agent;
}

/** Tests: how many pools exist and how many idle sockets they hold. */
export function keepAlivePoolStats(): { agents: number; idleSockets: number } {
  let idleSockets = 0;
  for (const a of pool.values()) for (const list of Object.values(a.freeSockets)) idleSockets += list?.length ?? 0;
  return { agents: pool.size, idleSockets };
}

/** The dev loopback target (see `devAllowLoopbackHost`), or null when the normal rules apply. */
function devLoopbackTarget(url: string, init: SafeFetchInit): { url: URL; lookup: Resolver } | null {
  if (init.devAllowLoopbackHost !== true || process.env.WARDEN_DEV !== "1") return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password) return null;
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  if (!normalizedAllowlistHas(init.allowlist, host)) return null;
  if (isLoopbackAddress(literal))
    return { url: u, lookup: async () => [{ address: literal, family: net.isIP(literal) }] };
  if (host === "localhost" || host.endsWith(".localhost")) return { url: u, lookup: init.lookup ?? defaultResolver };
  return null;
}

function normalizedAllowlistHas(allowlist: string[], host: string): boolean {
  return Array.isArray(allowlist) && allowlist.some((h) => typeof h === "string" && h.toLowerCase() === host);
}

/**
 * Fetch `url` under the egress rules above. Never throws; never follows redirects.
 */
export async function safeFetch(url: string, init: SafeFetchInit): Promise<SafeFetchResult> {
  return (await fetchImpl(url, init, false)) as SafeFetchResult;
}

/**
 * Like `safeFetch`, but the body is a stream (model replies as they are generated): every check
 * above holds, and the deadline and byte cap keep applying until the last byte. Never throws;
 * the stream errors with a SafeFetchStreamError. Cancelling the stream closes the socket.
 */
export async function safeFetchStream(url: string, init: SafeFetchInit): Promise<SafeFetchStreamResult> {
  return (await fetchImpl(url, init, true)) as SafeFetchStreamResult;
}

type AnyResult = SafeFetchResult | SafeFetchStreamResult;

async function fetchImpl(url: string, init: SafeFetchInit, stream: boolean): Promise<AnyResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (code: SafeFetchCode): SafeFetchResult => ({ ok: false, code, durationMs: elapsed() });

  try {
    const prepared = prepare(init);
    if (!prepared) return fail("INPUT_INVALID");
    const loopbackOverride = init.testOnlyAllowLoopback === true && process.env.WARDEN_TEST_ALLOW_LOOPBACK === "1";
    const dev = devLoopbackTarget(url, init);
    if (dev) return await run(dev.url, prepared, dev.lookup, "only", fail, elapsed, stream);
    const checked = checkEgressUrl(url, init.allowlist, {
      allowHttp: init.allowHttp === true,
      testOnlyAnyPort: loopbackOverride,
      allowedPorts: init.allowedPorts,
    });
    if (!checked.ok) return fail(checked.code);
    return await run(
      checked.url,
      prepared,
      init.lookup ?? defaultResolver,
      loopbackOverride ? "also" : "never",
      fail,
      elapsed,
      stream,
    );
  } catch {
    return fail("UPSTREAM_ERROR");
  }
}

function run(
  target: URL,
  p: Prepared,
  resolver: Resolver,
  loopback: "never" | "also" | "only",
  fail: (code: SafeFetchCode) => SafeFetchResult,
  elapsed: () => number,
  stream = false,
): Promise<AnyResult> {
  return new Promise<AnyResult>((resolve) => {
    let settled = false;
    let req: http.ClientRequest | null = null;
    // streaming: once the headers resolved the promise, the body's end (or failure) goes here
    let body: ReadableStreamDefaultController<Uint8Array> | null = null;
    let bodyDone = false;
    const endBody = (code?: SafeFetchCode) => {
      if (bodyDone) return;
      bodyDone = true;
      clearTimeout(timer);
      if (code || !p.keepAlive) req?.destroy();
      if (code) body!.error(new SafeFetchStreamError(code));
      else body!.close();
    };
    const finish = (result: SafeFetchResult) => {
      if (body) return result.ok ? endBody() : endBody(result.code);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Closes the socket: stops reading, frees the connection. Only a fully read, successful
      // response leaves a pooled socket to its agent for reuse.
      if (req && !(result.ok && p.keepAlive)) req.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(fail("TIMEOUT")), p.timeoutMs);
    const host = target.hostname;

    const vet = async (): Promise<ResolvedAddress | SafeFetchCode> => {
      let answers: ResolvedAddress[];
      try {
        answers = await resolver(host);
      } catch {
        return "UPSTREAM_ERROR";
      }
      if (!Array.isArray(answers) || answers.length === 0 || answers.length > MAX_RESOLVED_ADDRESSES) {
        return "UPSTREAM_ERROR";
      }
      for (const a of answers) {
        const address = typeof a?.address === "string" ? a.address : "";
        const allowed =
          loopback === "only"
            ? isLoopbackAddress(address)
            : isPublicAddress(address) || (loopback === "also" && isLoopbackAddress(address));
        if (!allowed) return "PRIVATE_ADDRESS_BLOCKED";
      }
      const first = answers[0].address;
      return { address: first, family: net.isIP(first) };
    };

    const connect = (pinned: ResolvedAddress, fresh = false) => {
      const isHttps = target.protocol === "https:";
      const pooled =
        p.keepAlive && !fresh ? pooledAgent(poolKey(p.keepAlive.partition, target, pinned), isHttps) : false;
      let responded = false;
      const pinnedLookup: net.LookupFunction = (hostname, options, callback) => {
        if (hostname !== host) {
          callback(Object.assign(new Error("unexpected host"), { code: "ENOTFOUND" }), "", 0);
          return;
        }
        if ((options as { all?: boolean }).all) {
          (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
        } else {
          callback(null, pinned.address, pinned.family);
        }
      };
      const options: https.RequestOptions = {
        protocol: target.protocol,
        hostname: host,
        port: target.port || (isHttps ? 443 : 80),
        path: `${target.pathname}${target.search}`,
        method: p.method,
        headers: p.headers,
        // a pooled socket only from this partition's pool for this vetted address; else a new one
        agent: pooled,
        lookup: pinnedLookup,
        family: pinned.family,
        maxHeaderSize: 16 * 1024,
        ...(isHttps ? { servername: host, rejectUnauthorized: true } : {}),
      };
      try {
        req = (isHttps ? https : http).request(options);
      } catch {
        return finish(fail("INPUT_INVALID"));
      }
      const thisReq = req;
      req.on("error", () => {
        if ((settled && !body) || thisReq !== req) return; // a streamed body still hears about it
        // A reused socket the server had already closed: once more on a new one, if repeatable.
        if (thisReq.reusedSocket && !responded && !fresh && p.keepAlive?.retryStale) {
          thisReq.destroy();
          return connect(pinned, true);
        }
        finish(fail("UPSTREAM_ERROR"));
      });
      req.on("upgrade", () => finish(fail("UPSTREAM_ERROR")));
      req.on("socket", (socket) => {
        const check = () => {
          if (!sameAddress(socket.remoteAddress, pinned.address)) finish(fail("PRIVATE_ADDRESS_BLOCKED"));
        };
        // A reused socket connected long ago: check its peer now.
        if (socket.connecting) socket.once("connect", check);
        else check();
      });
      req.on("response", (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) return finish(fail("REDIRECT_BLOCKED"));
        const declared = res.headers["content-length"];
        if (declared !== undefined && !(Number(declared) <= p.maxBytes)) {
          return finish(fail("OUTPUT_TOO_LARGE"));
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        if (stream) {
          const out = new ReadableStream<Uint8Array>(
            {
              start: (c) => {
                body = c;
              },
              pull: () => {
                res.resume();
              },
              cancel: () => {
                // the reader gave up: close the socket, nothing more is read
                bodyDone = true;
                clearTimeout(timer);
                req?.destroy();
              },
            },
            { highWaterMark: 64 * 1024, size: (c) => c.byteLength },
          );
          // resolved now; the timer keeps running until the body ends
          settled = true;
          resolve({ ok: true, status, headers: collectHeaders(res.headers), body: out, durationMs: elapsed() });
        }
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > p.maxBytes) return finish(fail("OUTPUT_TOO_LARGE"));
          if (!body) return void chunks.push(chunk);
          if (bodyDone) return;
          body.enqueue(new Uint8Array(chunk));
          if ((body.desiredSize ?? 1) <= 0) res.pause(); // backpressure: pull() resumes
        });
        res.on("error", () => finish(fail("UPSTREAM_ERROR")));
        res.on("aborted", () => finish(fail("UPSTREAM_ERROR")));
        res.on("close", () => {
          if (body && !res.complete) finish(fail("UPSTREAM_ERROR"));
        });
        res.on("end", () => {
          if (!res.complete) return finish(fail("UPSTREAM_ERROR"));
          if (body) return endBody();
          finish({
            ok: true,
            status,
            headers: collectHeaders(res.headers),
            body: new TextDecoder("utf-8").decode(Buffer.concat(chunks)),
            bytes,
            durationMs: elapsed(),
          });
        });
      });
      req.end(p.body ?? undefined);
    };

    vet().then(
      (vetted) => {
        if (settled) return;
        if (typeof vetted === "string") return finish(fail(vetted));
        connect(vetted);
      },
      () => finish(fail("UPSTREAM_ERROR")),
    );
  });
}
