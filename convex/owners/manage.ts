/**
 * Memberships of the caller's workspace, managed by its owners. A workspace owner changes roles and
 * memberships here, never another person: no password, no global active flag, no other workspace.
 */
import { v } from "convex/values";
import type { MutationCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { ownerQuery, ownerMutation } from "../access/builders";
import { fail } from "../access/principal";
import { roleValidator } from "../workspaces/tables";
import { requireActiveOwner } from "../workspaces/lib";
import { writeAudit } from "../audit/log";
import { endMembershipSessions } from "./session";
import { newSetPasswordCode, hashSetPasswordCode, SET_PASSWORD_CODE_TTL_MS } from "../lib/setPasswordCode";

const OWNER_KEY = /^[a-zA-Z0-9_.@-]{3,64}$/;

/** Members of the caller's workspace (no hashes, no Clerk ids). */
export const list = ownerQuery({
  args: {},
  returns: v.array(
    v.object({
      ownerId: v.id("owners"),
      ownerKey: v.string(),
      role: v.string(),
      /** the membership in this workspace */
      active: v.boolean(),
      /** the person's account (operator-managed) */
      personActive: v.boolean(),
      builtin: v.boolean(),
      /** invited, no password set yet */
      invitePending: v.boolean(),
    }),
  ),
  handler: async (ctx) => {
    const ms = await ctx.db
      .query("memberships")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(200);
    const out = [];
    for (const m of ms) {
      const o = await ctx.db.get("owners", m.ownerId);
      if (!o) continue;
      out.push({
        ownerId: o._id,
        ownerKey: o.ownerKey,
        role: m.role,
        active: m.active !== false,
        personActive: o.active,
        builtin: !!o.passwordHash,
        invitePending: !o.passwordHash && !o.clerkUserId,
      });
    }
    return out;
  },
});

async function memberOf(ctx: MutationCtx, ownerId: Id<"owners">, workspaceId: Id<"workspaces">) {
  const m = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", ownerId).eq("workspaceId", workspaceId))
    .unique();
  if (!m) fail("FORBIDDEN"); // not a member of the caller's workspace
  return m;
}

async function keyOf(ctx: MutationCtx, ownerId: Id<"owners">): Promise<string> {
  return (await ctx.db.get("owners", ownerId))?.ownerKey ?? String(ownerId);
}

export const setRole = ownerMutation({
  args: { ownerId: v.id("owners"), role: roleValidator },
  returns: v.null(),
  handler: async (ctx, { ownerId, role }) => {
    const m = await memberOf(ctx, ownerId, ctx.principal.workspaceId);
    if (ownerId === ctx.principal.ownerId && role !== "owner") fail("FORBIDDEN"); // cannot demote yourself
    await ctx.db.patch("memberships", m._id, { role });
    await requireActiveOwner(ctx, ctx.principal.workspaceId);
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "owner.setRole",
      target: String(ownerId),
      before: { role: m.role },
      after: { role },
    });
    return null;
  },
});

/** Deactivates or reactivates a membership of this workspace (the person's account is untouched). */
export const setActive = ownerMutation({
  args: { ownerId: v.id("owners"), active: v.boolean() },
  returns: v.null(),
  handler: async (ctx, { ownerId, active }) => {
    const m = await memberOf(ctx, ownerId, ctx.principal.workspaceId);
    if (ownerId === ctx.principal.ownerId && !active) fail("FORBIDDEN"); // cannot lock yourself out
    await ctx.db.patch("memberships", m._id, { active });
    await requireActiveOwner(ctx, ctx.principal.workspaceId);
    // Their sessions in this workspace end at once (their sessions elsewhere are untouched).
    const endedSessions = active
      ? 0
      : await endMembershipSessions(ctx, ownerId, ctx.principal.workspaceId, "membership_inactive");
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "membership.setActive",
      target: await keyOf(ctx, ownerId),
      before: { active: m.active !== false },
      after: { active, endedSessions },
    });
    return null;
  },
});

/** Removes someone's membership of this workspace (and any set-password code this workspace issued them). */
export const remove = ownerMutation({
  args: { ownerId: v.id("owners") },
  returns: v.null(),
  handler: async (ctx, { ownerId }) => {
    const m = await memberOf(ctx, ownerId, ctx.principal.workspaceId);
    if (ownerId === ctx.principal.ownerId) fail("FORBIDDEN"); // cannot remove yourself
    await ctx.db.delete("memberships", m._id);
    await requireActiveOwner(ctx, ctx.principal.workspaceId);
    await endMembershipSessions(ctx, ownerId, ctx.principal.workspaceId, "membership_removed");
    const codes = await ctx.db
      .query("passwordSetCodes")
      .withIndex("by_owner", (q) => q.eq("ownerId", ownerId))
      .take(20);
    for (const c of codes)
      if (c.workspaceId === ctx.principal.workspaceId) await ctx.db.delete("passwordSetCodes", c._id);
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "membership.remove",
      target: await keyOf(ctx, ownerId),
      before: { role: m.role, active: m.active !== false },
    });
    return null;
  },
});

