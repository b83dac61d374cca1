import { v } from "convex/values";
import { internalMutation, internalQuery } from "../_generated/server";
import { resolvePrincipal } from "./principal";
import { joinLinkedOrg as join } from "../workspaces/jit";
import { recordClerkSession } from "../owners/session";

/** Used by action builders: actions have no db, so membership is resolved in a query. */
export const principal = internalQuery({
  args: { min: v.union(v.literal("owner"), v.literal("admin"), v.literal("viewer")) },
  returns: v.object({
    ownerId: v.id("owners"),
    ownerKey: v.string(),
    workspaceId: v.id("workspaces"),
    role: v.union(v.literal("owner"), v.literal("admin"), v.literal("viewer")),
    provider: v.union(v.literal("clerk"), v.literal("builtin")),
    sessionId: v.optional(v.string()),
    sessionRecorded: v.optional(v.boolean()),
  }),
  handler: async (ctx, { min }) => resolvePrincipal(ctx, min),
});

/** Action builders: just-in-time membership for a member of a linked Clerk organization (caller's identity). */
export const joinLinkedOrg = internalMutation({
  args: {},
  returns: v.boolean(),
  handler: async (ctx) => join(ctx),
});

/** Action builders: the first action of a Clerk session records it (audit `auth.signin`). */
export const recordSession = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    await recordClerkSession(ctx, await resolvePrincipal(ctx, "viewer"));
    return null;
  },
});
