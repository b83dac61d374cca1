import { v } from "convex/values";
import { internalMutation } from "../_generated/server";
import { internal } from "../_generated/api";
import { ownerQuery, ownerMutation, ownerAction } from "../access/builders";
import { fail } from "../access/principal";
import { roleValidator } from "../workspaces/tables";
import { setMembership } from "../workspaces/lib";
import { writeAudit } from "../audit/log";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../lib/password";

/** Members of the caller's workspace (no hashes, no Clerk ids). */
export const list = ownerQuery({
  args: {},
  returns: v.array(
    v.object({ ownerId: v.id("owners"), ownerKey: v.string(), role: v.string(), active: v.boolean(), builtin: v.boolean() }),
  ),
  handler: async (ctx) => {
    const ms = await ctx.db
      .query("memberships")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(200);
    const out = [];
    for (const m of ms) {
      const o = await ctx.db.get(m.ownerId);
      if (o) out.push({ ownerId: o._id, ownerKey: o.ownerKey, role: m.role, active: o.active, builtin: !!o.passwordHash });
    }
    return out;
  },
});

async function memberOf(ctx: any, ownerId: any, workspaceId: any) {
  const m = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q: any) => q.eq("ownerId", ownerId).eq("workspaceId", workspaceId))
    .unique();
  if (!m) fail("FORBIDDEN"); // not a member of the caller's workspace
  return m;
}

export const setRole = ownerMutation({
  args: { ownerId: v.id("owners"), role: roleValidator },
  returns: v.null(),
  handler: async (ctx, { ownerId, role }) => {
    const m = await memberOf(ctx, ownerId, ctx.principal.workspaceId);
    if (ownerId === ctx.principal.ownerId && role !== "owner") fail("FORBIDDEN"); // cannot demote yourself
    await ctx.db.patch(m._id, { role });
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

export const setActive = ownerMutation({
  args: { ownerId: v.id("owners"), active: v.boolean() },
  returns: v.null(),
  handler: async (ctx, { ownerId, active }) => {
    await memberOf(ctx, ownerId, ctx.principal.workspaceId);
    if (ownerId === ctx.principal.ownerId && !active) fail("FORBIDDEN"); // cannot lock yourself out
    const o = await ctx.db.get(ownerId);
    if (!o) fail("NOT_FOUND");
    await ctx.db.patch(ownerId, { active, updatedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "owner.setActive",
      target: o.ownerKey,
      before: { active: o.active },
      after: { active },
    });
    return null;
  },
});

/** Invite (create) a built-in owner in this workspace, or reset an existing member's password. */
export const invite = ownerAction({
  args: { ownerKey: v.string(), password: v.string(), role: roleValidator },
  returns: v.null(),
  handler: async (ctx, { ownerKey, password, role }) => {
    if (!/^[a-zA-Z0-9_.@-]{3,64}$/.test(ownerKey)) fail("ARGS_INVALID", { field: "ownerKey" });
    if (password.length < MIN_PASSWORD_LENGTH || password.length > 1024) fail("ARGS_INVALID", { field: "password" });
    const passwordHash = await hashPassword(password);
    await ctx.runMutation(internal.owners.manage.applyInvite, {
      ownerKey,
      passwordHash,
      role,
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
    });
    return null;
  },
});

export const applyInvite = internalMutation({
  args: {
    ownerKey: v.string(),
    passwordHash: v.string(),
    role: roleValidator,
    workspaceId: v.id("workspaces"),
    actorId: v.id("owners"),
    actorLabel: v.string(),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const now = Date.now();
    const existing = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", a.ownerKey))
      .unique();
    let ownerId;
    if (existing) {
      // Only an owner who is already a member of this workspace can be changed from here.
      const m = await ctx.db
        .query("memberships")
        .withIndex("by_owner_workspace", (q) => q.eq("ownerId", existing._id).eq("workspaceId", a.workspaceId))
        .unique();
      if (!m) fail("FORBIDDEN");
      await ctx.db.patch(existing._id, { passwordHash: a.passwordHash, updatedAt: now });
      ownerId = existing._id;
    } else {
      ownerId = await ctx.db.insert("owners", {
        ownerKey: a.ownerKey,
        passwordHash: a.passwordHash,
        active: true,
        createdAt: now,
        updatedAt: now,
      });
    }
    await setMembership(ctx, ownerId, a.workspaceId, a.role);
    await writeAudit(ctx, {
      workspaceId: a.workspaceId,
      actorId: a.actorId,
      actorLabel: a.actorLabel,
      action: existing ? "owner.resetPassword" : "owner.invite",
      target: a.ownerKey,
      after: { role: a.role },
    });
    return null;
  },
});
