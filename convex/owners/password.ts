/**
 * Person-tier password changes. Only the person changes their password: with their current one
 * (`change`), or once, as an invitee, with the set-password code an owner was shown (`POST /auth/set-password`).
 * The operator's CLI (owners file) is the only other way. Both paths share the sign-in failure budgets,
 * which are consumed before any password hashing and refunded on success.
 */
import { v } from "convex/values";
import { z } from "zod";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { viewerAction } from "../access/builders";
import { fail } from "../access/principal";
import { endpoint } from "../access/http";
import { errorResponse, jsonResponse } from "../lib/httpSecurity";
import { enforceLimit, refundLimit } from "../limits/enforce";
import { recordSecurityEvent } from "../security/events";
import { writeAudit } from "../audit/log";
import { authModeFrom } from "../lib/authMode";
import { accountLimitKey, ipLimitKey } from "./signin";
import { endPersonSessions } from "./session";
import { hashPassword, verifyPassword, passwordLengthOk, MAX_PASSWORD_LENGTH } from "../lib/password";
import { hashSetPasswordCode, looksLikeSetPasswordCode, setPasswordCodeUsable } from "../lib/setPasswordCode";

/** Deletes the person's set-password codes (except `keep`). */
async function dropCodes(ctx: MutationCtx, ownerId: Id<"owners">, keep?: Id<"passwordSetCodes">) {
  const codes = await ctx.db
    .query("passwordSetCodes")
    .withIndex("by_owner", (q) => q.eq("ownerId", ownerId))
    .take(20);
  for (const c of codes) if (c._id !== keep) await ctx.db.delete("passwordSetCodes", c._id);
}

// ---- change my password (signed in, current password required) ----

export const change = viewerAction({
  args: { currentPassword: v.string(), newPassword: v.string() },
  returns: v.null(),
  handler: async (ctx, { currentPassword, newPassword }) => {
    if (currentPassword.length > MAX_PASSWORD_LENGTH) fail("ARGS_INVALID", { field: "currentPassword" });
    if (!passwordLengthOk(newPassword)) fail("ARGS_INVALID", { field: "newPassword" });
    const { ownerId, ownerKey, workspaceId, sessionId } = ctx.principal;
    const pre = await ctx.runMutation(internal.owners.password.beginChange, { ownerId, ownerKey });
    if (!pre.ok) fail("RATE_LIMITED", { retryAfterMs: pre.retryAfterMs });
    if (!pre.passwordHash || !(await verifyPassword(currentPassword, pre.passwordHash))) {
      await ctx.runMutation(internal.owners.password.recordChangeFailure, { ownerKey, workspaceId });
      fail("PASSWORD_INCORRECT");
    }
    const passwordHash = await hashPassword(newPassword);
    await ctx.runMutation(internal.owners.password.applyChange, {
      ownerId,
      ownerKey,
      workspaceId,
      expectedHash: pre.passwordHash,
      passwordHash,
      keepSessionId: sessionId,
    });
    return null;
  },
});

/** Counts the attempt against the account's sign-in failure budget before any hashing. */
export const beginChange = internalMutation({
  args: { ownerId: v.id("owners"), ownerKey: v.string() },
  returns: v.object({ ok: v.boolean(), retryAfterMs: v.number(), passwordHash: v.union(v.string(), v.null()) }),
  handler: async (ctx, { ownerId, ownerKey }) => {
    const r = await enforceLimit(ctx, {
      name: "signinPerAccount",
      key: accountLimitKey(ownerKey),
      category: "auth",
      source: `owner:${ownerKey}`,
    });
    if (!r.ok) return { ok: false, retryAfterMs: r.retryAfterMs, passwordHash: null };
    const o = await ctx.db.get("owners", ownerId);
    return { ok: true, retryAfterMs: 0, passwordHash: o?.passwordHash ?? null };
  },
});

export const recordChangeFailure = internalMutation({
  args: { ownerKey: v.string(), workspaceId: v.id("workspaces") },
  returns: v.null(),
  handler: async (ctx, { ownerKey, workspaceId }) => {
    await recordSecurityEvent(ctx, {
      workspaceId,
      code: "PASSWORD_INCORRECT",
      category: "auth",
      source: `owner:${ownerKey}`,
      detail: "change password: current password wrong",
    });
    return null;
  },
});

/**
 * Writes the new hash only if the one just verified is still current; refunds the attempt; ends every
 * other session of the person (whoever knew the old password is signed out); audited.
 */
