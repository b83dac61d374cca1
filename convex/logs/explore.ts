/**
 * Investigating the logs: every log view's list with search, a time range and filters, rows with
 * attribution (who, from where, which workspace object), and the overview for a chosen range.
 *
 * Audiences follow logs/browse.ts: invocations, security events, activity and conversations are
 * viewer-readable; the audit log is admins and owners only. Exports are these same paginated queries
 * read page by page, so an export has exactly the audience of its log.
 *
 * Bounded reads: every list reads one index range, at most clampPage(…) rows per call (≤ PAGE_MAX).
 * The filter with its own index (caller, target, code, source, kind, person) picks that index; the
 * other filters and the search are applied to the rows read, so a page may hold fewer rows than asked
 * (SyncBoard then asks for the next page). The range overview reads hourly summary rows, never logs,
 * except the live tail that the dashboard reads too.
 */
import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { viewerQuery, adminQuery } from "../access/builders";
import type { Doc, Id } from "../_generated/dataModel";
import { clampPage } from "../lib/pagination";
import { codeGroupOf } from "../lib/codeGroups";
import { hourBucket, HOUR } from "../lib/time";
import { invocationRollupThrough } from "./summaries";
import { LIVE_TAIL_MAX, overviewCountsFields } from "./dashboard";
import { Resolver, sourceWhoValidator, whoValidator, type Who } from "./attribution";
import { latestNotifications } from "../notifications/notify";

const range = { from: v.optional(v.number()), to: v.optional(v.number()) };
const MAX_SEARCH = 200;
/** Longest range the overview summarises (the summaries keep this much by default). */
export const MAX_RANGE_MS = 90 * 24 * HOUR;

function bounds(from: number | undefined, to: number | undefined): { lo: number; hi: number } {
  const hi = to !== undefined && Number.isFinite(to) ? to : Number.MAX_SAFE_INTEGER;
  const lo = from !== undefined && Number.isFinite(from) ? from : 0;
  return { lo, hi: Math.max(lo, hi) };
}

function matches(search: string | undefined, ...fields: (string | undefined | null)[]): boolean {
  const s = search?.trim().slice(0, MAX_SEARCH).toLowerCase();
  if (!s) return true;
  return fields.some((f) => !!f && f.toLowerCase().includes(s));
}

/** "kind:id" or "kind" → its parts. */
function splitKey(key: string): { kind: string; id?: string } {
  const i = key.indexOf(":");
  return i < 0 ? { kind: key } : { kind: key.slice(0, i), id: key.slice(i + 1) };
}

// ---------------------------------------------------------------------------------------------
// Invocation log

const invocationRow = v.object({
  id: v.string(),
  at: v.number(),
  targetKind: v.string(),
  targetName: v.string(),
  target: whoValidator,
  callerKind: v.string(),
  caller: whoValidator,
  code: v.string(),
  codeGroup: v.string(),
  allowed: v.boolean(),
  durationMs: v.number(),
  inputBytes: v.number(),
  outputBytes: v.number(),
  inputPreview: v.string(),
  outputPreview: v.string(),
  hasStoredOutput: v.boolean(),
});

