import { z } from "zod";
import { api, internal } from "../_generated/api";
import { endpoint } from "../access/http";
import { errorResponse, jsonResponse } from "../lib/httpSecurity";
import type { RouteSpec } from "../routes";

const SendBody = z.object({ threadId: z.string().max(64).optional(), text: z.string() });

function bearer(req: Request): string | null {
  const h = req.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(\S{16,200})$/.exec(h);
  return m ? m[1] : null;
}

function limitedResponse(r: { code: string; retryAfterMs: number }): Response {
  const status = r.code === "RATE_LIMITED" ? 429 : r.code === "SOURCE_BLOCKED" ? 403 : 503;
  return errorResponse(r.code, status, { "Retry-After": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) });
}

/** POST /chat/session — public: mints an anonymous session token (per-IP limit → 429 + Retry-After). */
export const startSession = endpoint(
  "none",
  async (ctx, { ip }) => {
    const r = await ctx.runMutation(internal.chat.sessions.startFromHttp, { ip });
    if (!r.ok) return limitedResponse(r);
    return jsonResponse({ token: r.token, expiresAt: r.expiresAt }, 201);
  },
  { maxBodyBytes: 1024 },
);

/** POST /chat/send — Authorization: Bearer <session token>; body { threadId?, text }. */
export const send = endpoint(
  "session",
  async (ctx, { req, body }) => {
    const sessionToken = bearer(req);
    if (!sessionToken) return errorResponse("SESSION_INVALID", 401);
    let parsed;
    try {
      parsed = SendBody.parse(JSON.parse(body));
    } catch {
      return errorResponse("BAD_REQUEST", 400);
    }
    let threadId = parsed.threadId;
    if (!threadId) {
      const t = await ctx.runMutation(api.chat.threads.createThread, { sessionToken });
      if (!t.ok) return limitedResponse(t);
      threadId = t.threadId;
    }
    const r = await ctx.runMutation(api.chat.threads.send, { sessionToken, threadId, text: parsed.text });
    if (!r.ok) return limitedResponse(r);
    return jsonResponse({ threadId: r.threadId, messageId: r.userMessageId, replyId: r.assistantMessageId }, 202);
  },
  { maxBodyBytes: 64 * 1024 },
);

/** GET /chat/messages?threadId=… — the newest 50 messages of one of the caller's threads. */
export const messages = endpoint("session", async (ctx, { req, url }) => {
  const sessionToken = bearer(req);
  if (!sessionToken) return errorResponse("SESSION_INVALID", 401);
  const threadId = url.searchParams.get("threadId") ?? "";
  const res = await ctx.runQuery(api.chat.threads.listMessages, {
    sessionToken,
    threadId,
    paginationOpts: { numItems: 50, cursor: null },
  });
  return jsonResponse({ messages: res.page.slice().reverse() });
});

export const chatRoutes: RouteSpec[] = [
  { path: "/chat/session", method: "POST", handler: startSession },
  { path: "/chat/send", method: "POST", handler: send },
  { path: "/chat/messages", method: "GET", handler: messages },
];