/**
 * A new person whose only way in is this workspace: no password, no Clerk user, not from the
 * owners file, no membership elsewhere. Only then may this workspace issue them a set-password code.
 */
async function pendingOnlyHere(
  ctx: MutationCtx,
  person: Doc<"owners">,
  workspaceId: Id<"workspaces">,
): Promise<boolean> {
  if (person.passwordHash || person.clerkUserId || person.managedByFile) return false;
  const ms = await ctx.db
    .query("memberships")
    .withIndex("by_owner", (q) => q.eq("ownerId", person._id))
    .take(2);
  return ms.every((m) => m.workspaceId === workspaceId);
}

/** Replaces the person's set-password codes with a new one; the code itself is returned once, never stored. */
async function issueCode(
  ctx: MutationCtx,
  ownerId: Id<"owners">,
  workspaceId: Id<"workspaces">,
  createdBy: Id<"owners">,
) {
  const old = await ctx.db
    .query("passwordSetCodes")
    .withIndex("by_owner", (q) => q.eq("ownerId", ownerId))
    .take(20);
  for (const c of old) await ctx.db.delete("passwordSetCodes", c._id);
  const code = newSetPasswordCode();
  const expiresAt = Date.now() + SET_PASSWORD_CODE_TTL_MS;
  await ctx.db.insert("passwordSetCodes", {
    ownerId,
    workspaceId,
    codeHash: await hashSetPasswordCode(code),
    createdBy,
    expiresAt,
  });
  return { code, expiresAt };
}

/**
 * Invite by owner key. A new person is created without a password and gets a one-time set-password
 * code (shown once to the inviter). An existing person only gains a membership here: their password,
 * account and other workspaces are never touched. Inviting a pending invitee again replaces their code.
 */
export const invite = ownerMutation({
  args: { ownerKey: v.string(), role: roleValidator },
  returns: v.object({
    outcome: v.union(v.literal("created"), v.literal("added"), v.literal("codeReissued")),
    code: v.union(v.string(), v.null()),
    expiresAt: v.union(v.number(), v.null()),
  }),
  handler: async (ctx, { ownerKey, role }) => {
    if (!OWNER_KEY.test(ownerKey)) fail("ARGS_INVALID", { field: "ownerKey" });
    const workspaceId = ctx.principal.workspaceId;
    const now = Date.now();
    const audit = (action: string, after?: unknown) =>
      writeAudit(ctx, {
        workspaceId,
        actorId: ctx.principal.ownerId,
        actorLabel: ctx.principal.ownerKey,
        action,
        target: ownerKey,
        after,
      });

    const person = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", ownerKey))
      .unique();
    if (!person) {
      const ownerId = await ctx.db.insert("owners", { ownerKey, active: true, createdAt: now, updatedAt: now });
      await ctx.db.insert("memberships", { ownerId, workspaceId, role, active: true, createdAt: now });
      const issued = await issueCode(ctx, ownerId, workspaceId, ctx.principal.ownerId);
      await requireActiveOwner(ctx, workspaceId);
      await audit("owner.invite", { role });
      return { outcome: "created" as const, ...issued };
    }
    const m = await ctx.db
      .query("memberships")
      .withIndex("by_owner_workspace", (q) => q.eq("ownerId", person._id).eq("workspaceId", workspaceId))
      .unique();
    if (!m) {
      await ctx.db.insert("memberships", { ownerId: person._id, workspaceId, role, active: true, createdAt: now });
      await requireActiveOwner(ctx, workspaceId);
      await audit("membership.add", { role });
      return { outcome: "added" as const, code: null, expiresAt: null };
    }
    // Already a member: roles change through setRole only (an invite never demotes anyone).
    if (!(await pendingOnlyHere(ctx, person, workspaceId))) fail("ALREADY_MEMBER");
    const issued = await issueCode(ctx, person._id, workspaceId, ctx.principal.ownerId);
    await requireActiveOwner(ctx, workspaceId);
    await audit("owner.reinvite");
    return { outcome: "codeReissued" as const, ...issued };
  },
});
