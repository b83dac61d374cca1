/**
 * What approving an external MCP server allows, for SyncBoard's confirmation: the one host it will
 * contact, the auth header (its value is a secret, named only), the limits (its own or the workspace
 * default), that the first listing approves every tool it finds, and whether the two-person rule
 * stops the caller approving it (workspaces/policy).
 */
import { v } from "convex/values";
import { viewerQuery } from "../../access/builders";
import { getOwned } from "../../access/principal";
import { effectiveLimit } from "../../limits/enforce";
import { twoPersonRuleOn } from "../../workspaces/policy";
import { findSecret } from "../../secrets/store";

export const approvalInfo = viewerQuery({
  args: { serverId: v.id("mcpServers") },
  returns: v.object({
    name: v.string(),
    url: v.string(),
    host: v.string(),
    authHeaderName: v.union(v.string(), v.null()),
    /** whether the AUTH_HEADER secret has a value (never the value) */
    authSecretSet: v.boolean(),
    rate: v.object({ perMinute: v.number(), source: v.union(v.literal("server"), v.literal("workspace")) }),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
    twoPersonRule: v.boolean(),
    registeredBy: v.union(v.string(), v.null()),
    selfApproval: v.boolean(),
  }),
  handler: async (ctx, { serverId }) => {
    const s = await getOwned(await ctx.db.get("mcpServers", serverId), ctx.principal);
    const ws = ctx.principal.workspaceId;
    const rule = await twoPersonRuleOn(ctx, ws);
    let rate: { perMinute: number; source: "server" | "workspace" };
    if (s.rateLimitPerMinute) rate = { perMinute: s.rateLimitPerMinute, source: "server" };
    else {
      const l = await effectiveLimit(ctx, ws, "mcpPerServer");
      rate = { perMinute: Math.round((l.rate * 60_000) / l.periodMs), source: "workspace" };
    }
    // presence only, through the secrets domain (never the value)
    const secret = await findSecret(ctx.db, "mcpServerSecrets", s._id, "AUTH_HEADER");
    const by = s.registeredBy ? await ctx.db.get("owners", s.registeredBy) : null;
    let host = "";
    try {
      host = new URL(s.url).host;
    } catch {
      host = s.url;
    }
    return {
      name: s.name,
      url: s.url,
      host,
      authHeaderName: s.authHeaderName ?? null,
      authSecretSet: secret !== null,
      rate,
      timeoutMs: s.timeoutMs,
      maxOutputBytes: s.maxOutputBytes,
      twoPersonRule: rule,
      registeredBy: by ? by.displayName?.trim() || by.ownerKey : null,
      selfApproval: rule && s.registeredBy === ctx.principal.ownerId,
    };
  },
});
