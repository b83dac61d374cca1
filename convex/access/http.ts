import { ConvexError } from "convex/values";
import { httpAction, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import { tagAccess, type AccessClass } from "./classes";
import { httpStatusFor, isCode, type Code } from "../lib/codes";
import { DEFAULT_MAX_BODY_BYTES, corsHeaders, errorResponse, readBodyCapped, withHeaders } from "../lib/httpSecurity";
import { clientIpFrom } from "../lib/clientIp";

export type HttpInput = { req: Request; body: string; ip: string; url: URL };
export type HttpHandler = (ctx: ActionCtx, input: HttpInput) => Promise<Response>;

/**
 * Every HTTP route is built here: declared access class, body cap (413), security headers,
 * CORS for configured origins only, and `{ error: CODE }` bodies with no stack or message.
 */
export function endpoint(
  access: AccessClass,
  handler: HttpHandler,
  opts: {
    maxBodyBytes?: number;
    cors?: boolean;
    /** Only for a page meant to be framed: its own CSP (computed per request) on 2xx answers, no X-Frame-Options. */
    frameable?: { csp: () => string };
  } = {},
) {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const fn = httpAction(async (ctx, req) => {
    const cors = opts.cors === false ? {} : corsHeaders(req.headers.get("origin"), process.env);
    const ip = await requestIp(ctx, req);
    const path = new URL(req.url).pathname.slice(0, 100);
    try {
      const body = req.method === "GET" || req.method === "HEAD" ? "" : await readBodyCapped(req, max);
      if (body === null) {
        await ctx.runMutation(internal.security.edge.recordRequestDenial, {
          code: "PAYLOAD_TOO_LARGE",
          category: "http",
          ip,
          detail: `${req.method} ${path}`,
        });
        return withHeaders(errorResponse("PAYLOAD_TOO_LARGE", 413), cors);
      }
      const res = await handler(ctx, { req, body, ip, url: new URL(req.url) });
      // Error answers stay unframeable.
      return withHeaders(res, cors, res.ok ? opts.frameable?.csp() : undefined);
    } catch (err) {
      const code = errorCode(err);
      if (isMemberDenial(code))
        await ctx.runMutation(internal.security.edge.recordMemberDenial, {
          code,
          category: "http",
          detail: `${req.method} ${path}`,
          ip,
        });
      return withHeaders(errorToResponse(err), cors);
    }
  });
  return tagAccess(fn, access);
}

/**
 * The caller's IP: the address the platform saw (request metadata, never a header), then
 * X-Forwarded-For only through the proxies the operator trusts (WARDEN_TRUSTED_PROXIES).
 */
export async function requestIp(ctx: ActionCtx, req: Request): Promise<string> {
  const meta = await ctx.meta.getRequestMetadata();
  return clientIpFrom(meta.ip, req.headers.get("x-forwarded-for"), process.env);
}

/** Refusals of a signed-in caller that are recorded as security events where no rollback prevents it. */
const MEMBER_DENIAL_CODES: ReadonlySet<Code> = new Set<Code>([
  "FORBIDDEN",
  "OWNER_INACTIVE",
  "MEMBERSHIP_INACTIVE",
  "SESSION_ENDED",
]);
/** A code that means "a signed-in member was refused" (recorded as an edge event). */
export function isMemberDenial(code: string | undefined): code is Code {
  return isCode(code) && MEMBER_DENIAL_CODES.has(code);
}

/** The catalogue code a ConvexError carries (also when it crossed a runQuery/runMutation boundary). */
export function errorCode(err: unknown): string | undefined {
  if (!(err instanceof ConvexError)) return undefined;
  const data = typeof err.data === "string" ? safeJson(err.data) : err.data;
  const code = (data as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export function errorToResponse(err: unknown): Response {
  if (err instanceof ConvexError && err.data && typeof err.data === "object") {
    const data = err.data as { code?: unknown; retryAfterMs?: unknown };
    if (isCode(data.code)) {
      const headers: Record<string, string> = {};
      if (data.code === "RATE_LIMITED" && typeof data.retryAfterMs === "number") {
        headers["Retry-After"] = String(Math.max(1, Math.ceil(data.retryAfterMs / 1000)));
      }
      return errorResponse(data.code, httpStatusFor(data.code), headers);
    }
  }
  // Unknown failure: log the kind only; never the message (may hold PII) or stack to the caller.
  console.error("http route failed:", err instanceof Error ? err.name : typeof err);
  return errorResponse("INTERNAL", 500);
}

/** Preflight answer for a path; CORS headers only for configured origins. */
export const preflight = tagAccess(
  httpAction(async (_ctx, req) => {
    const cors = corsHeaders(req.headers.get("origin"), process.env);
    return withHeaders(new Response(null, { status: Object.keys(cors).length ? 204 : 403 }), cors);
  }),
  "none",
);
