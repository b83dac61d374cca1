/**
 * Just-in-time membership for members of a linked Clerk organization (workspaces/org.ts has the
 * role-mapping decision). Helpers only, no public functions: the access builders call it.
 */
import type { MutationCtx, QueryCtx } from "../_generated/server";
import { clerkOrgOf, fail, type Role } from "../access/principal";
import { providerForIssuer } from "../lib/authMode";
import { writeAudit } from "../audit/log";

const OWNER_KEY = /^[a-zA-Z0-9_.@-]{3,64}$/;

/** The role a just-in-time membership starts with (see the module comment). */
export function jitRole(orgRole: string | null): Exclude<Role, "owner"> {
  return orgRole?.replace(/^org:/, "") === "admin" ? "admin" : "viewer";
}

export async function workspaceForOrg(ctx: Pick<QueryCtx, "db">, clerkOrgId: string) {
  return await ctx.db
    .query("workspaces")
    .withIndex("by_clerkOrgId", (q) => q.eq("clerkOrgId", clerkOrgId))
    .unique();
}

/** A free owner key for a new Clerk person: their Clerk user id if it fits, else a prefixed, suffixed one. */
async function freeOwnerKey(ctx: MutationCtx, clerkUserId: string): Promise<string> {
  const base = OWNER_KEY.test(clerkUserId)
    ? clerkUserId
    : `clerk_${clerkUserId.replace(/[^a-zA-Z0-9_.@-]/g, "").slice(0, 40)}`;
  for (let i = 0; i < 5; i++) {
    const key = i === 0 ? base : `${base.slice(0, 56)}_${i}`;
    const taken = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", key))
      .unique();
    if (!taken) return key;
  }
  fail("FORBIDDEN");
}

/**
 * Just-in-time membership (off unless the workspace's owner turned it on): the caller's verified Clerk
 * token names a linked organization as active, and they have no membership in its workspace yet. Creates
 * the person (Clerk-only, no password) if needed and a `via: "clerkOrg"` membership with `jitRole`.
 * Never touches an existing membership (a deactivated one stays deactivated) or an inactive person.
 */
export async function joinLinkedOrg(ctx: MutationCtx): Promise<boolean> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity || providerForIssuer(identity.issuer, process.env) !== "clerk") return false;
  const org = clerkOrgOf(identity);
  if (!org) return false;
  const ws = await workspaceForOrg(ctx, org.id);
  if (!ws || ws.clerkOrgJit !== true) return false;
  const now = Date.now();
  let person = await ctx.db
    .query("owners")
    .withIndex("by_clerkUserId", (q) => q.eq("clerkUserId", identity.subject))
    .unique();
  if (person && !person.active) return false;
  if (!person) {
    const ownerKey = await freeOwnerKey(ctx, identity.subject);
    const email = typeof identity.email === "string" ? identity.email.slice(0, 200) : undefined;
    const id = await ctx.db.insert("owners", {
      ownerKey,
      clerkUserId: identity.subject,
      email,
      active: true,
      createdAt: now,
      updatedAt: now,
    });
    person = (await ctx.db.get("owners", id))!;
  }
  const existing = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", person._id).eq("workspaceId", ws._id))
    .unique();
  if (existing) return false;
  const role = jitRole(org.role);
  await ctx.db.insert("memberships", {
    ownerId: person._id,
    workspaceId: ws._id,
    role,
    active: true,
    via: "clerkOrg",
    createdAt: now,
  });
  await writeAudit(ctx, {
    workspaceId: ws._id,
    actorId: person._id,
    actorLabel: "clerk-org-jit",
    action: "membership.jit",
    target: person.ownerKey,
    after: { role, clerkOrgId: org.id, orgRole: org.role },
  });
  return true;
}
