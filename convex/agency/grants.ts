/**
 * Tool grants: for each approved skill and MCP tool, a policy per audience (deny / ask / allow)
 * and the owner-confirmed risk class. Everyone in the workspace can read the matrix; only owners
 * change it, and every change is audited.
 */
import { v } from "convex/values";
import { viewerQuery, ownerMutation } from "../access/builders";
import { fail } from "../access/principal";
import { writeAudit } from "../audit/log";
import {
  AUDIENCES,
  DEFAULT_MCP_RISK,
  DEFAULT_POLICY,
  defaultSkillRisk,
  suggestedMcpRisk,
  mcpToolRef,
  skillToolRef,
  type Audience,
} from "../lib/agency";
import { grantFor } from "./gate";
import { reachesNetwork } from "../security/checker";
import { audienceValidator, policyValidator, riskClassValidator } from "./tables";
import type { Doc } from "../_generated/dataModel";

const MAX_SKILLS = 200;
const MAX_SERVERS = 50;
const MAX_TOOLS_PER_SERVER = 50;

const policies = v.object({
  webVisitor: policyValidator,
  unknownSender: policyValidator,
  pairedSender: policyValidator,
  ownerSender: policyValidator,
});

const toolRow = v.object({
  toolRef: v.string(),
  kind: v.union(v.literal("skill"), v.literal("mcp")),
  label: v.string(),
  policies,
  /** audiences whose policy the owner set (others follow the defaults) */
  explicit: v.array(audienceValidator),
  riskClass: riskClassValidator,
  riskConfirmed: v.boolean(),
  /** from the MCP server's annotations: shown to the owner, never applied on its own */
  suggestedRisk: v.optional(riskClassValidator),
});

/** The grant matrix: every approved skill and approved MCP tool × every audience. */
export const list = viewerQuery({
  args: {},
  returns: v.object({ tools: v.array(toolRow), defaults: policies }),
  handler: async (ctx) => {
    const ws = ctx.principal.workspaceId;
    const tools = [];
    const skills = await ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_status", (q) => q.eq("workspaceId", ws).eq("status", "approved"))
      .take(MAX_SKILLS);
    const row = (
      toolRef: string,
      kind: "skill" | "mcp",
      label: string,
      grant: Doc<"toolGrants"> | null,
      fallbackRisk: "local" | "openWorld" | "sideEffect",
    ) => {
      const p = {} as Record<Audience, "deny" | "ask" | "allow">;
      const explicit: Audience[] = [];
      for (const a of AUDIENCES) {
        p[a] = grant?.[a] ?? DEFAULT_POLICY[a];
        if (grant?.[a] !== undefined) explicit.push(a);
      }
      return {
        toolRef,
        kind,
        label,
        policies: p,
        explicit,
        riskClass: grant?.riskClass ?? fallbackRisk,
        riskConfirmed: grant?.riskClass !== undefined,
      };
    };
    for (const s of skills) {
      const ref = skillToolRef(s.name);
      tools.push(row(ref, "skill", s.name, await grantFor(ctx, ws, ref), defaultSkillRisk(reachesNetwork(s))));
    }
    const servers = await ctx.db
      .query("mcpServers")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
      .take(MAX_SERVERS);
    for (const srv of servers) {
      if (srv.status !== "approved") continue;
      const mcpTools = await ctx.db
        .query("mcpTools")
        .withIndex("by_server", (q) => q.eq("serverId", srv._id))
        .take(MAX_TOOLS_PER_SERVER);
      for (const t of mcpTools) {
        if (t.status !== "approved") continue;
        const ref = mcpToolRef(srv._id, t.name);
        tools.push({
          ...row(ref, "mcp", `${srv.name}/${t.name}`, await grantFor(ctx, ws, ref), DEFAULT_MCP_RISK),
          suggestedRisk: suggestedMcpRisk(t.hints),
        });
      }
    }
    return { tools, defaults: { ...DEFAULT_POLICY } };
  },
});

/** Sets one audience's policy and/or the risk class of one tool. Owner-only, audited. */
export const set = ownerMutation({
  args: {
    toolRef: v.string(),
    audience: v.optional(audienceValidator),
    policy: v.optional(policyValidator),
    riskClass: v.optional(riskClassValidator),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    if ((a.audience === undefined) !== (a.policy === undefined)) fail("ARGS_INVALID", { field: "policy" });
    if (a.audience === undefined && a.riskClass === undefined) fail("ARGS_INVALID", { field: "policy" });
    const ws = ctx.principal.workspaceId;
    if (!(await toolExists(ctx, ws, a.toolRef))) fail("NOT_FOUND");
    const before = await grantFor(ctx, ws, a.toolRef);
    const patch = {
      ...(a.audience !== undefined ? { [a.audience]: a.policy } : {}),
      ...(a.riskClass !== undefined ? { riskClass: a.riskClass } : {}),
      updatedBy: ctx.principal.ownerId,
      updatedAt: Date.now(),
    };
    if (before) await ctx.db.patch("toolGrants", before._id, patch);
    else await ctx.db.insert("toolGrants", { workspaceId: ws, toolRef: a.toolRef, ...patch });
    await writeAudit(ctx, {
      workspaceId: ws,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "toolGrant.set",
      target: a.toolRef,
      before: before
        ? {
            [a.audience ?? "riskClass"]: a.audience
              ? (before[a.audience] ?? DEFAULT_POLICY[a.audience])
              : before.riskClass,
          }
        : undefined,
      after: { ...(a.audience ? { [a.audience]: a.policy } : {}), ...(a.riskClass ? { riskClass: a.riskClass } : {}) },
    });
    return null;
  },
});

/** A grant may be set only for a tool of this workspace (an approved skill or a tool of its MCP server). */
async function toolExists(
  ctx: Parameters<typeof grantFor>[0],
  ws: Doc<"workspaces">["_id"],
  toolRef: string,
): Promise<boolean> {
  if (toolRef.length > 300) return false;
  if (toolRef.startsWith("skill:")) {
    const name = toolRef.slice("skill:".length);
    const s = await ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", ws).eq("name", name))
      .first();
    return !!s;
  }
  const m = /^mcp:([^/]+)\/(.+)$/.exec(toolRef);
  if (!m) return false;
  const serverId = ctx.db.normalizeId("mcpServers", m[1]);
  const server = serverId ? await ctx.db.get("mcpServers", serverId) : null;
  if (!server || server.workspaceId !== ws) return false;
  const tool = await ctx.db
    .query("mcpTools")
    .withIndex("by_server_name", (q) => q.eq("serverId", server._id).eq("name", m[2]))
    .first();
  return !!tool;
}
