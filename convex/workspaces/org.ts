/**
 * Clerk organizations as workspaces. A workspace may be linked to one Clerk organization; a Clerk user
 * whose token names that organization as active (`org_id`, or `o.id` in v2 session tokens) reaches that
 * workspace, with the role of their Warden membership there.
 *
 * Role mapping (decision): **Warden's own membership roles are the authority.** The Clerk org role is
 * used for two things only: linking from SyncBoard needs the caller to be an admin of the organization
 * they have active (proof they control it), and a just-in-time membership starts with
 * `jitRole(orgRole)`: Clerk `admin` → `admin`, every other org role → `viewer`, never `owner`. After
 * that, roles change only in Warden (Owners & roles); a later Clerk role change does not change them.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { ownerMutation, ownerQuery } from "../access/builders";
import { clerkOrgOf, fail } from "../access/principal";
import { writeAudit } from "../audit/log";
import { workspaceForOrg } from "./jit";

const ORG_ID = /^org_[A-Za-z0-9]{1,64}$/;

/** The caller's workspace link, and the organization their own token has active (Clerk sign-in only). */
export const status = ownerQuery({
  args: {},
  returns: v.object({
    clerkOrgId: v.union(v.string(), v.null()),
    jit: v.boolean(),
    activeOrg: v.union(
      v.object({ id: v.string(), role: v.union(v.string(), v.null()), linkedElsewhere: v.boolean() }),
      v.null(),
    ),
  }),
  handler: async (ctx) => {
    const ws = await ctx.db.get("workspaces", ctx.principal.workspaceId);
    const identity = await ctx.auth.getUserIdentity();
    const org = ctx.principal.provider === "clerk" ? clerkOrgOf(identity) : null;
    const other = org ? await workspaceForOrg(ctx, org.id) : null;
    return {
      clerkOrgId: ws?.clerkOrgId ?? null,
      jit: ws?.clerkOrgJit === true,
      activeOrg: org
        ? { id: org.id, role: org.role, linkedElsewhere: !!other && other._id !== ctx.principal.workspaceId }
        : null,
    };
  },
});

async function setLink(
  ctx: MutationCtx,
  workspaceId: Id<"workspaces">,
  clerkOrgId: string | null,
  actor: { actorId?: Id<"owners">; actorLabel: string },
) {
  const ws = await ctx.db.get("workspaces", workspaceId);
  if (!ws) fail("NOT_FOUND");
  if (clerkOrgId !== null) {
    if (!ORG_ID.test(clerkOrgId)) fail("ARGS_INVALID", { field: "clerkOrgId" });
    const other = await workspaceForOrg(ctx, clerkOrgId);
    if (other && other._id !== workspaceId) fail("ORG_ALREADY_LINKED");
  }
  const before = { clerkOrgId: ws.clerkOrgId ?? null, jit: ws.clerkOrgJit === true };
  // Unlinking also turns just-in-time membership off; a new link starts with it off.
  const jit = clerkOrgId !== null && clerkOrgId === ws.clerkOrgId ? ws.clerkOrgJit === true : false;
  await ctx.db.patch("workspaces", workspaceId, { clerkOrgId: clerkOrgId ?? undefined, clerkOrgJit: jit || undefined });
  await writeAudit(ctx, {
    workspaceId,
    ...actor,
    action: clerkOrgId ? "workspace.linkClerkOrg" : "workspace.unlinkClerkOrg",
    target: clerkOrgId ?? before.clerkOrgId ?? "",
    before,
    after: { clerkOrgId, jit },
  });
}

/**
 * SyncBoard: links the Clerk organization the caller has active to this workspace. The organization
 * comes from the caller's verified token, never from an argument, and they must be its admin there.
 */
export const linkActiveOrg = ownerMutation({
  args: {},
  returns: v.object({ clerkOrgId: v.string() }),
  handler: async (ctx) => {
    if (ctx.principal.provider !== "clerk") fail("ORG_NOT_ACTIVE");
    const org = clerkOrgOf(await ctx.auth.getUserIdentity());
    if (!org) fail("ORG_NOT_ACTIVE");
    if (org.role !== "admin") fail("ORG_ADMIN_REQUIRED");
    await setLink(ctx, ctx.principal.workspaceId, org.id, {
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
    });
    return { clerkOrgId: org.id };
  },
});

/** Removes this workspace's organization link (just-in-time memberships made through it stop working with it). */
export const unlinkOrg = ownerMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    await setLink(ctx, ctx.principal.workspaceId, null, {
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
    });
    return null;
  },
});

/** Turns just-in-time membership for members of the linked organization on or off (off by default). */
export const setJit = ownerMutation({
  args: { enabled: v.boolean() },
  returns: v.null(),
  handler: async (ctx, { enabled }) => {
    const ws = await ctx.db.get("workspaces", ctx.principal.workspaceId);
    if (!ws?.clerkOrgId) fail("ORG_NOT_LINKED");
    await ctx.db.patch("workspaces", ws._id, { clerkOrgJit: enabled || undefined });
    await writeAudit(ctx, {
      workspaceId: ws._id,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "workspace.setClerkOrgJit",
      target: ws.clerkOrgId,
      before: { jit: ws.clerkOrgJit === true },
      after: { jit: enabled },
    });
    return null;
  },
});

/**
 * Operator (owner CLI / `npx convex run workspaces/org:linkOrg`): link any organization id to a workspace
 * by slug (null unlinks), optionally setting just-in-time membership. Operator tier: no org-admin proof.
 */
export const linkOrg = internalMutation({
  args: { workspace: v.string(), clerkOrgId: v.union(v.string(), v.null()), jit: v.optional(v.boolean()) },
  returns: v.object({ workspaceId: v.id("workspaces"), clerkOrgId: v.union(v.string(), v.null()), jit: v.boolean() }),
  handler: async (ctx, { workspace, clerkOrgId, jit }) => {
    const ws = await ctx.db
      .query("workspaces")
      .withIndex("by_slug", (q) => q.eq("slug", workspace))
      .unique();
    if (!ws) fail("NOT_FOUND");
    return await operatorLink(ctx, ws._id, clerkOrgId, jit);
  },
});

/** Operator tier (linkOrg, and the owners file's `orgLinks` applied by owners/admin:syncOwners). */
export async function operatorLink(
  ctx: MutationCtx,
  workspaceId: Id<"workspaces">,
  clerkOrgId: string | null,
  jit?: boolean,
) {
  const ws = await ctx.db.get("workspaces", workspaceId);
  if (!ws) fail("NOT_FOUND");
  if ((ws.clerkOrgId ?? null) !== clerkOrgId) await setLink(ctx, workspaceId, clerkOrgId, { actorLabel: "operator" });
  if (jit !== undefined && jit !== ((await ctx.db.get("workspaces", workspaceId))!.clerkOrgJit === true)) {
    if (jit && !clerkOrgId) fail("ORG_NOT_LINKED");
    await ctx.db.patch("workspaces", workspaceId, { clerkOrgJit: jit || undefined });
    await writeAudit(ctx, {
      workspaceId,
      actorLabel: "operator",
      action: "workspace.setClerkOrgJit",
      target: clerkOrgId ?? "",
      after: { jit },
    });
  }
  const after = (await ctx.db.get("workspaces", workspaceId))!;
  return { workspaceId, clerkOrgId: after.clerkOrgId ?? null, jit: after.clerkOrgJit === true };
}
