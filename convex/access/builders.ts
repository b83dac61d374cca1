/**
 * Custom function builders. Every public function is built from one of these, so it
 * declares its access class and resolves the caller before its handler runs.
 */
import { v } from "convex/values";
import { customQuery, customMutation, customAction, customCtx } from "convex-helpers/server/customFunctions";
import { query, mutation, action, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc } from "../_generated/dataModel";
import { resolvePrincipal, fail, type Principal, type Role } from "./principal";
import { errorCode, isMemberDenial } from "./http";
import { joinLinkedOrg } from "../workspaces/jit";
import { recordClerkSession } from "../owners/session";
import { tagAccess, type AccessClass } from "./classes";
import { sha256Hex } from "../lib/tokens";
import { tooManyIds } from "../lib/idCap";

function tagged<B extends (def: any) => any>(builder: B, access: AccessClass): B {
  return ((def: any) => tagAccess(builder(capIds(def)), access)) as B;
}

/** Seed 001: an array-of-ids argument holding more than MAX_IDS_PER_ARG fails with TOO_MANY_IDS. */
function capIds(def: any) {
  if (typeof def !== "object" || !def?.args) return def;
  return {
    ...def,
    handler: (ctx: unknown, args: unknown) => {
      if (tooManyIds(def.args, args)) fail("TOO_MANY_IDS");
      return def.handler(ctx, args);
    },
  };
}

function memberQuery(min: Role) {
  return customQuery(
    query,
    customCtx(async (ctx) => ({ principal: await resolvePrincipal(ctx, min) })),
  );
}
/**
 * Mutations may write, so two things happen here: a member of a linked Clerk organization with
 * just-in-time membership on gets their membership (workspaces/org.ts), and the first mutation of a
 * Clerk session records it (audit `auth.signin`). A denial here cannot be recorded: the throw rolls the
 * transaction back (actions and HTTP routes record theirs, below and in http.ts).
 */
function memberMutation(min: Role) {
  return customMutation(
    mutation,
    customCtx(async (ctx) => {
      let principal: Principal;
      try {
        principal = await resolvePrincipal(ctx, min);
      } catch (e) {
        if (errorCode(e) !== "FORBIDDEN" || !(await joinLinkedOrg(ctx))) throw e;
        principal = await resolvePrincipal(ctx, min);
      }
      await recordClerkSession(ctx, principal);
      return { principal };
    }),
  );
}

/** Actions are not transactions, so a denial of a signed-in caller is recorded before it is rethrown. */
async function actionPrincipal(ctx: ActionCtx, min: Role): Promise<Principal> {
  const resolve = (): Promise<Principal> => ctx.runQuery(internal.access.internal.principal, { min });
  try {
    try {
      return await resolve();
    } catch (e) {
      if (errorCode(e) === "FORBIDDEN" && (await ctx.runMutation(internal.access.internal.joinLinkedOrg, {})))
        return await resolve();
      throw e;
    }
  } catch (e) {
    const code = errorCode(e);
    if (isMemberDenial(code))
      await ctx.runMutation(internal.security.edge.recordMemberDenial, {
        code,
        category: "access",
        detail: `action needs ${min}`,
      });
    throw e;
  }
}

function memberAction(min: Role) {
  return customAction(
    action,
    customCtx(async (ctx) => {
      const principal = await actionPrincipal(ctx, min);
      if (principal.provider === "clerk" && !principal.sessionRecorded)
        await ctx.runMutation(internal.access.internal.recordSession, {});
      return { principal };
    }),
  );
}

export const viewerQuery = tagged(memberQuery("viewer"), "viewer");
export const adminQuery = tagged(memberQuery("admin"), "admin");
export const ownerQuery = tagged(memberQuery("owner"), "owner");
export const viewerMutation = tagged(memberMutation("viewer"), "viewer");
export const adminMutation = tagged(memberMutation("admin"), "admin");
export const ownerMutation = tagged(memberMutation("owner"), "owner");
export const viewerAction = tagged(memberAction("viewer"), "viewer");
export const adminAction = tagged(memberAction("admin"), "admin");
export const ownerAction = tagged(memberAction("owner"), "owner");

/** Anonymous public-chat callers present their session token on every call. */
async function resolveSession(ctx: { db: any }, sessionToken: string): Promise<Doc<"chatSessions">> {
  if (typeof sessionToken !== "string" || sessionToken.length < 16 || sessionToken.length > 200)
    fail("SESSION_INVALID");
  const tokenHash = await sha256Hex(sessionToken);
  const session: Doc<"chatSessions"> | null = await ctx.db
    .query("chatSessions")
    .withIndex("by_tokenHash", (q: any) => q.eq("tokenHash", tokenHash))
    .unique();
  if (!session || session.revokedAt !== undefined || session.blocked || session.expiresAt <= Date.now()) {
    fail("SESSION_INVALID");
  }
  return session;
}

export const sessionQuery = tagged(
  customQuery(query, {
    args: { sessionToken: v.string() },
    input: async (ctx, { sessionToken }) => ({ ctx: { session: await resolveSession(ctx, sessionToken) }, args: {} }),
  }),
  "session",
);
export const sessionMutation = tagged(
  customMutation(mutation, {
    args: { sessionToken: v.string() },
    input: async (ctx, { sessionToken }) => ({ ctx: { session: await resolveSession(ctx, sessionToken) }, args: {} }),
  }),
  "session",
);

/** Deliberately unauthenticated; must be on the README's public list. */
export const publicQuery = tagged(query, "none");
export const publicMutation = tagged(mutation, "none");
export const publicAction = tagged(action, "none");
