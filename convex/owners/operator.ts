/**
 * The operator's view of people and memberships across the deployment (operator tier): internal only.
 * Embedded runtime: `npm run warden -- owners list`; Convex: `npx convex run owners/operator:list`.
 */
import { v } from "convex/values";
import { internalQuery } from "../_generated/server";
import { roleValidator } from "../workspaces/tables";

/** At most this many people are listed (the result says when there are more). */
const MAX_OWNERS = 500;
const MAX_MEMBERSHIPS_PER_OWNER = 50;

/** Every person with their memberships: no password hashes, no Clerk ids. */
export const list = internalQuery({
  args: {},
  returns: v.object({
    owners: v.array(
      v.object({
        ownerKey: v.string(),
        active: v.boolean(),
        hasPassword: v.boolean(),
        clerkLinked: v.boolean(),
        managedByFile: v.boolean(),
        memberships: v.array(v.object({ workspace: v.string(), role: roleValidator, active: v.boolean() })),
      }),
    ),
    more: v.boolean(),
  }),
  handler: async (ctx) => {
    const people = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey")
      .take(MAX_OWNERS + 1);
    const slugs = new Map<string, string>();
    const owners = [];
    for (const o of people.slice(0, MAX_OWNERS)) {
      const ms = await ctx.db
        .query("memberships")
        .withIndex("by_owner", (q) => q.eq("ownerId", o._id))
        .take(MAX_MEMBERSHIPS_PER_OWNER);
      const memberships = [];
      for (const m of ms) {
        let slug = slugs.get(m.workspaceId);
        if (slug === undefined) {
          slug = (await ctx.db.get("workspaces", m.workspaceId))?.slug ?? "(deleted)";
          slugs.set(m.workspaceId, slug);
        }
        memberships.push({ workspace: slug, role: m.role, active: m.active !== false });
      }
      owners.push({
        ownerKey: o.ownerKey,
        active: o.active,
        hasPassword: !!o.passwordHash,
        clerkLinked: !!o.clerkUserId,
        managedByFile: !!o.managedByFile,
        memberships,
      });
    }
    return { owners, more: people.length > MAX_OWNERS };
  },
});
