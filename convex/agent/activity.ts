import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { viewerQuery, ownerMutation, publicQuery } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { cleanValue } from "../lib/log";
import { truncate } from "../lib/redact";
import {
  activitySummary,
  isActivityChannel,
  isPublishable,
  type ActivityChannel,
  type ActivityFacts,
  type ActivityKind,
} from "./activityTemplates";
import { activityMetaValidator, type ActivityMeta, type ActivityMetaInput } from "./tables";
import { DEFAULT_WORKSPACE_SLUG, workspaceBySlug } from "../workspaces/lib";
import { clampPage, PUBLIC_PAGE_MAX } from "../lib/pagination";

const MAX_META_BYTES = 4096;

/**
 * The one writer of `activityLog`. Appends a private entry whose summary comes from the kind's
 * template (plus catalogue facts) only; `meta` (ids, codes, model names, counts — never message
 * text) is redacted and PII-masked.
 */
export async function logActivity(
  ctx: MutationCtx,
  e: {
    workspaceId: Id<"workspaces">;
    kind: ActivityKind;
    channel?: ActivityChannel;
    meta?: ActivityMetaInput;
  } & ActivityFacts,
): Promise<Id<"activityLog">> {
  // cleanValue keeps the shape: strings stay strings, numbers numbers (null if not finite),
  // booleans and null as they are, undefined fields dropped, objects objects (keys cleaned).
  let meta = e.meta ? (cleanValue(e.meta) as ActivityMeta) : undefined;
  if (meta !== undefined && JSON.stringify(meta).length > MAX_META_BYTES) {
    meta = { truncated: truncate(JSON.stringify(meta), MAX_META_BYTES) };
  }
  return await ctx.db.insert("activityLog", {
    workspaceId: e.workspaceId,
    kind: e.kind,
    summary: activitySummary(e.kind, e.channel, { code: e.code, status: e.status, retrying: e.retrying }),
    visibility: "private",
    channel: e.channel,
    meta,
    at: Date.now(),
  });
}

/** The workspace whose public chat and public feed are served (env WARDEN_PUBLIC_WORKSPACE). */
export async function publicWorkspaceId(ctx: QueryCtx): Promise<Id<"workspaces"> | null> {
  const slug = (process.env.WARDEN_PUBLIC_WORKSPACE ?? "").trim() || DEFAULT_WORKSPACE_SLUG;
  return (await workspaceBySlug(ctx, slug))?._id ?? null;
}

const ownerEntry = v.object({
  _id: v.id("activityLog"),
  kind: v.string(),
  summary: v.string(),
  visibility: v.union(v.literal("private"), v.literal("public")),
  channel: v.optional(v.string()),
  meta: v.optional(activityMetaValidator),
  at: v.number(),
});

/** Owner dashboard: every entry of the caller's workspace, newest first. */
export const list = viewerQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(ownerEntry),
  handler: async (ctx, { paginationOpts }) => {
    const res = await ctx.db
      .query("activityLog")
      .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .order("desc")
      .paginate(clampPage(paginationOpts));
    return {
      ...res,
      page: res.page.map((r) => ({
        _id: r._id,
        kind: r.kind,
        summary: r.summary,
        visibility: r.visibility,
        channel: r.channel,
        meta: r.meta,
        at: r.at,
      })),
    };
  },
});

/** Only an owner makes an entry public, and only kinds with a public template. */
export const setVisibility = ownerMutation({
  args: { activityId: v.id("activityLog"), visibility: v.union(v.literal("private"), v.literal("public")) },
  returns: v.null(),
  handler: async (ctx, { activityId, visibility }) => {
    const row = await getOwned(await ctx.db.get("activityLog", activityId), ctx.principal);
    if (visibility === "public" && !isPublishable(row.kind)) fail("ACTIVITY_NOT_PUBLISHABLE");
    if (row.visibility === visibility) return null;
    await ctx.db.patch("activityLog", activityId, { visibility });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "activity.setVisibility",
      target: activityId,
      before: { visibility: row.visibility, kind: row.kind },
      after: { visibility, kind: row.kind },
    });
    return null;
  },
});

const publicEntry = v.object({ kind: v.string(), summary: v.string(), at: v.number() });

/**
 * Public feed of the public workspace: only entries an owner marked public, only
 * { kind, summary, at }, the summary rebuilt from the kind's template. Bounded page size.
 */
export const publicFeed = publicQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(publicEntry),
  handler: async (ctx, { paginationOpts }) => {
    const workspaceId = await publicWorkspaceId(ctx);
    if (!workspaceId) return { page: [], isDone: true, continueCursor: "" };
    const res = await ctx.db
      .query("activityLog")
      .withIndex("by_workspace_visibility_at", (q) => q.eq("workspaceId", workspaceId).eq("visibility", "public"))
      .order("desc")
      .paginate(clampPage({ cursor: paginationOpts.cursor, numItems: paginationOpts.numItems }, PUBLIC_PAGE_MAX));
    return {
      isDone: res.isDone,
      continueCursor: res.continueCursor,
      page: res.page
        .filter((r) => isPublishable(r.kind))
        .map((r) => ({
          kind: r.kind,
          summary: activitySummary(r.kind, isActivityChannel(r.channel) ? r.channel : undefined),
          at: r.at,
        })),
    };
  },
});
