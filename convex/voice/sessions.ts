import { v } from "convex/values";
import { internalAction, internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { sessionMutation, sessionQuery } from "../access/builders";
import { fail } from "../access/principal";
import { admitAllUsers, effectiveLimit, enforceLimit } from "../limits/enforce";
import { recordRateLimitHit } from "../security/events";
import { charCount, sanitizeText } from "../lib/sanitize";
import { logWarn } from "../lib/log";
import { logActivity } from "../agent/activity";
import { readConfig, maxMessageChars } from "../agent/configLib";
import { appendTurn } from "../chat/turns";
import { elevenLabsBase, fetchAgentMaxDuration, fetchConversationSeconds, fetchSignedUrl } from "./elevenlabs";
import type { LimitName } from "../lib/limitsCatalog";

/** Longest single grant; a session gets min(remaining in the window, this). */
export const MAX_VOICE_SESSION_SECONDS = 300;
/** Below this many remaining seconds a new voice session is refused. */
export const MIN_VOICE_GRANT_SECONDS = 10;
/** Transcripts are accepted this long after the granted time ends (network delay). */
const TRANSCRIPT_GRACE_MS = 30_000;
const WINDOW_TAKE = 200;
/** Rows read per source / workspace window; a window this full counts as spent (fails closed). */
const WIDE_WINDOW_TAKE = 500;
/** Rows of sessions minted without a recorded source share this key (one bucket). */
const NO_SOURCE = "none";
/** ElevenLabs is asked for the real duration this long after the grant ends (if still running then). */
const SETTLE_AFTER_GRANT_MS = 15_000;

function agentIdFor(cfg: { voiceAgentId?: string }): string | undefined {
  return cfg.voiceAgentId ?? (process.env.ELEVENLABS_AGENT_ID || undefined);
}

/** Seconds a voice session counts for: what it used once ended, its whole grant while active. */
function countedSeconds(r: Doc<"voiceSessions">): number {
  if (r.status === "denied") return 0;
  return r.usedSeconds ?? r.grantedSeconds;
}

/** Seconds left in a sliding window of voice rows, and when enough free up if too few are left. */
function windowBudget(rows: Doc<"voiceSessions">[], rate: number, periodMs: number, now: number, take: number) {
  const used = rows.length >= take ? rate : rows.reduce((n, r) => n + countedSeconds(r), 0);
  const remaining = Math.max(0, rate - used);
  let retryAfterMs = periodMs;
  if (remaining < MIN_VOICE_GRANT_SECONDS && rows.length < take) {
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

/** Falls back to the default's shape when an override is unusable, so a bad row cannot open voice up. */
async function windowOf(ctx: QueryCtx, workspaceId: Id<"workspaces">, name: LimitName) {
  const { rate, periodMs } = await effectiveLimit(ctx, workspaceId, name);
  if (!(Number.isSafeInteger(rate) && rate >= 1 && Number.isFinite(periodMs) && periodMs > 0))
    return { rate: 0, periodMs: 60_000 };
  return { rate, periodMs };
}

/**
 * Voice time left for a chat session: the least of three sliding windows, all counted from the
 * voiceSessions rows: this session (default 300 s/hour), its source — the hashed client IP that
 * minted it — (900 s/hour) and the whole workspace (3600 s/hour). Minting new sessions therefore
 * buys no voice time. Returns the binding limit when too little is left.
 */
export async function voiceBudget(ctx: QueryCtx, session: Doc<"chatSessions">, now: number) {
  const w = session.workspaceId;
  const sourceKey = session.sourceKey ?? NO_SOURCE;
  const per = await windowOf(ctx, w, "voiceSecondsPerHour");
  const src = await windowOf(ctx, w, "voiceSecondsPerSource");
  const all = await windowOf(ctx, w, "voiceSecondsPerWorkspace");
  const budgets: { name: LimitName; b: ReturnType<typeof windowBudget> }[] = [
    {
      name: "voiceSecondsPerHour",
      b: windowBudget(
        await ctx.db
          .query("voiceSessions")
          .withIndex("by_session_started", (q) =>
            q.eq("chatSessionId", session._id).gt("startedAt", now - per.periodMs),
          )
          .take(WINDOW_TAKE),
        per.rate,
        per.periodMs,
        now,
        WINDOW_TAKE,
      ),
    },
    {
      name: "voiceSecondsPerSource",
      b: windowBudget(
        await ctx.db
          .query("voiceSessions")
          .withIndex("by_workspace_source_started", (q) =>
            q
              .eq("workspaceId", w)
              .eq("sourceKey", sourceKey)
              .gt("startedAt", now - src.periodMs),
          )
          .take(WIDE_WINDOW_TAKE),
        src.rate,
        src.periodMs,
        now,
        WIDE_WINDOW_TAKE,
      ),
    },
    {
      name: "voiceSecondsPerWorkspace",
      b: windowBudget(
        await ctx.db
          .query("voiceSessions")
          .withIndex("by_workspace", (q) => q.eq("workspaceId", w).gt("startedAt", now - all.periodMs))
          .take(WIDE_WINDOW_TAKE),
        all.rate,
        all.periodMs,
        now,
        WIDE_WINDOW_TAKE,
      ),
    },
  ];
  const remaining = Math.min(...budgets.map((x) => x.b.remaining));
  const short = budgets.filter((x) => x.b.remaining < MIN_VOICE_GRANT_SECONDS);
  const binding = short.length ? short.reduce((a, b) => (b.b.retryAfterMs > a.b.retryAfterMs ? b : a)) : null;
  return { remaining, retryAfterMs: binding?.b.retryAfterMs ?? 0, limitName: binding?.name ?? null, sourceKey };
}

async function ownVoiceSession(
  ctx: QueryCtx & { session: Doc<"chatSessions"> },
  id: string,
): Promise<Doc<"voiceSessions">> {
  const vid = ctx.db.normalizeId("voiceSessions", id);
  const row = vid ? await ctx.db.get("voiceSessions", vid) : null;
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
      await recordRateLimitHit(ctx, {
        workspaceId: s.workspaceId,
        limitName: budget.limitName ?? "voiceSecondsPerHour",
        category: "voice",
        source: "voice/start",
      });
      await logActivity(ctx, {
        workspaceId: s.workspaceId,
        kind: "voice.denied",
        channel: "voice",
        meta: { code: "RATE_LIMITED", retryAfterMs: budget.retryAfterMs },
      });
      return { ok: false as const, code: "RATE_LIMITED", retryAfterMs: budget.retryAfterMs };
    }
    const grantedSeconds = Math.min(budget.remaining, MAX_VOICE_SESSION_SECONDS);
    const voiceSessionId = await ctx.db.insert("voiceSessions", {
      workspaceId: s.workspaceId,
      chatSessionId: s._id,
      startedAt: now,
      grantedSeconds,
      status: "active",
      sourceKey: budget.sourceKey,
    });
    await logActivity(ctx, {
      workspaceId: s.workspaceId,
      kind: "voice.session_started",
      channel: "voice",
      meta: { voiceSessionId, grantedSeconds },
    });
    await ctx.scheduler.runAfter(0, internal.voice.sessions.mint, { voiceSessionId });
    // Server-side end: at the end of the grant the session is closed whatever the browser does.
    await ctx.scheduler.runAfter(grantedSeconds * 1000, internal.voice.sessions.expire, { voiceSessionId });
    return { ok: true as const, voiceSessionId, grantedSeconds };
  },
});

