/**
 * The first-run checklist on SyncBoard's overview, computed on the server from what exists: a model
 * provider (the offline one counts), an approved skill, an enabled channel, a live MCP client token
 * or OAuth client, and a reviewed tool grant. Every step is one bounded index read (at most 100
 * documents in all), so the overview can subscribe to it however large the workspace grows.
 */
import { v } from "convex/values";
import { viewerQuery } from "../access/builders";

const MAX_CHANNELS_READ = 50;
const MAX_TOKENS_READ = 40;

export const firstRun = viewerQuery({
  args: {},
  returns: v.object({
    done: v.boolean(),
    steps: v.array(v.object({ key: v.string(), done: v.boolean() })),
  }),
  handler: async (ctx) => {
    const ws = ctx.principal.workspaceId;
    const provider = await ctx.db
      .query("modelProviders")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
      .first();
    const skill = await ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_status", (q) => q.eq("workspaceId", ws).eq("status", "approved"))
      .first();
    const channels = await ctx.db
      .query("channelConfig")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
      .take(MAX_CHANNELS_READ);
    const now = Date.now();
    const tokens = await ctx.db
      .query("mcpClientTokens")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
      .order("desc")
      .take(MAX_TOKENS_READ);
    const grant = await ctx.db
      .query("toolGrants")
      .withIndex("by_workspace_tool", (q) => q.eq("workspaceId", ws))
      .first();
    const steps = [
      { key: "provider", done: provider !== null },
      { key: "skill", done: skill !== null },
      { key: "channel", done: channels.some((c) => c.enabled) },
      { key: "mcp", done: tokens.some((t) => t.revokedAt === undefined && t.expiresAt > now) },
      { key: "grant", done: grant !== null },
    ];
    return { done: steps.every((s) => s.done), steps };
  },
});
