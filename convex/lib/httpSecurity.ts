/** Security headers, CORS and JSON error bodies shared by every HTTP route (pure). */

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Frame-Options": "DENY",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-site",
};

/** Defaults a route may override. */
const DEFAULT_HEADERS: Record<string, string> = { "Cache-Control": "no-store" };

export function allowedOrigins(env: Record<string, string | undefined>): string[] {
  return (env.WARDEN_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}

export function corsHeaders(origin: string | null, env: Record<string, string | undefined>): Record<string, string> {
  if (!origin || !allowedOrigins(env).includes(origin)) return {};
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Mcp-Session-Id, Mcp-Protocol-Version",
    "Access-Control-Max-Age": "600",
    Vary: "Origin",
  };
}

/**
 * `frameCsp` is for the one page meant to be framed (the MCP App sandbox): it replaces only the CSP
 * and drops X-Frame-Options; every other security header stays.
 */
export function withHeaders(res: Response, extra: Record<string, string>, frameCsp?: string): Response {
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) headers.set(k, v);
  if (frameCsp !== undefined) {
    headers.set("Content-Security-Policy", frameCsp);
    headers.delete("X-Frame-Options");
  }
  for (const [k, v] of Object.entries(DEFAULT_HEADERS)) if (!headers.has(k)) headers.set(k, v);
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

export function errorResponse(code: string, status: number, headers: Record<string, string> = {}): Response {
  return jsonResponse({ error: code }, status, headers);
}

/** Reads a request or response body, counting bytes as they stream; null when it passes `max`. */
export async function readBodyCapped(req: Request | Response, max: number): Promise<string | null> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) return null;
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
