import { v } from "convex/values";
import { internalAction, internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { sessionMutation, sessionQuery } from "../access/builders";
import { fail } from "../access/principal";
import { effectiveLimit, enforceLimit } from "../limits/enforce";
import { recordRateLimitHit } from "../security/events";
import { charCount, sanitizeText } from "../lib/sanitize";
import { logWarn } from "../lib/log";
import { logActivity } from "../agent/activity";
import { readConfig, maxMessageChars } from "../agent/configLib";
import { appendTurn } from "../chat/turns";
import { elevenLabsBase, fetchSignedUrl } from "./elevenlabs";

/** Longest single grant; a session gets min(remaining in the window, this). */
export const MAX_VOICE_SESSION_SECONDS = 300;
/** Below this many remaining seconds a new voice session is refused. */
export const MIN_VOICE_GRANT_SECONDS = 10;
/** Transcripts are accepted this long after the granted time ends (network delay). */
const TRANSCRIPT_GRACE_MS = 30_000;
const WINDOW_TAKE = 200;

function agentIdFor(cfg: { voiceAgentId?: string }): string | undefined {
  return cfg.voiceAgentId ?? (process.env.ELEVENLABS_AGENT_ID || undefined);
}

/** Seconds a voice session counts for: what it used once ended, its whole grant while active. */
function countedSeconds(r: Doc<"voiceSessions">): number {
  if (r.status === "denied") return 0;
  return r.usedSeconds ?? r.grantedSeconds;
}

/**
 * Voice time used by a chat session in the sliding window (default 300 s per hour), separate
 * from the text limits. Returns the remaining seconds and, if too few remain, when enough free up.
 */
export async function voiceBudget(ctx: QueryCtx, session: Doc<"chatSessions">, now: number) {
  const { rate, periodMs } = await effectiveLimit(ctx, session.workspaceId, "voiceSecondsPerHour");
  const rows = await ctx.db
    .query("voiceSessions")
    .withIndex("by_session_started", (q) => q.eq("chatSessionId", session._id).gt("startedAt", now - periodMs))
    .take(WINDOW_TAKE);
  const used = rows.reduce((n, r) => n + countedSeconds(r), 0);
  const remaining = Math.max(0, rate - used);
  let retryAfterMs = periodMs;
  if (remaining < MIN_VOICE_GRANT_SECONDS) {
    let freed = 0;
    for (const r of rows) {
      freed += countedSeconds(r);
      if (rate - (used - freed) >= MIN_VOICE_GRANT_SECONDS) {
        retryAfterMs = Math.max(1, r.startedAt + periodMs - now);
        break;
      }
    }
  }
  return { rate, remaining, retryAfterMs };
}

async function ownVoiceSession(ctx: QueryCtx & { session: Doc<"chatSessions"> }, id: string): Promise<Doc<"voiceSessions">> {
  const vid = ctx.db.normalizeId("voiceSessions", id);
  const row = vid ? await ctx.db.get(vid) : null;
  if (!row || row.chatSessionId !== ctx.session._id) fail("FORBIDDEN");
  return row;
}

/**
 * Starts a voice session: grants min(remaining, 300) seconds or answers RATE_LIMITED with
 * retryAfterMs (returned, so the logged denial is kept); then an internal action mints the
 * short-lived signed URL server-side. The browser never sees the key or any voice id.
 */
export const start = sessionMutation({
  args: {},
  returns: v.union(
    v.object({ ok: v.literal(true), voiceSessionId: v.id("voiceSessions"), grantedSeconds: v.number() }),
    v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() }),
  ),
  handler: async (ctx) => {
    const s = ctx.session;
    const cfg = await readConfig(ctx, s.workspaceId);
    if (!agentIdFor(cfg) || !process.env.ELEVENLABS_API_KEY) fail("VOICE_NOT_CONFIGURED");
    const now = Date.now();
    const budget = await voiceBudget(ctx, s, now);
    if (budget.remaining < MIN_VOICE_GRANT_SECONDS) {
      await recordRateLimitHit(ctx, { workspaceId: s.workspaceId, limitName: "voiceSecondsPerHour", category: "voice", source: "voice/start" });
      await logActivity(ctx, { workspaceId: s.workspaceId, kind: "voice.denied", channel: "voice", meta: { code: "RATE_LIMITED", retryAfterMs: budget.retryAfterMs } });
      return { ok: false as const, code: "RATE_LIMITED", retryAfterMs: budget.retryAfterMs };
    }
    const grantedSeconds = Math.min(budget.remaining, MAX_VOICE_SESSION_SECONDS);
    const voiceSessionId = await ctx.db.insert("voiceSessions", {
      workspaceId: s.workspaceId,
      chatSessionId: s._id,
      startedAt: now,
      grantedSeconds,
      status: "active",
    });
    await logActivity(ctx, { workspaceId: s.workspaceId, kind: "voice.session_started", channel: "voice", meta: { voiceSessionId, grantedSeconds } });
    await ctx.scheduler.runAfter(0, internal.voice.sessions.mint, { voiceSessionId });
    return { ok: true as const, voiceSessionId, grantedSeconds };
  },
});

