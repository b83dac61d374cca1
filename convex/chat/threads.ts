import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import type { QueryCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import { sessionQuery, sessionMutation } from "../access/builders";
import { fail } from "../access/principal";
import { admitAllUsers, enforceLimit } from "../limits/enforce";
import { charCount, sanitizeLine, sanitizeText } from "../lib/sanitize";
import { MINUTE } from "../lib/time";
import { clampPage } from "../lib/pagination";
import { readConfig, maxMessageChars } from "../agent/configLib";
import { appendTurn } from "./turns";

const MAX_TITLE = 100;

/** A thread of the calling session; anything else (other session, bad id, missing) → FORBIDDEN, nothing leaked. */
async function ownThread(ctx: QueryCtx & { session: Doc<"chatSessions"> }, threadId: string): Promise<Doc<"threads">> {
  const id = ctx.db.normalizeId("threads", threadId);
  const thread = id ? await ctx.db.get("threads", id) : null;
  if (!thread || thread.sessionId !== ctx.session._id) fail("FORBIDDEN");
  return thread;
}

const threadView = v.object({
  _id: v.id("threads"),
  title: v.optional(v.string()),
  messageCount: v.number(),
  createdAt: v.number(),
  updatedAt: v.number(),
});
const toThreadView = (t: Doc<"threads">) => ({
  _id: t._id,
  title: t.title,
  messageCount: t.messageCount ?? 0,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
});

const limited = v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() });

export const createThread = sessionMutation({
  args: { title: v.optional(v.string()) },
  returns: v.union(v.object({ ok: v.literal(true), threadId: v.id("threads") }), limited),
  handler: async (ctx, { title }) => {
    const s = ctx.session;
    const lim = await enforceLimit(ctx, {
      workspaceId: s.workspaceId,
      name: "chatThreadsPerSession",
      key: s._id,
      category: "chat",
      source: "chat/thread",
    });
    if (!lim.ok) return { ok: false as const, code: lim.code, retryAfterMs: lim.retryAfterMs };
    const clean = title === undefined ? undefined : sanitizeLine(title, MAX_TITLE) || undefined;
    const now = Date.now();
    const threadId = await ctx.db.insert("threads", {
      workspaceId: s.workspaceId,
      sessionId: s._id,
      title: clean,
      messageCount: 0,
      createdAt: now,
      updatedAt: now,
    });
    return { ok: true as const, threadId };
  },
});

/** The caller's own threads, newest first. */
export const listThreads = sessionQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(threadView),
  handler: async (ctx, { paginationOpts }) => {
    const res = await ctx.db
      .query("threads")
      .withIndex("by_session", (q) => q.eq("sessionId", ctx.session._id))
      .order("desc")
      .paginate(clampPage(paginationOpts));
    return { ...res, page: res.page.map(toThreadView) };
  },
});

export const getThread = sessionQuery({
  args: { threadId: v.string() },
  returns: threadView,
  handler: async (ctx, { threadId }) => toThreadView(await ownThread(ctx, threadId)),
});

const messageView = v.object({
  _id: v.id("messages"),
  role: v.union(v.literal("user"), v.literal("assistant")),
  text: v.string(),
  status: v.union(v.literal("pending"), v.literal("streaming"), v.literal("done"), v.literal("error")),
  errorCode: v.optional(v.string()),
  createdAt: v.number(),
});

/** Messages of one of the caller's threads, newest first (subscribe to see replies arrive). */
export const listMessages = sessionQuery({
  args: { threadId: v.string(), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(messageView),
  handler: async (ctx, { threadId, paginationOpts }) => {
    const thread = await ownThread(ctx, threadId);
    const res = await ctx.db
      .query("messages")
      .withIndex("by_thread", (q) => q.eq("threadId", thread._id))
      .order("desc")
      .paginate(clampPage(paginationOpts));
    return {
      ...res,
      page: res.page
        .filter((m) => m.role === "user" || m.role === "assistant")
        .map((m) => ({
          _id: m._id,
          role: m.role as "user" | "assistant",
          text: m.text,
          status: m.status,
          errorCode: m.errorCode,
          createdAt: m.createdAt,
        })),
    };
  },
});

/**
 * Send a message: length check (MESSAGE_TOO_LONG), per-session, all-sessions and all-users limits (returned as
 * { ok:false, code:"RATE_LIMITED", retryAfterMs } so the denial's log is kept), then the user
 * message + a pending assistant message; the agent is scheduled to fill it.
 */
export const send = sessionMutation({
  args: { threadId: v.string(), text: v.string() },
  returns: v.union(
    v.object({
      ok: v.literal(true),
      threadId: v.id("threads"),
      userMessageId: v.id("messages"),
      assistantMessageId: v.id("messages"),
    }),
    limited,
  ),
  handler: async (ctx, { threadId, text }) => {
    const s = ctx.session;
    const thread = await ownThread(ctx, threadId);
    const cfg = await readConfig(ctx, s.workspaceId);
    const max = maxMessageChars(cfg);
    if (charCount(text) > max) fail("MESSAGE_TOO_LONG", { maxChars: max });
    const clean = sanitizeText(text, { maxChars: max });
    if (clean.length === 0) fail("ARGS_INVALID");

    const perSession = await enforceLimit(ctx, {
      workspaceId: s.workspaceId,
      name: "chatPerSession",
      key: s._id,
      category: "chat",
      source: "chat/send",
    });
    if (!perSession.ok) return { ok: false as const, code: perSession.code, retryAfterMs: perSession.retryAfterMs };
    const global = await enforceLimit(ctx, {
      workspaceId: s.workspaceId,
      name: "chatGlobal",
      key: "all",
      category: "chat",
      source: "chat/send",
    });
    if (!global.ok) return { ok: false as const, code: global.code, retryAfterMs: global.retryAfterMs };
    const all = await admitAllUsers(ctx, { workspaceId: s.workspaceId, category: "chat", source: "chat/send" });
    if (!all.ok) return { ok: false as const, code: all.code, retryAfterMs: all.retryAfterMs };

    if (s.lastSeenAt < Date.now() - MINUTE) await ctx.db.patch("chatSessions", s._id, { lastSeenAt: Date.now() });
    const ids = await appendTurn(ctx, thread, clean, { schedule: true });
    return { ok: true as const, threadId: thread._id, ...ids };
  },
});
