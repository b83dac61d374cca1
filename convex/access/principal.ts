import { ConvexError } from "convex/values";
import type { QueryCtx } from "../_generated/server";
import type { Id, Doc } from "../_generated/dataModel";
import { providerForIssuer } from "../lib/authMode";
import type { Code } from "../lib/codes";

export type Role = "owner" | "admin" | "viewer";
const RANK: Record<Role, number> = { viewer: 1, admin: 2, owner: 3 };

export type Principal = {
  ownerId: Id<"owners">;
  ownerKey: string;
  workspaceId: Id<"workspaces">;
  role: Role;
  provider: "clerk" | "builtin";
  /** the session the token belongs to (built-in `sid`, Clerk `sid`), when the token names one */
  sessionId?: string;
  /** Clerk only: false until the first mutation/action of this Clerk session records it (audit: auth.signin) */
  sessionRecorded?: boolean;
};

type Claims = Record<string, unknown>;

/**
 * The active Clerk organization of a verified Clerk identity, in either token shape:
 * v1 / JWT templates: `org_id`, `org_role` ("org:admin"); v2 session tokens: `o: { id, rol }` ("admin"),
 * which a custom-JWT mapping flattens to `o.id` / `o.rol`. The role is returned without the "org:" prefix.
 */
export function clerkOrgOf(identity: unknown): { id: string; role: string | null } | null {
  const c = identity as Claims;
  const o = c.o && typeof c.o === "object" && !Array.isArray(c.o) ? (c.o as Claims) : null;
  const id = o?.id ?? c["o.id"] ?? c.org_id;
  if (typeof id !== "string" || !/^org_[A-Za-z0-9]{1,64}$/.test(id)) return null;
  const rawRole = o ? o.rol : (c["o.rol"] ?? c.org_role);
  const role = typeof rawRole === "string" ? rawRole.replace(/^org:/, "").slice(0, 64) : null;
  return { id, role };
}

/** The session id a verified token names (`sid`: ours for built-in tokens, Clerk's session id for Clerk). */
export function sessionIdOf(identity: unknown): string | null {
  const sid = (identity as Claims).sid;
  return typeof sid === "string" && sid.length >= 8 && sid.length <= 128 ? sid : null;
}

/** Throws a caller-visible error; `code` must be in the catalogue (a typo fails tsc). */
export function fail(code: Code, extra?: Record<string, unknown>): never {
  throw new ConvexError({ code, ...extra });
}

export function roleAtLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

/**
 * identity → owner → session → workspace membership → role. Fails closed on every step.
 * The workspace comes only from verified claims (built-in `wid`, Clerk `org_id` / `o.id`), never from
 * arguments. A session that was ended (sign-out, revoked, membership deactivated, password changed)
 * refuses every call at once (SESSION_ENDED), not only its next refresh.
 */
export async function resolvePrincipal(ctx: Pick<QueryCtx, "auth" | "db">, min: Role): Promise<Principal> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) fail("UNAUTHENTICATED");
  const provider = providerForIssuer(identity.issuer, process.env);
  if (!provider) fail("UNAUTHENTICATED");

  let owner: Doc<"owners"> | null = null;
  if (provider === "builtin") {
    const id = ctx.db.normalizeId("owners", identity.subject);
    owner = id ? await ctx.db.get("owners", id) : null;
  } else {
    owner = await ctx.db
      .query("owners")
      .withIndex("by_clerkUserId", (q) => q.eq("clerkUserId", identity.subject))
      .unique();
  }
  if (!owner) fail("FORBIDDEN");
  if (!owner.active) fail("OWNER_INACTIVE");

  const sid = sessionIdOf(identity);
  const session = sid
    ? await ctx.db
        .query("ownerSessions")
        .withIndex("by_sid", (q) => q.eq("sid", sid))
        .unique()
    : null;
  if (session && (session.endedAt !== undefined || session.ownerId !== owner._id || session.provider !== provider))
    fail("SESSION_ENDED");
  // Built-in tokens name their session; a token whose session row is gone is refused. (Tokens from before
  // sessions existed carry no sid: accepted until they expire, ≤15 min, and never refreshed.)
  if (provider === "builtin" && sid && !session) fail("SESSION_ENDED");

  let workspaceId: Id<"workspaces"> | null = null;
  let viaOrg = false;
  if (provider === "builtin") {
    const wid = (identity as Claims).wid;
    workspaceId = typeof wid === "string" ? ctx.db.normalizeId("workspaces", wid) : null;
  } else {
    const org = clerkOrgOf(identity);
    const ws = org
      ? await ctx.db
          .query("workspaces")
          .withIndex("by_clerkOrgId", (q) => q.eq("clerkOrgId", org.id))
          .unique()
      : null;
    if (ws) {
      workspaceId = ws._id;
      viaOrg = true;
    } else {
      // No active organization, or one no workspace is linked to: allowed only if the owner belongs to exactly one workspace.
      const ms = await ctx.db
        .query("memberships")
        .withIndex("by_owner", (q) => q.eq("ownerId", owner._id))
        .take(2);
      workspaceId = ms.length === 1 ? ms[0].workspaceId : null;
    }
  }
  if (!workspaceId) fail("FORBIDDEN");

  const membership = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", owner._id).eq("workspaceId", workspaceId))
    .unique();
  if (!membership) fail("FORBIDDEN");
  // A just-in-time membership exists because of the organization: it works only with that organization active.
  if (membership.via === "clerkOrg" && !viaOrg) fail("FORBIDDEN");
  if (membership.active === false) fail("MEMBERSHIP_INACTIVE");
  if (!roleAtLeast(membership.role, min)) fail("FORBIDDEN");

  return {
    ownerId: owner._id,
    ownerKey: owner.ownerKey,
    workspaceId,
    role: membership.role,
    provider,
    ...(sid ? { sessionId: sid } : {}),
    ...(provider === "clerk"
      ? { sessionRecorded: !sid || (session !== null && session.workspaceId === workspaceId) }
      : {}),
  };
}

/** Loads a workspace-owned document and checks it belongs to the caller's workspace. */
export async function getOwned<T extends { workspaceId: Id<"workspaces"> }>(
  doc: T | null,
  principal: { workspaceId: Id<"workspaces"> },
): Promise<T> {
  if (!doc) fail("NOT_FOUND");
  if (doc.workspaceId !== principal.workspaceId) fail("FORBIDDEN");
  return doc;
}