export const mintInfo = internalQuery({
  args: { voiceSessionId: v.id("voiceSessions") },
  returns: v.union(v.null(), v.object({ agentId: v.union(v.string(), v.null()) })),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ctx.db.get(voiceSessionId);
    if (!row || row.status !== "active") return null;
    return { agentId: agentIdFor(await readConfig(ctx, row.workspaceId)) ?? null };
  },
});

/** Calls ElevenLabs with the server-side key; stores only the signed URL (or an error code). */
export const mint = internalAction({
  args: { voiceSessionId: v.id("voiceSessions") },
  returns: v.null(),
  handler: async (ctx, { voiceSessionId }) => {
    const info = await ctx.runQuery(internal.voice.sessions.mintInfo, { voiceSessionId });
    if (!info) return null;
    const base = elevenLabsBase(process.env);
    const apiKey = process.env.ELEVENLABS_API_KEY ?? "";
    const r =
      base && info.agentId && apiKey
        ? await fetchSignedUrl({ base, apiKey, agentId: info.agentId })
        : ({ ok: false, code: "VOICE_NOT_CONFIGURED" } as const);
    if (!r.ok) logWarn("voice.signed_url_failed", { code: r.code });
    await ctx.runMutation(internal.voice.sessions.attach, r.ok ? { voiceSessionId, signedUrl: r.signedUrl } : { voiceSessionId, errorCode: r.code });
    return null;
  },
});

export const attach = internalMutation({
  args: { voiceSessionId: v.id("voiceSessions"), signedUrl: v.optional(v.string()), errorCode: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, a) => {
    const row = await ctx.db.get(a.voiceSessionId);
    if (!row || row.status !== "active") return null;
    if (a.signedUrl) {
      await ctx.db.patch(row._id, { signedUrl: a.signedUrl });
    } else {
      // nothing was used: the whole grant goes back
      await ctx.db.patch(row._id, { status: "ended", endedAt: Date.now(), usedSeconds: 0, errorCode: a.errorCode ?? "UPSTREAM_ERROR" });
      await logActivity(ctx, { workspaceId: row.workspaceId, kind: "voice.error", channel: "voice", meta: { voiceSessionId: row._id, code: a.errorCode } });
    }
    return null;
  },
});

function remainingMs(row: Doc<"voiceSessions">, now: number): number {
  return Math.max(0, row.startedAt + row.grantedSeconds * 1000 - now);
}

