/**
 * Person-tier sign-in sessions (table `ownerSessions`). A built-in sign-in creates one; every token of
 * its refresh chain carries the session id (`sid`), and both refresh and every call check it
 * (access/principal.ts). A Clerk session is recorded on its first mutation or action (Clerk's `sid`).
 * Ending one (sign-out, the person ending it, membership deactivation/removal, password change,
 * the person deactivated) takes effect on the next call.
 */
import { v } from "convex/values";
import { internalMutation, internalQuery, type MutationCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { OWNER_SESSION_MAX_SECONDS } from "../lib/ownerJwt";
import { writeAudit } from "../audit/log";
import { recordSecurityEvent } from "../security/events";
import type { Principal } from "../access/principal";

/** Clerk decides how long its sessions live; Warden lists a Clerk session for at most this long. */
export const CLERK_SESSION_LIST_MS = 30 * 24 * 3600 * 1000;
/** Active sessions of one person read by the bulk-ending helpers. */
const SESSION_SCAN = 200;
/** Ended or expired rows of a person pruned per new sign-in (keeps the table bounded without a cron). */
const PRUNE_PER_SIGNIN = 20;
const PRUNE_AFTER_MS = 30 * 24 * 3600 * 1000;

export type EndReason =
  | "signout"
  | "ended_by_person"
  | "membership_inactive"
  | "membership_removed"
  | "password_changed"
  | "person_inactive"
  | "expired";

function newSid(): string {
  const b = new Uint8Array(18);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return `ws_${btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** A short, printable description of the client (user agent), so the person recognises the session. */
export function sessionLabel(userAgent: string | null | undefined): string | undefined {
  const ua = (userAgent ?? "").replace(/[^\x20-\x7e]/g, "").trim();
  return ua ? ua.slice(0, 120) : undefined;
}

async function end(ctx: MutationCtx, rows: Doc<"ownerSessions">[], reason: EndReason): Promise<number> {
  const now = Date.now();
  let n = 0;
  for (const r of rows) {
    if (r.endedAt !== undefined) continue;
    await ctx.db.patch("ownerSessions", r._id, { endedAt: now, endReason: reason });
    n++;
  }
  return n;
}

async function activeOf(ctx: MutationCtx, ownerId: Id<"owners">) {
  return await ctx.db
    .query("ownerSessions")
    .withIndex("by_owner_ended", (q) => q.eq("ownerId", ownerId).eq("endedAt", undefined))
    .order("desc") // newest first: a person with very many stale rows still has the live ones ended
    .take(SESSION_SCAN);
}

/** Ends every open session of the person (except `keepSid`, the caller's own). */
export async function endPersonSessions(
  ctx: MutationCtx,
  ownerId: Id<"owners">,
  reason: EndReason,
  keepSid?: string,
): Promise<number> {
  return await end(
    ctx,
    (await activeOf(ctx, ownerId)).filter((s) => s.sid !== keepSid),
    reason,
  );
}

/** Ends the person's open sessions in one workspace (its membership was deactivated or removed). */
export async function endMembershipSessions(
  ctx: MutationCtx,
  ownerId: Id<"owners">,
  workspaceId: Id<"workspaces">,
  reason: EndReason,
): Promise<number> {
  const rows = await ctx.db
    .query("ownerSessions")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", ownerId).eq("workspaceId", workspaceId))
    .take(SESSION_SCAN);
  return await end(ctx, rows, reason);
}

/** Ends one session by id (its owner only; the caller checks that). */
export async function endSession(ctx: MutationCtx, row: Doc<"ownerSessions">, reason: EndReason): Promise<boolean> {
  return (await end(ctx, [row], reason)) === 1;
}

export async function sessionBySid(ctx: Pick<MutationCtx, "db">, sid: string) {
  return await ctx.db
    .query("ownerSessions")
    .withIndex("by_sid", (q) => q.eq("sid", sid))
    .unique();
}

/**
 * First mutation/action of a Clerk session (or of a known one in another workspace): records it and
 * audits `auth.signin` (new) or `auth.switchWorkspace` (the person made another organization active).
 */
export async function recordClerkSession(ctx: MutationCtx, p: Principal, label?: string): Promise<void> {
  if (p.provider !== "clerk" || !p.sessionId || p.sessionRecorded) return;
  const now = Date.now();
  const row = await sessionBySid(ctx, p.sessionId);
  const audit = (action: string) =>
    writeAudit(ctx, {
      workspaceId: p.workspaceId,
      actorId: p.ownerId,
      actorLabel: p.ownerKey,
      action,
      target: "clerk",
      after: { provider: "clerk" },
    });
  if (!row) {
    await ctx.db.insert("ownerSessions", {
      ownerId: p.ownerId,
      workspaceId: p.workspaceId,
      provider: "clerk",
      sid: p.sessionId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + CLERK_SESSION_LIST_MS,
      label,
    });
    await audit("auth.signin");
  } else if (row.workspaceId !== p.workspaceId && row.endedAt === undefined && row.ownerId === p.ownerId) {
    await ctx.db.patch("ownerSessions", row._id, { workspaceId: p.workspaceId, lastSeenAt: now });
    await audit("auth.switchWorkspace");
  }
}

/** Password sign-in: a new session; answers its id for the token. Prunes the person's long-dead rows. */
export const startBuiltin = internalMutation({
  args: {
    ownerId: v.id("owners"),
    workspaceId: v.id("workspaces"),
    authTime: v.number(),
    label: v.optional(v.string()),
  },
  returns: v.string(),
  handler: async (ctx, { ownerId, workspaceId, authTime, label }) => {
    const now = Date.now();
    const old = await ctx.db
      .query("ownerSessions")
      .withIndex("by_owner_ended", (q) =>
        q
          .eq("ownerId", ownerId)
          .gt("endedAt", 0)
          .lt("endedAt", now - PRUNE_AFTER_MS),
      )
      .take(PRUNE_PER_SIGNIN);
    for (const r of old) await ctx.db.delete("ownerSessions", r._id);
    const stale = await ctx.db
      .query("ownerSessions")
      .withIndex("by_owner_ended", (q) => q.eq("ownerId", ownerId).eq("endedAt", undefined))
      .take(PRUNE_PER_SIGNIN);
    await end(
      ctx,
      stale.filter((r) => r.expiresAt <= now),
      "expired",
    );
    const sid = newSid();
    await ctx.db.insert("ownerSessions", {
      ownerId,
      workspaceId,
      provider: "builtin",
      sid,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: authTime * 1000 + OWNER_SESSION_MAX_SECONDS * 1000,
      label: sessionLabel(label),
    });
    return sid;
  },
});

/** Is this session open, the person active and a member (active) of the workspace? */
async function usable(ctx: Pick<MutationCtx, "db">, sid: string, ownerId: string, workspaceId: string) {
  const s = await sessionBySid(ctx, sid);
  if (!s || s.provider !== "builtin" || s.endedAt !== undefined || s.expiresAt <= Date.now()) return null;
  if (String(s.ownerId) !== ownerId) return null;
  const wid = ctx.db.normalizeId("workspaces", workspaceId);
  if (!wid) return null;
  const owner = await ctx.db.get("owners", s.ownerId);
  if (!owner || !owner.active) return null;
  const m = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", s.ownerId).eq("workspaceId", wid))
    .unique();
  if (!m || m.active === false || m.via === "clerkOrg") return null;
  return { session: s, owner, workspaceId: wid };
}

/** POST /auth/refresh: the token's session must be open and for the token's workspace. */
export const renew = internalMutation({
  args: { sid: v.string(), ownerId: v.string(), workspaceId: v.string() },
  returns: v.union(v.object({ ownerId: v.id("owners"), workspaceId: v.id("workspaces") }), v.null()),
  handler: async (ctx, a) => {
    const u = await usable(ctx, a.sid, a.ownerId, a.workspaceId);
    if (!u || u.session.workspaceId !== u.workspaceId) return null;
    await ctx.db.patch("ownerSessions", u.session._id, { lastSeenAt: Date.now() });
    return { ownerId: u.session.ownerId, workspaceId: u.workspaceId };
  },
});

/**
 * POST /auth/switch: moves the session to another workspace the person is an active member of. The
 * chosen workspace is checked here, once, and then travels only inside the signed token.
 */
export const switchTo = internalMutation({
  args: { sid: v.string(), ownerId: v.string(), fromWorkspaceId: v.string(), toWorkspaceId: v.string() },
  /** "session": the token's session is no longer usable (401); "membership": not an active member there (403) */
  returns: v.union(
    v.object({ ownerId: v.id("owners"), workspaceId: v.id("workspaces") }),
    v.literal("session"),
    v.literal("membership"),
  ),
  handler: async (ctx, a) => {
    const from = await usable(ctx, a.sid, a.ownerId, a.fromWorkspaceId);
    if (!from || from.session.workspaceId !== from.workspaceId) return "session" as const;
    const to = await usable(ctx, a.sid, a.ownerId, a.toWorkspaceId);
    if (!to) return "membership" as const;
    await ctx.db.patch("ownerSessions", to.session._id, { workspaceId: to.workspaceId, lastSeenAt: Date.now() });
    for (const workspaceId of new Set([from.workspaceId, to.workspaceId])) {
      await writeAudit(ctx, {
        workspaceId,
        actorId: to.owner._id,
        actorLabel: to.owner.ownerKey,
        action: "auth.switchWorkspace",
        target: String(to.workspaceId),
        before: { workspaceId: String(from.workspaceId) },
        after: { workspaceId: String(to.workspaceId) },
      });
    }
    return { ownerId: to.owner._id, workspaceId: to.workspaceId };
  },
});

/**
 * A signed-in person was refused by a built-in auth route (HTTP: no transaction to roll back). Recorded
 * in the workspace their verified token names when they are a member there, else deployment-wide.
 */
export const recordDenial = internalMutation({
  args: { ownerId: v.string(), workspaceId: v.string(), detail: v.string() },
  returns: v.null(),
  handler: async (ctx, a) => {
    const ownerId = ctx.db.normalizeId("owners", a.ownerId);
    const wid = ctx.db.normalizeId("workspaces", a.workspaceId);
    const owner = ownerId ? await ctx.db.get("owners", ownerId) : null;
    const m =
      owner && wid
        ? await ctx.db
            .query("memberships")
            .withIndex("by_owner_workspace", (q) => q.eq("ownerId", owner._id).eq("workspaceId", wid))
            .unique()
        : null;
    await recordSecurityEvent(ctx, {
      workspaceId: m ? m.workspaceId : undefined,
      code: "FORBIDDEN",
      category: "auth",
      source: `owner:${a.ownerId.slice(0, 64)}`,
      detail: `${a.detail.slice(0, 200)} by ${owner?.ownerKey ?? "unknown account"}`,
    });
    return null;
  },
});

/** Is this owner still active and an active member of this workspace? (kept for callers without a session) */
export const stillMember = internalQuery({
  args: { ownerId: v.string(), workspaceId: v.string() },
  returns: v.union(v.null(), v.object({ ownerId: v.id("owners"), workspaceId: v.id("workspaces") })),
  handler: async (ctx, args) => {
    const ownerId = ctx.db.normalizeId("owners", args.ownerId);
    const workspaceId = ctx.db.normalizeId("workspaces", args.workspaceId);
    if (!ownerId || !workspaceId) return null;
    const owner = await ctx.db.get("owners", ownerId);
    if (!owner || !owner.active) return null;
    const m = await ctx.db
      .query("memberships")
      .withIndex("by_owner_workspace", (q) => q.eq("ownerId", ownerId).eq("workspaceId", workspaceId))
      .unique();
    return m && m.active !== false ? { ownerId, workspaceId } : null;
  },
});