export const applyChange = internalMutation({
  args: {
    ownerId: v.id("owners"),
    ownerKey: v.string(),
    workspaceId: v.id("workspaces"),
    expectedHash: v.string(),
    passwordHash: v.string(),
    /** the session making the change stays signed in */
    keepSessionId: v.optional(v.string()),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const o = await ctx.db.get("owners", a.ownerId);
    if (!o || o.passwordHash !== a.expectedHash) fail("PASSWORD_INCORRECT"); // changed meanwhile
    await ctx.db.patch("owners", a.ownerId, { passwordHash: a.passwordHash, updatedAt: Date.now() });
    await dropCodes(ctx, a.ownerId);
    const endedSessions = await endPersonSessions(ctx, a.ownerId, "password_changed", a.keepSessionId);
    await refundLimit(ctx, { name: "signinPerAccount", key: accountLimitKey(a.ownerKey) });
    await writeAudit(ctx, {
      workspaceId: a.workspaceId,
      actorId: a.ownerId,
      actorLabel: a.ownerKey,
      action: "owner.changePassword",
      target: a.ownerKey,
      after: { endedSessions },
    });
    return null;
  },
});

// ---- set the first password with a one-time code (public) ----

const SetPasswordBody = z.object({
  code: z.string().max(200),
  password: z.string().max(MAX_PASSWORD_LENGTH),
});

/** POST /auth/set-password — an invitee redeems their one-time code; answers the owner key to sign in with. */
export const setPassword = endpoint("none", async (ctx, { body, ip }) => {
  if (authModeFrom(process.env) === "clerk") return errorResponse("NOT_FOUND", 404);
  let parsed;
  try {
    parsed = SetPasswordBody.parse(JSON.parse(body));
  } catch {
    return errorResponse("BAD_REQUEST", 400);
  }
  if (!passwordLengthOk(parsed.password)) return errorResponse("ARGS_INVALID", 400);
  const pre = await ctx.runMutation(internal.owners.password.beginRedeem, { ip });
  if (!pre.ok)
    return errorResponse("RATE_LIMITED", 429, {
      "Retry-After": String(Math.max(1, Math.ceil(pre.retryAfterMs / 1000))),
    });
  const codeHash = looksLikeSetPasswordCode(parsed.code) ? await hashSetPasswordCode(parsed.code) : null;
  if (codeHash && (await ctx.runQuery(internal.owners.password.codeUsable, { codeHash }))) {
    const passwordHash = await hashPassword(parsed.password);
    const done = await ctx.runMutation(internal.owners.password.redeem, { codeHash, passwordHash, ip });
    if (done) return jsonResponse({ ownerKey: done.ownerKey });
  }
  await ctx.runMutation(internal.owners.password.recordRedeemFailure, { ip });
  return errorResponse("CODE_INVALID", 400);
});

/** Counts the attempt against the IP's sign-in failure budget before any hashing. */
export const beginRedeem = internalMutation({
  args: { ip: v.string() },
  returns: v.object({ ok: v.boolean(), retryAfterMs: v.number() }),
  handler: async (ctx, { ip }) => {
    const r = await enforceLimit(ctx, {
      name: "signinPerIp",
      key: ipLimitKey(ip),
      category: "auth",
      source: ipLimitKey(ip),
    });
    return r.ok ? { ok: true, retryAfterMs: 0 } : { ok: false, retryAfterMs: r.retryAfterMs };
  },
});

/** A code is usable once, before it expires, by an active person who has no password yet. */
async function usableCode(ctx: QueryCtx, codeHash: string) {
  const row = await ctx.db
    .query("passwordSetCodes")
    .withIndex("by_codeHash", (q) => q.eq("codeHash", codeHash))
    .unique();
  if (!row || !setPasswordCodeUsable(row, Date.now())) return null;
  const person = await ctx.db.get("owners", row.ownerId);
  if (!person || !person.active || person.passwordHash) return null;
  return { row, person };
}

export const codeUsable = internalQuery({
  args: { codeHash: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { codeHash }) => (await usableCode(ctx, codeHash)) !== null,
});

export const redeem = internalMutation({
  args: { codeHash: v.string(), passwordHash: v.string(), ip: v.string() },
  returns: v.union(v.object({ ownerKey: v.string() }), v.null()),
  handler: async (ctx, { codeHash, passwordHash, ip }) => {
    const found = await usableCode(ctx, codeHash);
    if (!found) return null; // used, expired or replaced while the password was being hashed
    const { row, person } = found;
    const now = Date.now();
    await ctx.db.patch("owners", person._id, { passwordHash, updatedAt: now });
    await ctx.db.patch("passwordSetCodes", row._id, { usedAt: now });
    await dropCodes(ctx, person._id, row._id);
    await refundLimit(ctx, { name: "signinPerIp", key: ipLimitKey(ip) });
    await writeAudit(ctx, {
      workspaceId: row.workspaceId,
      actorId: person._id,
      actorLabel: person.ownerKey,
      action: "owner.setPassword",
      target: person.ownerKey,
    });
    return { ownerKey: person.ownerKey };
  },
});

export const recordRedeemFailure = internalMutation({
  args: { ip: v.string() },
  returns: v.null(),
  handler: async (ctx, { ip }) => {
    await recordSecurityEvent(ctx, {
      code: "CODE_INVALID",
      category: "auth",
      source: ipLimitKey(ip),
      detail: "set-password code refused",
    });
    return null;
  },
});
