import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { viewerQuery, adminMutation } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { sourceBlock } from "./sessions";
import { clampPage } from "../lib/pagination";
import {
  getOrCreateConfig,
  readConfig,
  maxMessageChars,
  DEFAULT_MAX_MESSAGE_CHARS,
  MAX_MESSAGE_CHARS_CEILING,
} from "../agent/configLib";

/** Owner dashboards: threads of the caller's workspace (web and channels) with message counts. */
export const listThreads = viewerQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(
    v.object({
      _id: v.id("threads"),
      sessionId: v.optional(v.id("chatSessions")),
      channelUserId: v.optional(v.id("channelUsers")),
      title: v.optional(v.string()),
      messageCount: v.number(),
      createdAt: v.number(),
      updatedAt: v.number(),
      /** web chat only: the session is blocked; its source is blocked for new sessions until then */
      blocked: v.optional(v.boolean()),
      sourceBlockedUntil: v.optional(v.number()),
    }),
  ),
  handler: async (ctx, { paginationOpts }) => {
    const res = await ctx.db
      .query("threads")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .order("desc")
      .paginate(clampPage(paginationOpts));
    // One session (+ its source block) per web thread on the page: bounded by the page size.
    const page = await Promise.all(
      res.page.map(async (t) => {
        const s = t.sessionId ? await ctx.db.get("chatSessions", t.sessionId) : null;
        const b = s?.sourceKey ? await sourceBlock(ctx, s.workspaceId, s.sourceKey) : null;
        return {
          _id: t._id,
          sessionId: t.sessionId,
          channelUserId: t.channelUserId,
          title: t.title,
          messageCount: t.messageCount ?? 0,
          createdAt: t.createdAt,
          updatedAt: t.updatedAt,
          ...(s ? { blocked: s.blocked === true } : {}),
          ...(b ? { sourceBlockedUntil: b.until } : {}),
        };
      }),
    );
    return { ...res, page };
  },
});

/** Owner dashboards: messages of one thread of the caller's workspace (other workspace → FORBIDDEN). */
export const listMessages = viewerQuery({
  args: { threadId: v.id("threads"), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(
    v.object({
      _id: v.id("messages"),
      role: v.string(),
      text: v.string(),
      status: v.string(),
      errorCode: v.optional(v.string()),
      createdAt: v.number(),
    }),
  ),
  handler: async (ctx, { threadId, paginationOpts }) => {
    const thread = await getOwned(await ctx.db.get("threads", threadId), ctx.principal);
    const res = await ctx.db
      .query("messages")
      .withIndex("by_thread", (q) => q.eq("threadId", thread._id))
      .order("desc")
      .paginate(clampPage(paginationOpts));
    return {
      ...res,
      page: res.page.map((m) => ({
        _id: m._id,
        role: m.role,
        text: m.text,
        status: m.status,
        errorCode: m.errorCode,
        createdAt: m.createdAt,
      })),
    };
  },
});

/** Chat settings shown in SyncBoard. */
export const settings = viewerQuery({
  args: {},
  returns: v.object({ maxMessageChars: v.number(), defaultMaxMessageChars: v.number(), ceiling: v.number() }),
  handler: async (ctx) => ({
    maxMessageChars: maxMessageChars(await readConfig(ctx, ctx.principal.workspaceId)),
    defaultMaxMessageChars: DEFAULT_MAX_MESSAGE_CHARS,
    ceiling: MAX_MESSAGE_CHARS_CEILING,
  }),
});

/** Admins set the message length cap (1 … 32,000 characters); audited. */
export const setMaxMessageChars = adminMutation({
  args: { maxMessageChars: v.number() },
  returns: v.null(),
  handler: async (ctx, { maxMessageChars: max }) => {
    if (!Number.isInteger(max) || max < 1 || max > MAX_MESSAGE_CHARS_CEILING)
      fail("CONFIG_INVALID", { field: "maxMessageChars" });
    const cfg = await getOrCreateConfig(ctx, ctx.principal.workspaceId);
    await ctx.db.patch("agentConfig", cfg._id, { maxMessageChars: max, updatedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "chat.settings.maxMessageChars",
      before: { maxMessageChars: maxMessageChars(cfg) },
      after: { maxMessageChars: max },
    });
    return null;
  },
});
