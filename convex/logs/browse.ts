/**
 * SyncBoard's log pages. Who reads which log (decided here, per log):
 * - invocation log: viewers and up. Rows carry previews redacted at write time, no caller address.
 * - security events: viewers and up. Only code, category and detail are returned; `source` (an IP
 *   or sender id) never leaves the server.
 * - audit log: admins and owners only. It names people, their sign-in addresses (`ip:…` targets)
 *   and before/after values of every privileged change. Its export (auditExport) is admin-only too.
 * Every page size goes through clampPage (at most PAGE_MAX rows per call).
 */
import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { viewerQuery, adminQuery, adminMutation } from "../access/builders";
import { getOwned } from "../access/principal";
import { clampPage } from "../lib/pagination";
import { CSV_HEADER, csvLine, jsonLine } from "../lib/auditExport";

const invocationRow = v.object({
  id: v.id("invocationLog"),
  at: v.number(),
  targetKind: v.union(v.literal("skill"), v.literal("mcp"), v.literal("webhook")),
  targetName: v.string(),
  callerKind: v.string(),
  code: v.string(),
  allowed: v.boolean(),
  durationMs: v.number(),
  inputBytes: v.number(),
  outputBytes: v.number(),
  inputPreview: v.string(),
  outputPreview: v.string(),
  hasStoredOutput: v.boolean(),
});
const securityEventRow = v.object({
  id: v.id("securityEvents"),
  at: v.number(),
  code: v.string(),
  category: v.string(),
  detail: v.string(),
});
const auditRow = v.object({
  id: v.id("auditLog"),
  at: v.number(),
  actor: v.string(),
  action: v.string(),
  target: v.string(),
  before: v.any(), // the changed object's fields as they were (any JSON)
  after: v.any(),
});

/** Invocation log, newest first; optionally only denials. Previews are already redacted at write time. */
export const invocations = viewerQuery({
  args: { paginationOpts: paginationOptsValidator, deniedOnly: v.optional(v.boolean()) },
  returns: paginationResultValidator(invocationRow),
  handler: async (ctx, { paginationOpts, deniedOnly }) => {
    const ws = ctx.principal.workspaceId;
    const q = deniedOnly
      ? ctx.db
          .query("invocationLog")
          .withIndex("by_workspace_allowed_at", (q) => q.eq("workspaceId", ws).eq("allowed", false))
      : ctx.db.query("invocationLog").withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws));
    const page = await q.order("desc").paginate(clampPage(paginationOpts));
    return {
      ...page,
      page: page.page.map((r) => ({
        id: r._id,
        at: r.at,
        targetKind: r.targetKind,
        targetName: r.targetName,
        callerKind: r.callerKind,
        code: r.code,
        allowed: r.allowed,
        durationMs: r.durationMs,
        inputBytes: r.inputBytes,
        outputBytes: r.outputBytes,
        inputPreview: r.inputPreview ?? "",
        outputPreview: r.outputPreview ?? "",
        hasStoredOutput: r.outputStorageId !== undefined,
      })),
    };
  },
});

/** Security events, newest first; optionally one code. */
export const securityEvents = viewerQuery({
  args: { paginationOpts: paginationOptsValidator, code: v.optional(v.string()) },
  returns: paginationResultValidator(securityEventRow),
  handler: async (ctx, { paginationOpts, code }) => {
    const ws = ctx.principal.workspaceId;
    const q = code
      ? ctx.db
          .query("securityEvents")
          .withIndex("by_workspace_code_at", (q) => q.eq("workspaceId", ws).eq("code", code))
      : ctx.db.query("securityEvents").withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws));
    const page = await q.order("desc").paginate(clampPage(paginationOpts));
    return {
      ...page,
      page: page.page.map((e) => ({ id: e._id, at: e.at, code: e.code, category: e.category, detail: e.detail ?? "" })),
    };
  },
});

/** Audit log, newest first (admins and owners). */
export const audit = adminQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(auditRow),
  handler: async (ctx, { paginationOpts }) => {
    const page = await ctx.db
      .query("auditLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .order("desc")
      .paginate(clampPage(paginationOpts));
    return {
      ...page,
      page: page.page.map((a) => ({
        id: a._id,
        at: a.at,
        actor: a.actorLabel,
        action: a.action,
        target: a.target ?? "",
        before: a.before ?? null,
        after: a.after ?? null,
      })),
    };
  },
});

/**
 * Audit log export, oldest first, one page per call: `page` holds JSON lines or CSV lines (the
 * CSV header only on the first page). SyncBoard concatenates pages into a file.
 */
export const auditExport = adminQuery({
  args: { paginationOpts: paginationOptsValidator, format: v.optional(v.union(v.literal("jsonl"), v.literal("csv"))) },
  returns: v.object({
    page: v.array(v.string()),
    isDone: v.boolean(),
    continueCursor: v.string(),
    header: v.union(v.string(), v.null()),
  }),
  handler: async (ctx, { paginationOpts, format }) => {
    const res = await ctx.db
      .query("auditLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .paginate(clampPage(paginationOpts));
    const line = format === "csv" ? csvLine : jsonLine;
    return {
      page: res.page.map((a) =>
        line({
          id: a._id,
          at: a.at,
          actor: a.actorLabel,
          action: a.action,
          target: a.target ?? "",
          before: a.before ?? null,
          after: a.after ?? null,
        }),
      ),
      isDone: res.isDone,
      continueCursor: res.continueCursor,
      header: format === "csv" && paginationOpts.cursor === null ? CSV_HEADER : null,
    };
  },
});

export const markNotificationRead = adminMutation({
  args: { notificationId: v.id("notifications") },
  returns: v.null(),
  handler: async (ctx, { notificationId }) => {
    const n = await getOwned(await ctx.db.get("notifications", notificationId), ctx.principal);
    if (n.readAt === undefined) await ctx.db.patch("notifications", n._id, { readAt: Date.now() });
    return null;
  },
});