export const mintInfo = internalQuery({
  args: { voiceSessionId: v.id("voiceSessions") },
  returns: v.union(v.null(), v.object({ agentId: v.union(v.string(), v.null()), grantedSeconds: v.number() })),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ctx.db.get("voiceSessions", voiceSessionId);
    if (!row || row.status !== "active") return null;
    return { agentId: agentIdFor(await readConfig(ctx, row.workspaceId)) ?? null, grantedSeconds: row.grantedSeconds };
  },
});

/**
 * Calls ElevenLabs with the server-side key: first the agent's own conversation cap, which must be
 * set and no longer than this grant (so ElevenLabs itself ends the conversation in time), then a
 * single-use signed URL. Stores only the URL and the conversation id (or an error code).
 */
export const mint = internalAction({
  args: { voiceSessionId: v.id("voiceSessions") },
  returns: v.null(),
  handler: async (ctx, { voiceSessionId }) => {
    const info = await ctx.runQuery(internal.voice.sessions.mintInfo, { voiceSessionId });
    if (!info) return null;
    const base = elevenLabsBase(process.env);
    const apiKey = process.env.ELEVENLABS_API_KEY ?? "";
    if (!base || !info.agentId || !apiKey) {
      await ctx.runMutation(internal.voice.sessions.attach, { voiceSessionId, errorCode: "VOICE_NOT_CONFIGURED" });
      return null;
    }
    const cap = await fetchAgentMaxDuration({ base, apiKey, agentId: info.agentId });
    if (!cap.ok || cap.maxSeconds === null || cap.maxSeconds > info.grantedSeconds) {
      const code = !cap.ok
        ? cap.code
        : cap.maxSeconds !== null && cap.maxSeconds <= MAX_VOICE_SESSION_SECONDS
          ? "RATE_LIMITED"
          : "VOICE_AGENT_UNCAPPED";
      logWarn("voice.agent_cap_refused", {
        code,
        maxSeconds: cap.ok ? cap.maxSeconds : undefined,
        grantedSeconds: info.grantedSeconds,
      });
      await ctx.runMutation(internal.voice.sessions.attach, { voiceSessionId, errorCode: code });
      return null;
    }
    const r = await fetchSignedUrl({ base, apiKey, agentId: info.agentId });
    if (!r.ok) logWarn("voice.signed_url_failed", { code: r.code });
    await ctx.runMutation(
      internal.voice.sessions.attach,
      r.ok
        ? { voiceSessionId, signedUrl: r.signedUrl, conversationId: r.conversationId }
        : { voiceSessionId, errorCode: r.code },
    );
    return null;
  },
});