export const invocations = viewerQuery({
  args: {
    paginationOpts: paginationOptsValidator,
    ...range,
    search: v.optional(v.string()),
    codeGroup: v.optional(v.string()),
    code: v.optional(v.string()),
    target: v.optional(v.string()),
    caller: v.optional(v.string()),
    deniedOnly: v.optional(v.boolean()),
  },
  returns: paginationResultValidator(invocationRow),
  handler: async (ctx, a) => {
    const ws = ctx.principal.workspaceId;
    const { lo, hi } = bounds(a.from, a.to);
    const caller = a.caller ? splitKey(a.caller) : null;
    const t = ctx.db.query("invocationLog");
    const q =
      caller?.id !== undefined
        ? t.withIndex("by_workspace_caller_at", (q) =>
            q.eq("workspaceId", ws).eq("callerKind", caller.kind).eq("callerId", caller.id).gte("at", lo).lte("at", hi),
          )
        : a.target
          ? t.withIndex("by_workspace_target_at", (q) =>
              q.eq("workspaceId", ws).eq("targetName", a.target!).gte("at", lo).lte("at", hi),
            )
          : a.code
            ? t.withIndex("by_workspace_code_at", (q) =>
                q.eq("workspaceId", ws).eq("code", a.code!).gte("at", lo).lte("at", hi),
              )
            : a.deniedOnly
              ? t.withIndex("by_workspace_allowed_at", (q) =>
                  q.eq("workspaceId", ws).eq("allowed", false).gte("at", lo).lte("at", hi),
                )
              : t.withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws).gte("at", lo).lte("at", hi));
    const res = await q.order("desc").paginate(clampPage(a.paginationOpts));
    const rows = res.page.filter(
      (r) =>
        (!a.deniedOnly || !r.allowed) &&
        (!a.code || r.code === a.code) &&
        (!a.target || r.targetName === a.target) &&
        (!caller || r.callerKind === caller.kind) &&
        (!a.codeGroup || codeGroupOf(r.code) === a.codeGroup) &&
        matches(a.search, r.targetName, r.code, r.callerKind, r.inputPreview, r.outputPreview),
    );
    const who = new Resolver(ctx, ws);
    const page = await Promise.all(
      rows.map(async (r) =>
        invocationOut(r, await who.caller(r.callerKind, r.callerId, r.channelId), await targetOf(who, r)),
      ),
    );
    return { ...res, page };
  },
});

async function targetOf(who: Resolver, r: Doc<"invocationLog">): Promise<Who> {
  const key = r.targetName;
  if (r.skillId) return { kind: "skill", label: r.targetName, key, link: `/skills/${r.skillId}` };
  if (r.mcpServerId) return { kind: "mcp-tool", label: r.targetName, key, link: `/mcp/${r.mcpServerId}` };
  if (r.channelId)
    return { kind: "channel", label: (await who.channelName(r.channelId)) ?? r.targetName, key, link: "/channels" };
  return { kind: r.targetKind, label: r.targetName, key };
}

function invocationOut(r: Doc<"invocationLog">, caller: Who, target: Who) {
  return {
    id: r._id,
    at: r.at,
    targetKind: r.targetKind,
    targetName: r.targetName,
    target,
    callerKind: r.callerKind,
    caller,
    code: r.code,
    codeGroup: codeGroupOf(r.code),
    allowed: r.allowed,
    durationMs: r.durationMs,
    inputBytes: r.inputBytes,
    outputBytes: r.outputBytes,
    inputPreview: r.inputPreview ?? "",
    outputPreview: r.outputPreview ?? "",
    hasStoredOutput: r.outputStorageId !== undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Security events

const securityRow = v.object({
  id: v.string(),
  at: v.number(),
  code: v.string(),
  codeGroup: v.string(),
  category: v.string(),
  detail: v.string(),
  source: sourceWhoValidator,
});

/**
 * Security events with their source. Sources are pseudonyms already (an IP as network + keyed tag,
 * never the address), so viewers see them; ids of workspace objects are resolved to names.
 */
export const securityEvents = viewerQuery({
  args: {
    paginationOpts: paginationOptsValidator,
    ...range,
    search: v.optional(v.string()),
    codeGroup: v.optional(v.string()),
    code: v.optional(v.string()),
    source: v.optional(v.string()),
    category: v.optional(v.string()),
  },
  returns: paginationResultValidator(securityRow),
  handler: async (ctx, a) => {
    const ws = ctx.principal.workspaceId;
    const { lo, hi } = bounds(a.from, a.to);
    const t = ctx.db.query("securityEvents");
    const q = a.source
      ? t.withIndex("by_workspace_source_at", (q) =>
          q.eq("workspaceId", ws).eq("source", a.source).gte("at", lo).lte("at", hi),
        )
      : a.code
        ? t.withIndex("by_workspace_code_at", (q) =>
            q.eq("workspaceId", ws).eq("code", a.code!).gte("at", lo).lte("at", hi),
          )
        : t.withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws).gte("at", lo).lte("at", hi));
    const res = await q.order("desc").paginate(clampPage(a.paginationOpts));
    const rows = res.page.filter(
      (e) =>
        (!a.code || e.code === a.code) &&
        (!a.category || e.category === a.category) &&
        (!a.codeGroup || codeGroupOf(e.code) === a.codeGroup) &&
        matches(a.search, e.code, e.category, e.detail, e.source),
    );
    const who = new Resolver(ctx, ws);
    const page = await Promise.all(
      rows.map(async (e) => ({
        id: e._id,
        at: e.at,
        code: e.code,
        codeGroup: codeGroupOf(e.code),
        category: e.category,
        detail: e.detail ?? "",
        source: await who.source(e.source),
      })),
    );
    return { ...res, page };
  },
});

