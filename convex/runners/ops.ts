/** Workspace-scoped operations a runner token may call (the workspace comes from its grant, never from the request). */
import { v } from "convex/values";
import { internalMutation, internalQuery } from "../_generated/server";
import { roleValidator } from "../workspaces/tables";
import { syncOneWorkspace } from "../skills/codeSync";
import { writeAudit } from "../audit/log";

const MAX_MEMBERS = 200;

/** `owners.read`: the workspace's members, roles and states (no hashes, no Clerk ids). */
export const members = internalQuery({
  args: { workspaceId: v.id("workspaces") },
  returns: v.object({
    members: v.array(v.object({ ownerKey: v.string(), role: roleValidator, active: v.boolean() })),
    more: v.boolean(),
  }),
  handler: async (ctx, { workspaceId }) => {
    const ms = await ctx.db
      .query("memberships")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", workspaceId))
      .take(MAX_MEMBERS + 1);
    const out = [];
    for (const m of ms.slice(0, MAX_MEMBERS)) {
      const o = await ctx.db.get("owners", m.ownerId);
      if (o) out.push({ ownerKey: o.ownerKey, role: m.role, active: o.active && m.active !== false });
    }
    return { members: out, more: ms.length > MAX_MEMBERS };
  },
});

/** `skills.sync`: the deployed code skills into this workspace (new/changed → pending; an owner still approves). */
export const syncSkills = internalMutation({
  args: { workspaceId: v.id("workspaces"), runner: v.string() },
  returns: v.object({
    created: v.number(),
    updated: v.number(),
    unchanged: v.number(),
    disabled: v.number(),
    invalid: v.number(),
    conflicts: v.number(),
  }),
  handler: async (ctx, { workspaceId, runner }) => {
    const counts = await syncOneWorkspace(ctx, workspaceId);
    await writeAudit(ctx, {
      workspaceId,
      actorLabel: `runner:${runner}`,
      action: "runner.skillsSynced",
      after: counts,
    });
    return counts;
  },
});