/** The caller's voice session: status, time left and — while usable — the signed URL. */
export const get = sessionQuery({
  args: { voiceSessionId: v.string() },
  returns: v.object({
    status: v.union(v.literal("pending"), v.literal("ready"), v.literal("ended"), v.literal("error")),
    grantedSeconds: v.number(),
    remainingSeconds: v.number(),
    signedUrl: v.optional(v.string()),
    errorCode: v.optional(v.string()),
  }),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ownVoiceSession(ctx, voiceSessionId);
    const now = Date.now();
    const left = row.status === "active" ? remainingMs(row, now) : 0;
    const status: "pending" | "ready" | "ended" | "error" = row.errorCode ? "error" : row.status !== "active" || left === 0 ? "ended" : row.signedUrl ? "ready" : "pending";
    return {
      status,
      grantedSeconds: row.grantedSeconds,
      remainingSeconds: Math.ceil(left / 1000),
      signedUrl: status === "ready" ? row.signedUrl : undefined,
      errorCode: row.errorCode,
    };
  },
});

async function endRow(ctx: MutationCtx, row: Doc<"voiceSessions">, now: number) {
  const usedSeconds = Math.min(row.grantedSeconds, Math.max(0, Math.ceil((now - row.startedAt) / 1000)));
  await ctx.db.patch(row._id, { status: "ended", endedAt: now, usedSeconds, signedUrl: undefined });
  await logActivity(ctx, {
    workspaceId: row.workspaceId,
    kind: "voice.session_ended",
    channel: "voice",
    meta: { voiceSessionId: row._id, usedSeconds, grantedSeconds: row.grantedSeconds },
  });
  return usedSeconds;
}

/** Ends the voice session; unused granted seconds go back to the session's budget. */
export const end = sessionMutation({
  args: { voiceSessionId: v.string() },
  returns: v.object({ usedSeconds: v.number() }),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ownVoiceSession(ctx, voiceSessionId);
    if (row.status !== "active") return { usedSeconds: row.usedSeconds ?? row.grantedSeconds };
    return { usedSeconds: await endRow(ctx, row, Date.now()) };
  },
});

/**
 * A transcript from the voice conversation: accepted only while the voice session is active,
 * sanitized (NFC, control characters removed, whitespace collapsed, length capped) before it is
 * stored in the thread and the agent sees it. Not stored in activityLog.
 */
export const submitTranscript = sessionMutation({
  args: { voiceSessionId: v.string(), threadId: v.string(), text: v.string() },
  returns: v.union(
    v.object({ ok: v.literal(true), assistantMessageId: v.id("messages") }),
    v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() }),
  ),
  handler: async (ctx, a) => {
    const s = ctx.session;
    const row = await ownVoiceSession(ctx, a.voiceSessionId);
    const now = Date.now();
    if (row.status !== "active" || now > row.startedAt + row.grantedSeconds * 1000 + TRANSCRIPT_GRACE_MS) fail("VOICE_SESSION_INACTIVE");
    const tid = ctx.db.normalizeId("threads", a.threadId);
    const thread = tid ? await ctx.db.get(tid) : null;
    if (!thread || thread.sessionId !== s._id) fail("FORBIDDEN");
    const max = maxMessageChars(await readConfig(ctx, s.workspaceId));
    if (charCount(a.text) > 4 * max) fail("MESSAGE_TOO_LONG", { maxChars: max });
    const clean = sanitizeText(a.text, { maxChars: max, collapseWhitespace: true });
    if (!clean) fail("ARGS_INVALID");
    const lim = await enforceLimit(ctx, { workspaceId: s.workspaceId, name: "voiceTranscriptsPerSession", key: s._id, category: "voice", source: "voice/transcript" });
    if (!lim.ok) return { ok: false as const, code: lim.code, retryAfterMs: lim.retryAfterMs };
    const { assistantMessageId } = await appendTurn(ctx, thread as Doc<"threads">, clean, { schedule: true });
    return { ok: true as const, assistantMessageId };
  },
});

export type VoiceSessionId = Id<"voiceSessions">;