// ---------------------------------------------------------------------------------------------
// Audit log (admins and owners)

const auditRow = v.object({
  id: v.string(),
  at: v.number(),
  actor: v.string(),
  action: v.string(),
  target: v.string(),
  object: whoValidator,
  before: v.any(),
  after: v.any(),
});

export const audit = adminQuery({
  args: {
    paginationOpts: paginationOptsValidator,
    ...range,
    search: v.optional(v.string()),
    action: v.optional(v.string()),
    actor: v.optional(v.string()),
  },
  returns: paginationResultValidator(auditRow),
  handler: async (ctx, a) => {
    const { lo, hi } = bounds(a.from, a.to);
    const res = await ctx.db
      .query("auditLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ctx.principal.workspaceId).gte("at", lo).lte("at", hi))
      .order("desc")
      .paginate(clampPage(a.paginationOpts));
    const who = new Resolver(ctx, ctx.principal.workspaceId);
    const rows = res.page.filter(
      (r) =>
        (!a.action || r.action === a.action || r.action.startsWith(`${a.action}.`)) &&
        (!a.actor || r.actorLabel === a.actor) &&
        matches(
          a.search,
          r.action,
          r.actorLabel,
          r.target,
          JSON.stringify(r.before ?? null),
          JSON.stringify(r.after ?? null),
        ),
    );
    const page = await Promise.all(
      rows.map(async (r) => ({
        id: r._id,
        at: r.at,
        actor: r.actorLabel,
        action: r.action,
        target: r.target ?? "",
        object: await who.object(r.target ?? ""),
        before: r.before ?? null,
        after: r.after ?? null,
      })),
    );
    return { ...res, page };
  },
});

// ---------------------------------------------------------------------------------------------
// Activity

const activityRow = v.object({
  _id: v.id("activityLog"),
  at: v.number(),
  kind: v.string(),
  summary: v.string(),
  visibility: v.union(v.literal("private"), v.literal("public")),
  channel: v.optional(v.string()),
  conversation: v.optional(v.string()),
});

export const activity = viewerQuery({
  args: {
    paginationOpts: paginationOptsValidator,
    ...range,
    search: v.optional(v.string()),
    kind: v.optional(v.string()),
    channel: v.optional(v.string()),
  },
  returns: paginationResultValidator(activityRow),
  handler: async (ctx, a) => {
    const ws = ctx.principal.workspaceId;
    const { lo, hi } = bounds(a.from, a.to);
    const t = ctx.db.query("activityLog");
    const q = a.kind
      ? t.withIndex("by_workspace_kind_at", (q) =>
          q.eq("workspaceId", ws).eq("kind", a.kind!).gte("at", lo).lte("at", hi),
        )
      : t.withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws).gte("at", lo).lte("at", hi));
    const res = await q.order("desc").paginate(clampPage(a.paginationOpts));
    const page = res.page
      .filter((r) => (!a.channel || r.channel === a.channel) && matches(a.search, r.summary, r.kind, r.channel))
      .map((r) => {
        const meta = (r.meta ?? {}) as Record<string, unknown>;
        const threadId = typeof meta.threadId === "string" ? meta.threadId : undefined;
        return {
          _id: r._id,
          at: r.at,
          kind: r.kind,
          summary: r.summary,
          visibility: r.visibility,
          channel: r.channel,
          conversation: threadId,
        };
      });
    return { ...res, page };
  },
});

// ---------------------------------------------------------------------------------------------
// Conversations

const threadRow = v.object({
  _id: v.id("threads"),
  title: v.string(),
  source: v.union(v.literal("web"), v.literal("channel"), v.literal("other")),
  person: v.union(whoValidator, v.null()),
  messageCount: v.number(),
  createdAt: v.number(),
  updatedAt: v.number(),
});

