/**
 * Denials that happen at the edge or outside a transaction that could record them (a throwing
 * query or mutation rolls its own writes back): oversized bodies, FORBIDDEN for a signed-in member
 * (HTTP routes and actions), and failed sign-ins attributed to the targeted person's workspaces.
 * Plus the operator's deployment-level view of every security event, with or without a workspace.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { providerForIssuer } from "../lib/authMode";
import { internal } from "../_generated/api";
import { RAW_EVENT_TTL_MS, recordSecurityEvent, type SecurityEventInput } from "./events";
import { codeValidator } from "../lib/codes";

/** A person can be in many workspaces; attribution copies stop here. */
export const MAX_ATTRIBUTED_WORKSPACES = 20;

/** Workspaces of the person with this owner key (bounded); [] for an unknown account. */
async function workspacesOf(ctx: QueryCtx, ownerId: Id<"owners"> | null): Promise<Id<"workspaces">[]> {
  if (!ownerId) return [];
  const ms = await ctx.db
    .query("memberships")
    .withIndex("by_owner", (q) => q.eq("ownerId", ownerId))
    .take(MAX_ATTRIBUTED_WORKSPACES);
  return [...new Set(ms.map((m) => m.workspaceId))];
}

/**
 * One deployment-level event (no workspace; it alone carries `source`, so abuse detection counts
 * the attempt once), plus a copy in every workspace of the targeted person so SyncBoard shows it.
 */
export async function recordForPerson(
  ctx: MutationCtx,
  ownerKey: string,
  e: Omit<SecurityEventInput, "workspaceId">,
): Promise<void> {
  await recordSecurityEvent(ctx, e);
  const owner = await ctx.db
    .query("owners")
    .withIndex("by_ownerKey", (q) => q.eq("ownerKey", ownerKey))
    .unique();
  const detail = `${e.detail ?? ""}${e.source ? ` from=${e.source}` : ""}`.trim();
  for (const workspaceId of await workspacesOf(ctx, owner?._id ?? null)) {
    await recordSecurityEvent(ctx, { workspaceId, code: e.code, category: e.category, detail });
  }
}

/** Oversized bodies and other refusals before any principal is known. */
export const recordRequestDenial = internalMutation({
  args: { code: codeValidator, category: v.string(), ip: v.string(), detail: v.string() },
  returns: v.null(),
  handler: async (ctx, a) => {
    const ip = a.ip.slice(0, 64);
    await recordSecurityEvent(ctx, {
      code: a.code,
      category: a.category,
      source: `ip:${ip}`,
      detail: `${a.detail}; ip=${ip}`,
    });
    return null;
  },
});

/**
 * A signed-in caller was refused (FORBIDDEN). Runs with the caller's identity: the event goes to the
 * workspace their token names when they are a member of it, else to the deployment view only.
 */
export const recordMemberDenial = internalMutation({
  args: { code: codeValidator, category: v.string(), detail: v.string(), ip: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, a) => {
    const identity = await ctx.auth.getUserIdentity();
    const ipPart = a.ip ? `; ip=${a.ip.slice(0, 64)}` : "";
    if (!identity) {
      await recordSecurityEvent(ctx, {
        code: a.code,
        category: a.category,
        source: a.ip ? `ip:${a.ip.slice(0, 64)}` : undefined,
        detail: `${a.detail}${ipPart}`,
      });
      return null;
    }
    let owner: Doc<"owners"> | null = null;
    const provider = providerForIssuer(identity.issuer, process.env);
    if (provider === "builtin") {
      const id = ctx.db.normalizeId("owners", identity.subject);
      owner = id ? await ctx.db.get("owners", id) : null;
    } else if (provider) {
      owner = await ctx.db
        .query("owners")
        .withIndex("by_clerkUserId", (q) => q.eq("clerkUserId", identity.subject))
        .unique();
    }
    const wid = (identity as Record<string, unknown>).wid;
    const claimed = typeof wid === "string" ? ctx.db.normalizeId("workspaces", wid) : null;
    let workspaceId: Id<"workspaces"> | undefined;
    if (owner && claimed) {
      const m = await ctx.db
        .query("memberships")
        .withIndex("by_owner_workspace", (q) => q.eq("ownerId", owner._id).eq("workspaceId", claimed))
        .unique();
      if (m) workspaceId = claimed;
    }
    const who = owner ? `owner:${owner._id}` : `subject:${identity.subject.slice(0, 64)}`;
    await recordSecurityEvent(ctx, {
      workspaceId,
      code: a.code,
      category: a.category,
      source: who,
      detail: `${a.detail} by ${owner?.ownerKey ?? "unknown account"}${ipPart}`,
    });
    return null;
  },
});

const eventRow = v.object({
  _id: v.id("securityEvents"),
  _creationTime: v.number(),
  workspaceId: v.optional(v.id("workspaces")),
  code: v.string(),
  category: v.string(),
  source: v.optional(v.string()),
  detail: v.optional(v.string()),
  at: v.number(),
});

/**
 * Operator view: the newest security events of the whole deployment, including those without a
 * workspace (sign-ins to unknown accounts, bad MCP tokens, oversized bodies). `npx convex run
 * security/edge:recent '{"limit":50}'`. Bounded: at most 200 rows.
 */
export const recent = internalQuery({
  args: { limit: v.optional(v.number()), withoutWorkspaceOnly: v.optional(v.boolean()) },
  returns: v.array(eventRow),
  handler: async (ctx, { limit, withoutWorkspaceOnly }) => {
    const n = Math.min(Math.max(1, Math.floor(limit ?? 50)), 200);
    const q = withoutWorkspaceOnly
      ? ctx.db.query("securityEvents").withIndex("by_workspace_at", (x) => x.eq("workspaceId", undefined))
      : ctx.db.query("securityEvents").withIndex("by_at");
    return await q.order("desc").take(n);
  },
});

const RAW_PURGE_BATCH = 500;

/** Cron: raw event values (operator opt-in) live RAW_EVENT_TTL_MS; bounded batches that continue themselves. */
export const purgeRawEvents = internalMutation({
  args: {},
  returns: v.object({ deleted: v.number() }),
  handler: async (ctx) => {
    const old = await ctx.db
      .query("securityEventRaw")
      .withIndex("by_at", (q) => q.lt("at", Date.now() - RAW_EVENT_TTL_MS))
      .take(RAW_PURGE_BATCH);
    for (const r of old) await ctx.db.delete("securityEventRaw", r._id);
    if (old.length === RAW_PURGE_BATCH) await ctx.scheduler.runAfter(0, internal.security.edge.purgeRawEvents, {});
    return { deleted: old.length };
  },
});
