import { v } from "convex/values";
import { publicQuery } from "../access/builders";
import { resolvePrincipal } from "../access/principal";
import { providerForIssuer } from "../lib/authMode";

/** Signed in or not, which provider, which workspace and role — nothing more. */
export const get = publicQuery({
  args: {},
  returns: v.object({
    signedIn: v.boolean(),
    provider: v.union(v.literal("clerk"), v.literal("builtin"), v.null()),
    workspaceId: v.union(v.id("workspaces"), v.null()),
    role: v.union(v.literal("owner"), v.literal("admin"), v.literal("viewer"), v.null()),
  }),
  handler: async (ctx) => {
    const identity = await ctx.auth.getUserIdentity();
    const none = { signedIn: false, provider: null, workspaceId: null, role: null } as const;
    if (!identity) return none;
    const provider = providerForIssuer(identity.issuer, process.env);
    if (!provider) return none;
    try {
      const p = await resolvePrincipal(ctx, "viewer");
      return { signedIn: true, provider: p.provider, workspaceId: p.workspaceId, role: p.role };
    } catch {
      return { signedIn: false, provider, workspaceId: null, role: null };
    }
  },
});