export const conversations = viewerQuery({
  args: {
    paginationOpts: paginationOptsValidator,
    ...range,
    search: v.optional(v.string()),
    source: v.optional(v.union(v.literal("web"), v.literal("channel"))),
    /** "session:<chatSessionId>" or "channelUser:<channelUserId>" */
    caller: v.optional(v.string()),
  },
  returns: paginationResultValidator(threadRow),
  handler: async (ctx, a) => {
    const ws = ctx.principal.workspaceId;
    const { lo, hi } = bounds(a.from, a.to);
    const caller = a.caller ? splitKey(a.caller) : null;
    const sessionId = caller?.kind === "session" && caller.id ? ctx.db.normalizeId("chatSessions", caller.id) : null;
    const channelUserId =
      caller?.kind === "channelUser" && caller.id ? ctx.db.normalizeId("channelUsers", caller.id) : null;
    const t = ctx.db.query("threads");
    const q = sessionId
      ? t.withIndex("by_session", (q) => q.eq("sessionId", sessionId).gte("updatedAt", lo).lte("updatedAt", hi))
      : channelUserId
        ? t.withIndex("by_channelUser", (q) =>
            q.eq("channelUserId", channelUserId).gte("updatedAt", lo).lte("updatedAt", hi),
          )
        : t.withIndex("by_workspace", (q) => q.eq("workspaceId", ws).gte("updatedAt", lo).lte("updatedAt", hi));
    const res = await q.order("desc").paginate(clampPage(a.paginationOpts));
    const who = new Resolver(ctx, ws);
    const rows = res.page.filter(
      (th) =>
        th.workspaceId === ws &&
        (!caller || !!sessionId || !!channelUserId) &&
        (!a.source || (a.source === "web" ? !!th.sessionId : !!th.channelUserId)) &&
        matches(a.search, th.title),
    );
    const page = await Promise.all(
      rows.map(async (th) => ({
        _id: th._id,
        title: th.title?.trim() || "Untitled conversation",
        source: th.sessionId ? ("web" as const) : th.channelUserId ? ("channel" as const) : ("other" as const),
        person: th.channelUserId
          ? await who.channelUser(th.channelUserId)
          : th.sessionId
            ? await who.session(th.sessionId)
            : null,
        messageCount: th.messageCount ?? 0,
        createdAt: th.createdAt,
        updatedAt: th.updatedAt,
      })),
    );
    return { ...res, page };
  },
});

// ---------------------------------------------------------------------------------------------
// Overview for a range

const point = v.object({ bucket: v.number(), ...overviewCountsFields });

/**
 * Counts per bucket (an hour up to 48 hours, a day beyond) for [from, to], from the hourly summary
 * tables plus the invocation log's live tail. Reads at most a few thousand summary rows for 90 days.
 */
