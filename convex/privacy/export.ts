/**
 * Access requests: an owner exports one person's data (a channel user or a web-chat session) as
 * JSON. Bounded: the profile is one small document; threads and each thread's messages are paged
 * (clampPage), and SyncBoard assembles the pages into one file. The reply address (phone/e-mail)
 * is not exported, only whether one is stored.
 */
import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { ownerQuery } from "../access/builders";
import { getOwned } from "../access/principal";
import { clampPage } from "../lib/pagination";
import { senderTrustValidator } from "../agency/tables";
import { platformValidator } from "../channels/tables";
import { voiceStatusValidator } from "../voice/tables";
import { subjectRow } from "./cascade";

const MAX_VOICE = 100;

export const subjectValidator = v.union(
  v.object({ kind: v.literal("channelUser"), id: v.id("channelUsers") }),
  v.object({ kind: v.literal("chatSession"), id: v.id("chatSessions") }),
);

/** What `person` exports: the channel user's profile (no reply address), or the web session with its voice sessions. */
export const personExportValidator = v.union(
  v.object({
    kind: v.literal("channelUser"),
    id: v.id("channelUsers"),
    channelId: v.id("channelConfig"),
    platform: platformValidator,
    platformUserId: v.string(),
    displayName: v.union(v.string(), v.null()),
    /** whether a phone number or e-mail address is stored; the address itself is not exported */
    hasContact: v.boolean(),
    blocked: v.boolean(),
    trust: senderTrustValidator,
    firstSeenAt: v.number(),
    lastSeenAt: v.number(),
  }),
  v.object({
    kind: v.literal("chatSession"),
    id: v.id("chatSessions"),
    createdAt: v.number(),
    lastSeenAt: v.number(),
    expiresAt: v.number(),
    revoked: v.boolean(),
    blocked: v.boolean(),
    voiceSessions: v.array(
      v.object({
        id: v.id("voiceSessions"),
        startedAt: v.number(),
        endedAt: v.union(v.number(), v.null()),
        usedSeconds: v.union(v.number(), v.null()),
        status: voiceStatusValidator,
      }),
    ),
  }),
);

/** The person's own record and their voice sessions (newest MAX_VOICE). */
export const person = ownerQuery({
  args: { subject: subjectValidator },
  returns: personExportValidator,
  handler: async (ctx, { subject }) => {
    if (subject.kind === "channelUser") {
      const u = await getOwned(await ctx.db.get("channelUsers", subject.id), ctx.principal);
      return {
        kind: "channelUser" as const,
        id: u._id,
        channelId: u.channelId,
        platform: u.platform,
        platformUserId: u.platformUserId,
        displayName: u.displayName ?? null,
        hasContact: u.contact !== undefined,
        blocked: u.blocked,
        trust: u.trust ?? "unknown",
        firstSeenAt: u.firstSeenAt,
        lastSeenAt: u.lastSeenAt,
      };
    }
    const s = await getOwned(await ctx.db.get("chatSessions", subject.id), ctx.principal);
    const voice = await ctx.db
      .query("voiceSessions")
      .withIndex("by_session_started", (q) => q.eq("chatSessionId", s._id))
      .order("desc")
      .take(MAX_VOICE);
    return {
      kind: "chatSession" as const,
      id: s._id,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      expiresAt: s.expiresAt,
      revoked: s.revokedAt !== undefined,
      blocked: s.blocked === true,
      voiceSessions: voice.map((x) => ({
        id: x._id,
        startedAt: x.startedAt,
        endedAt: x.endedAt ?? null,
        usedSeconds: x.usedSeconds ?? null,
        status: x.status,
      })),
    };
  },
});

/** The person's threads, oldest first. */
export const threads = ownerQuery({
  args: { subject: subjectValidator, paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(
    v.object({
      _id: v.id("threads"),
      title: v.optional(v.string()),
      messageCount: v.number(),
      createdAt: v.number(),
      updatedAt: v.number(),
    }),
  ),
  handler: async (ctx, { subject, paginationOpts }) => {
    await getOwned(await subjectRow(ctx, subject), ctx.principal);
    const q =
      subject.kind === "channelUser"
        ? ctx.db.query("threads").withIndex("by_channelUser", (q) => q.eq("channelUserId", subject.id))
        : ctx.db.query("threads").withIndex("by_session", (q) => q.eq("sessionId", subject.id));
    const res = await q.paginate(clampPage(paginationOpts));
    return {
      ...res,
      page: res.page.map((t) => ({
        _id: t._id,
        title: t.title,
        messageCount: t.messageCount ?? 0,
        createdAt: t.createdAt,
        updatedAt: t.updatedAt,
      })),
    };
  },
});

/** One thread's messages, oldest first (tool and system rows included). */
export const messages = ownerQuery({
  args: { threadId: v.id("threads"), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(
    v.object({ _id: v.id("messages"), role: v.string(), text: v.string(), status: v.string(), createdAt: v.number() }),
  ),
  handler: async (ctx, { threadId, paginationOpts }) => {
    const thread = await getOwned(await ctx.db.get("threads", threadId), ctx.principal);
    const res = await ctx.db
      .query("messages")
      .withIndex("by_thread", (q) => q.eq("threadId", thread._id))
      .paginate(clampPage(paginationOpts));
    return {
      ...res,
      page: res.page.map((m) => ({ _id: m._id, role: m.role, text: m.text, status: m.status, createdAt: m.createdAt })),
    };
  },
});
