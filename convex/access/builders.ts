/**
 * Custom function builders. Every public function is built from one of these, so it
 * declares its access class and resolves the caller before its handler runs.
 */
import { ConvexError, v } from "convex/values";
import {
  customQuery,
  customMutation,
  customAction,
  customCtx,
} from "convex-helpers/server/customFunctions";
import { query, mutation, action } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc } from "../_generated/dataModel";
import { resolvePrincipal, fail, type Principal, type Role } from "./principal";
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
function memberMutation(min: Role) {
  return customMutation(
    mutation,
    customCtx(async (ctx) => ({ principal: await resolvePrincipal(ctx, min) })),
  );
}
function memberAction(min: Role) {
  return customAction(
    action,
    customCtx(async (ctx) => {
      try {
        const principal: Principal = await ctx.runQuery(internal.access.internal.principal, { min });
        return { principal };
      } catch (e) {
        // Actions are not transactions, so this denial can be recorded (a query or mutation's can't).
        if (e instanceof ConvexError && /"code":"FORBIDDEN"|^FORBIDDEN$/.test(typeof e.data === "string" ? e.data : JSON.stringify(e.data ?? null)))
          await ctx.runMutation(internal.security.edge.recordMemberDenial, { code: "FORBIDDEN", category: "access", detail: `action needs ${min}` });
        throw e;
      }
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
  if (typeof sessionToken !== "string" || sessionToken.length < 16 || sessionToken.length > 200) fail("SESSION_INVALID");
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
