import { defineTable } from "convex/server";
import { v } from "convex/values";

export const voiceStatusValidator = v.union(v.literal("active"), v.literal("ended"), v.literal("denied"));

export const voiceTables = {
  /** One row per voice conversation: the time granted and used (the voice budgets' accounting). */
  voiceSessions: defineTable({
    workspaceId: v.id("workspaces"),
    chatSessionId: v.id("chatSessions"),
    startedAt: v.number(),
    endedAt: v.optional(v.number()),
    /** seconds granted for this session (what the limit accounts for) */
    grantedSeconds: v.number(),
    /** seconds actually used (set on end; unused granted time is returned) */
    usedSeconds: v.optional(v.number()),
    /** short-lived signed conversation URL, readable only by its own chat session */
    signedUrl: v.optional(v.string()),
    errorCode: v.optional(v.string()),
    status: voiceStatusValidator,
    /** the chat session's source (hashed client IP key); the per-source voice budget */
    sourceKey: v.optional(v.string()),
    /** ElevenLabs conversation id (server side only); used to read the real duration */
    conversationId: v.optional(v.string()),
    /** when the signed URL was handed out: from then on the whole grant counts until ElevenLabs reports less */
    urlIssuedAt: v.optional(v.number()),
  })
    .index("by_session_started", ["chatSessionId", "startedAt"])
    .index("by_workspace", ["workspaceId", "startedAt"])
    .index("by_workspace_source_started", ["workspaceId", "sourceKey", "startedAt"]),
};