export const overviewRange = viewerQuery({
  args: { from: v.number(), to: v.optional(v.number()), tzOffsetMinutes: v.optional(v.number()) },
  returns: v.object({
    bucketMs: v.number(),
    points: v.array(point),
    totals: v.object(overviewCountsFields),
    securityByCode: v.record(v.string(), v.number()),
    rateLimitsByName: v.record(v.string(), v.number()),
    truncated: v.boolean(),
  }),
  handler: async (ctx, a) => {
    const ws = ctx.principal.workspaceId;
    const now = Date.now();
    const to = Math.min(a.to ?? now, now);
    const from = Math.max(Math.min(a.from, to), to - MAX_RANGE_MS);
    const start = hourBucket(from);
    const bucketMs = to - from > 48 * HOUR ? 24 * HOUR : HOUR;
    const tz = Math.max(-14 * 60, Math.min(14 * 60, Math.round(a.tzOffsetMinutes ?? 0))) * 60_000;
    /** Day buckets start at the viewer's local midnight. */
    const bucketOf = (t: number) =>
      bucketMs === HOUR ? hourBucket(t) : Math.floor((t - tz) / bucketMs) * bucketMs + tz;
    const hours = Math.ceil((to - start) / HOUR) + 1;
    const inv = await ctx.db
      .query("invocationSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", ws).gte("bucket", start).lte("bucket", to))
      .take(hours * 4);
    const through = await invocationRollupThrough(ctx);
    const tail = await ctx.db
      .query("invocationLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws).gte("at", Math.max(through, from)).lte("at", to))
      .take(LIVE_TAIL_MAX + 1);
    const SEC_CAP = 8000;
    const sec = await ctx.db
      .query("securityEventSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", ws).gte("bucket", start).lte("bucket", to))
      .take(SEC_CAP + 1);
    const rl = await ctx.db
      .query("rateLimitHitSummary")
      .withIndex("by_workspace_bucket", (q) => q.eq("workspaceId", ws).gte("bucket", start).lte("bucket", to))
      .take(SEC_CAP + 1);
    const truncated = tail.length > LIVE_TAIL_MAX || sec.length > SEC_CAP || rl.length > SEC_CAP;

    const points = new Map<
      number,
      { bucket: number; invocations: number; denied: number; securityEvents: number; rateLimitHits: number }
    >();
    for (let b = bucketOf(from); b <= to; b += bucketMs)
      points.set(b, { bucket: b, invocations: 0, denied: 0, securityEvents: 0, rateLimitHits: 0 });
    const at = (t: number) => points.get(bucketOf(t));
    for (const s of inv) {
      // a summary hour the rollup has not passed is still counted in the live tail
      const p = at(s.bucket);
      if (p) {
        p.invocations += s.total;
        p.denied += s.denied;
      }
    }
    for (const r of tail.slice(0, LIVE_TAIL_MAX)) {
      const p = at(r.at);
      if (p) {
        p.invocations++;
        if (!r.allowed) p.denied++;
      }
    }
    const securityByCode: Record<string, number> = {};
    for (const s of sec.slice(0, SEC_CAP)) {
      const p = at(s.bucket);
      if (p) p.securityEvents += s.count;
      securityByCode[s.code] = (securityByCode[s.code] ?? 0) + s.count;
    }
    const rateLimitsByName: Record<string, number> = {};
    for (const s of rl.slice(0, SEC_CAP)) {
      const p = at(s.bucket);
      if (p) p.rateLimitHits += s.count;
      rateLimitsByName[s.limitName] = (rateLimitsByName[s.limitName] ?? 0) + s.count;
    }
    const list = [...points.values()];
    const sum = (k: "invocations" | "denied" | "securityEvents" | "rateLimitHits") =>
      list.reduce((n, p) => n + p[k], 0);
    return {
      bucketMs,
      points: list,
      totals: {
        invocations: sum("invocations"),
        denied: sum("denied"),
        securityEvents: sum("securityEvents"),
        rateLimitHits: sum("rateLimitHits"),
      },
      securityByCode,
      rateLimitsByName,
      truncated,
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Notifications with the source they name and the action the server has for it

const notificationRow = v.object({
  id: v.id("notifications"),
  kind: v.string(),
  title: v.string(),
  body: v.string(),
  read: v.boolean(),
  createdAt: v.number(),
  source: v.union(sourceWhoValidator, v.null()),
});

export const notifications = viewerQuery({
  args: {},
  returns: v.array(notificationRow),
  handler: async (ctx) => {
    const ws = ctx.principal.workspaceId;
    const rows = await latestNotifications(ctx, ws, 10);
    const who = new Resolver(ctx, ws);
    return await Promise.all(
      rows.map(async (n) => ({
        id: n._id as Id<"notifications">,
        kind: n.kind,
        title: n.title,
        body: n.body,
        read: n.readAt !== undefined,
        createdAt: n.createdAt,
        source: n.source ? await who.source(n.source) : null,
      })),
    );
  },
});

/** Reads at most this many of the newest notifications to count the unread ones (the nav badge). */
export const UNREAD_SCAN = 50;

/** Unread notifications for the navigation badge: bounded (the newest UNREAD_SCAN), `more` when it may be higher. */
export const unreadCount = viewerQuery({
  args: {},
  returns: v.object({ count: v.number(), more: v.boolean() }),
  handler: async (ctx) => {
    const rows = await latestNotifications(ctx, ctx.principal.workspaceId, UNREAD_SCAN);
    const count = rows.filter((n) => n.readAt === undefined).length;
    return { count, more: rows.length === UNREAD_SCAN && count === UNREAD_SCAN };
  },
});