export const attach = internalMutation({
  args: {
    voiceSessionId: v.id("voiceSessions"),
    signedUrl: v.optional(v.string()),
    conversationId: v.optional(v.string()),
    errorCode: v.optional(v.string()),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const row = await ctx.db.get("voiceSessions", a.voiceSessionId);
    if (!row || row.status !== "active") return null;
    if (a.signedUrl) {
      await ctx.db.patch("voiceSessions", row._id, {
        signedUrl: a.signedUrl,
        conversationId: a.conversationId,
        urlIssuedAt: Date.now(),
      });
    } else {
      // nothing was used: the whole grant goes back
      await ctx.db.patch("voiceSessions", row._id, {
        status: "ended",
        endedAt: Date.now(),
        usedSeconds: 0,
        errorCode: a.errorCode ?? "UPSTREAM_ERROR",
      });
      await logActivity(ctx, {
        workspaceId: row.workspaceId,
        kind: "voice.error",
        channel: "voice",
        meta: { voiceSessionId: row._id, code: a.errorCode },
      });
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
    const status: "pending" | "ready" | "ended" | "error" = row.errorCode
      ? "error"
      : row.status !== "active" || left === 0
        ? "ended"
        : row.signedUrl
          ? "ready"
          : "pending";
    return {
      status,
      grantedSeconds: row.grantedSeconds,
      remainingSeconds: Math.ceil(left / 1000),
      signedUrl: status === "ready" ? row.signedUrl : undefined,
      errorCode: row.errorCode,
    };
  },
});

/**
 * Ends a row. Before a URL was handed out only the elapsed time counts (none will be handed out
 * now). After, the browser's "end" proves nothing — the conversation may go on at ElevenLabs up
 * to the agent's cap — so the whole grant counts until ElevenLabs reports the real duration.
 */
async function endRow(ctx: MutationCtx, row: Doc<"voiceSessions">, now: number) {
  const elapsed = Math.min(row.grantedSeconds, Math.max(0, Math.ceil((now - row.startedAt) / 1000)));
  const usedSeconds = row.urlIssuedAt === undefined ? elapsed : row.grantedSeconds;
  await ctx.db.patch("voiceSessions", row._id, { status: "ended", endedAt: now, usedSeconds, signedUrl: undefined });
  if (row.conversationId) {
    const grantEnd = row.startedAt + row.grantedSeconds * 1000;
    await ctx.scheduler.runAfter(0, internal.voice.sessions.settle, {
      voiceSessionId: row._id,
      retryAt: grantEnd + SETTLE_AFTER_GRANT_MS,
    });
  }
  await logActivity(ctx, {
    workspaceId: row.workspaceId,
    kind: "voice.session_ended",
    channel: "voice",
    meta: { voiceSessionId: row._id, usedSeconds, grantedSeconds: row.grantedSeconds },
  });
  return usedSeconds;
}

/** Ends the voice session; unused seconds go back once ElevenLabs confirms the conversation is over. */
export const end = sessionMutation({
  args: { voiceSessionId: v.string() },
  returns: v.object({ usedSeconds: v.number() }),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ownVoiceSession(ctx, voiceSessionId);
    if (row.status !== "active") return { usedSeconds: row.usedSeconds ?? row.grantedSeconds };
    return { usedSeconds: await endRow(ctx, row, Date.now()) };
  },
});

