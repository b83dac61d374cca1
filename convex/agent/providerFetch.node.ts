"use node";
/**
 * NODE ONLY. Import this module only from "use node" action files. It defines no Convex functions.
 *
 * The `fetch` handed to the AI SDK providers: every model request goes through safeFetch, like
 * skills and MCP — only the provider's own host (whose key binding was checked), addresses vetted
 * at connect time, no redirects, one deadline, a byte cap. A refusal throws ProviderEgressError,
 * which model.ts reports as `egress_blocked` with the code (never the URL or the key).
 *
 * The body is streamed (safeFetchStream), so a reply can be shown while it is generated: the
 * deadline and the byte cap keep counting until the last byte, and a body cut off by either one
 * errors with ProviderEgressError (TIMEOUT / OUTPUT_TOO_LARGE) as the SDK reads it.
 */
import { safeFetchStream, SafeFetchStreamError, type Resolver } from "../lib/safeFetch.node.js";

export const PROVIDER_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const MAX_REQUEST_MS = 120_000;

export class ProviderEgressError extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = "ProviderEgressError";
  }
}

function flattenHeaders(h: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) new Headers(h).forEach((value, key) => (out[key.toLowerCase()] = value));
  return out;
}

/** The same bytes; a body cut off by the guard errors with ProviderEgressError(code). */
function egressErrors(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch (err) {
        c.error(new ProviderEgressError(err instanceof SafeFetchStreamError ? err.code : "UPSTREAM_ERROR"));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A fetch that reaches only `host` (from the key binding) until `deadline` (ms since epoch). */
export function providerFetch(opts: { host: string; port: string; deadline: number; lookup?: Resolver }): typeof fetch {
  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (input instanceof Request && init.body === undefined && input.body !== null)
      throw new ProviderEgressError("INPUT_INVALID");
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new ProviderEgressError("URL_INVALID");
    }
    if (target.hostname.toLowerCase() !== opts.host || target.port !== opts.port)
      throw new ProviderEgressError("DOMAIN_NOT_ALLOWED");
    if (init.body !== undefined && init.body !== null && typeof init.body !== "string")
      throw new ProviderEgressError("INPUT_INVALID");
    const remaining = opts.deadline - Date.now();
    if (remaining <= 0) throw new ProviderEgressError("TIMEOUT");
    const method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const r = await safeFetchStream(target.href, {
      method,
      headers: { ...(input instanceof Request ? flattenHeaders(input.headers) : {}), ...flattenHeaders(init.headers) },
      ...(typeof init.body === "string" ? { body: init.body } : {}),
      allowlist: [opts.host],
      allowedPorts: opts.port ? [opts.port] : [],
      devAllowLoopbackHost: true,
      timeoutMs: Math.min(remaining, MAX_REQUEST_MS),
      maxBytes: PROVIDER_MAX_RESPONSE_BYTES,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    });
    if (!r.ok) throw new ProviderEgressError(r.code);
    const headers = new Headers();
    for (const name of ["content-type", "retry-after"]) {
      const value = r.headers[name];
      if (value) headers.set(name, value);
    }
    const noBody = r.status === 204 || r.status === 205 || r.status === 304;
    if (noBody) {
      await r.body.cancel();
      return new Response(null, { status: r.status, headers });
    }
    return new Response(egressErrors(r.body), { status: r.status, headers });
  };
  return guarded as typeof fetch;
}
