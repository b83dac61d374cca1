/**
 * Review policy per workspace: the optional two-person rule. When it is on, the person who created
 * or last changed what a reviewer judges (a skill's config, domains, secrets, limits; an MCP server
 * registration) cannot approve it — someone else with admin rights must. Only a workspace owner
 * turns the rule on or off; both are audited. The approve mutations enforce it (skills/registry,
 * mcp/outbound/servers) and record every refusal (audit `*.approve.refused` + security event TWO_PERSON_RULE).
 *
 * Changes without a person behind them — a deploy registering or changing a code skill, an upstream
 * MCP server changing a tool — have no "editor" inside the workspace, so any admin may approve them.
 */
import { v } from "convex/values";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { viewerQuery, ownerMutation } from "../access/builders";
import { writeAudit } from "../audit/log";
import { recordSecurityEvent } from "../security/events";
import type { Principal } from "../access/principal";

export async function twoPersonRuleOn(ctx: QueryCtx | MutationCtx, workspaceId: Id<"workspaces">): Promise<boolean> {
  return (await ctx.db.get("workspaces", workspaceId))?.twoPersonRule === true;
}

/** True when the rule is on and the approver is the person who made the change. */
export async function isSelfApproval(
  ctx: QueryCtx | MutationCtx,
  p: Principal,
  editorId: Id<"owners"> | undefined,
): Promise<boolean> {
  return editorId !== undefined && editorId === p.ownerId && (await twoPersonRuleOn(ctx, p.workspaceId));
}

/** Records a refused self-approval (the caller returns the refusal instead of throwing, so this stays). */
export async function recordSelfApproval(
  ctx: MutationCtx,
  p: Principal,
  action: string,
  target: string,
  category: "skill" | "mcp",
) {
  await writeAudit(ctx, {
    workspaceId: p.workspaceId,
    actorId: p.ownerId,
    actorLabel: p.ownerKey,
    action: `${action}.refused`,
    target,
    after: { code: "TWO_PERSON_RULE", reason: "the approver made the change" },
  });
  await recordSecurityEvent(ctx, {
    workspaceId: p.workspaceId,
    code: "TWO_PERSON_RULE",
    category,
    source: `owner:${p.ownerId}`,
    detail: `${action} ${target}: refused, same person made the change`,
  });
}

export const get = viewerQuery({
  args: {},
  returns: v.object({ twoPersonRule: v.boolean(), approvers: v.number() }),
  handler: async (ctx) => {
    const ws = ctx.principal.workspaceId;
    // Approvers = active owners and admins (bounded: a workspace has a handful of members).
    const ms = await ctx.db
      .query("memberships")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
      .take(200);
    const approvers = ms.filter((m) => m.active !== false && (m.role === "owner" || m.role === "admin")).length;
    return { twoPersonRule: await twoPersonRuleOn(ctx, ws), approvers };
  },
});

export const setTwoPersonRule = ownerMutation({
  args: { on: v.boolean() },
  returns: v.null(),
  handler: async (ctx, { on }) => {
    const p = ctx.principal;
    const before = await twoPersonRuleOn(ctx, p.workspaceId);
    if (before !== on) await ctx.db.patch("workspaces", p.workspaceId, { twoPersonRule: on });
    await writeAudit(ctx, {
      workspaceId: p.workspaceId,
      actorId: p.ownerId,
      actorLabel: p.ownerKey,
      action: "workspace.twoPersonRule",
      before: { twoPersonRule: before },
      after: { twoPersonRule: on },
    });
    return null;
  },
});