/** Scheduled at the end of the grant: closes the session if the browser did not. */
export const expire = internalMutation({
  args: { voiceSessionId: v.id("voiceSessions") },
  returns: v.null(),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ctx.db.get("voiceSessions", voiceSessionId);
    if (row && row.status === "active") await endRow(ctx, row, Date.now());
    return null;
  },
});

/**
 * Reads the conversation's real duration from ElevenLabs and charges that (never more than the
 * grant). Still running → asked once more after the grant's end; no answer → the grant stays charged.
 */
export const settle = internalAction({
  args: { voiceSessionId: v.id("voiceSessions"), retryAt: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, { voiceSessionId, retryAt }) => {
    const row = await ctx.runQuery(internal.voice.sessions.settleInfo, { voiceSessionId });
    const base = elevenLabsBase(process.env);
    const apiKey = process.env.ELEVENLABS_API_KEY ?? "";
    if (!row || !base || !apiKey) return null;
    const r = await fetchConversationSeconds({ base, apiKey, conversationId: row.conversationId });
    if (r.ok && r.done && r.seconds !== null) {
      await ctx.runMutation(internal.voice.sessions.charge, { voiceSessionId, seconds: Math.ceil(r.seconds) });
    } else if (retryAt !== undefined) {
      await ctx.scheduler.runAfter(Math.max(0, retryAt - Date.now()), internal.voice.sessions.settle, {
        voiceSessionId,
      });
    }
    return null;
  },
});

export const settleInfo = internalQuery({
  args: { voiceSessionId: v.id("voiceSessions") },
  returns: v.union(v.null(), v.object({ conversationId: v.string() })),
  handler: async (ctx, { voiceSessionId }) => {
    const row = await ctx.db.get("voiceSessions", voiceSessionId);
    return row && row.status === "ended" && row.conversationId ? { conversationId: row.conversationId } : null;
  },
});

export const charge = internalMutation({
  args: { voiceSessionId: v.id("voiceSessions"), seconds: v.number() },
  returns: v.null(),
  handler: async (ctx, { voiceSessionId, seconds }) => {
    const row = await ctx.db.get("voiceSessions", voiceSessionId);
    if (!row || row.status !== "ended") return null;
    const usedSeconds = Math.min(row.grantedSeconds, Math.max(0, Math.ceil(seconds)));
    if (usedSeconds !== row.usedSeconds) await ctx.db.patch("voiceSessions", row._id, { usedSeconds });
    return null;
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
    if (row.status !== "active" || now > row.startedAt + row.grantedSeconds * 1000 + TRANSCRIPT_GRACE_MS)
      fail("VOICE_SESSION_INACTIVE");
    const tid = ctx.db.normalizeId("threads", a.threadId);
    const thread = tid ? await ctx.db.get("threads", tid) : null;
    if (!thread || thread.sessionId !== s._id) fail("FORBIDDEN");
    const max = maxMessageChars(await readConfig(ctx, s.workspaceId));
    if (charCount(a.text) > 4 * max) fail("MESSAGE_TOO_LONG", { maxChars: max });
    const clean = sanitizeText(a.text, { maxChars: max, collapseWhitespace: true });
    if (!clean) fail("ARGS_INVALID");
    const lim = await enforceLimit(ctx, {
      workspaceId: s.workspaceId,
      name: "voiceTranscriptsPerSession",
      key: s._id,
      category: "voice",
      source: "voice/transcript",
    });
    if (!lim.ok) return { ok: false as const, code: lim.code, retryAfterMs: lim.retryAfterMs };
    const all = await admitAllUsers(ctx, { workspaceId: s.workspaceId, category: "voice", source: "voice/transcript" });
    if (!all.ok) return { ok: false as const, code: all.code, retryAfterMs: all.retryAfterMs };
    const { assistantMessageId } = await appendTurn(ctx, thread as Doc<"threads">, clean, { schedule: true });
    return { ok: true as const, assistantMessageId };
  },
});

export type VoiceSessionId = Id<"voiceSessions">;
