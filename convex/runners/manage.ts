/**
 * SyncBoard → Runners: an owner enters the code a runner shows, sees what asked (name, when, source),
 * picks capabilities and a lifetime, and approves or denies; lists and revokes live runner grants.
 * Wrong codes are counted per owner (runnerCodeEntryPerOwner) and refused once the budget is spent,
 * so these functions answer `{ ok: false }` instead of throwing (a throw would roll the count back).
 */
import { v } from "convex/values";
import { ownerMutation, ownerQuery } from "../access/builders";
import { fail, getOwned, type Principal } from "../access/principal";
import type { MutationCtx } from "../_generated/server";
import { enforceLimit } from "../limits/enforce";
import { writeAudit } from "../audit/log";
import { recordSecurityEvent } from "../security/events";
import { sha256Hex } from "../lib/tokens";
import {
  GRANT_DAYS_DEFAULT,
  GRANT_DAYS_MAX,
  MAX_GRANTS_PER_WORKSPACE,
  RUNNER_CAPABILITIES,
  RUNNER_CAPABILITY_NAMES,
  RUNNER_NAME,
  isRunnerCapability,
  normalizeUserCode,
  operatorOwners,
} from "../lib/runnerCaps";
import { DAY } from "../lib/time";

type Ctx = MutationCtx & { principal: Principal };
const refused = v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() });

/** The pending request a user code names, or a refusal (a wrong code spends the caller's budget). */
async function pendingByCode(ctx: Ctx, userCode: string) {
  const key = `owner:${ctx.principal.ownerId}`;
  const budget = await enforceLimit(ctx, {
    name: "runnerCodeEntryPerOwner",
    key,
    category: "runner",
    source: key,
    checkOnly: true,
  });
  if (!budget.ok) return { ok: false as const, code: budget.code, retryAfterMs: budget.retryAfterMs };
  const code = normalizeUserCode(userCode);
  const hash = code ? await sha256Hex(code) : null;
  const req = hash
    ? await ctx.db
        .query("runnerDeviceRequests")
        .withIndex("by_userCodeHash", (q) => q.eq("userCodeHash", hash))
        .unique()
    : null;
  if (!req || req.status !== "pending" || req.expiresAt <= Date.now()) {
    await enforceLimit(ctx, { name: "runnerCodeEntryPerOwner", key, category: "runner", source: key });
    await recordSecurityEvent(ctx, {
      workspaceId: ctx.principal.workspaceId,
      code: "RUNNER_REQUEST_INVALID",
      category: "runner",
      source: key,
      detail: `wrong runner code by ${ctx.principal.ownerKey}`,
    });
    return { ok: false as const, code: "RUNNER_REQUEST_INVALID", retryAfterMs: 0 };
  }
  return { ok: true as const, req };
}

const capabilityRow = v.object({ name: v.string(), label: v.string(), tier: v.string(), grantable: v.boolean() });

function capabilityRows(ownerKey: string) {
  const ops = operatorOwners(process.env);
  return RUNNER_CAPABILITY_NAMES.map((name) => {
    const c = RUNNER_CAPABILITIES[name];
    return { name, label: c.label, tier: c.tier as string, grantable: c.tier !== "operator" || ops.has(ownerKey) };
  });
}

/** Step 1: what is asking? (name, when, the pseudonymised source) plus the capabilities the caller may grant. */
export const lookup = ownerMutation({
  args: { userCode: v.string() },
  returns: v.union(
    v.object({
      ok: v.literal(true),
      requestedName: v.string(),
      source: v.string(),
      createdAt: v.number(),
      expiresAt: v.number(),
      capabilities: v.array(capabilityRow),
    }),
    refused,
  ),
  handler: async (ctx, { userCode }) => {
    const r = await pendingByCode(ctx, userCode.slice(0, 32));
    if (!r.ok) return r;
    return {
      ok: true as const,
      requestedName: r.req.requestedName,
      source: r.req.source,
      createdAt: r.req.createdAt,
      expiresAt: r.req.expiresAt,
      capabilities: capabilityRows(ctx.principal.ownerKey),
    };
  },
});

/** Step 2: approve with a name, capabilities and a lifetime. The user code works once. */
export const approve = ownerMutation({
  args: { userCode: v.string(), name: v.string(), capabilities: v.array(v.string()), days: v.optional(v.number()) },
  returns: v.union(v.object({ ok: v.literal(true), grantId: v.id("runnerGrants") }), refused),
  handler: async (ctx, a) => {
    const name = a.name.trim();
    if (!RUNNER_NAME.test(name)) fail("ARGS_INVALID", { field: "name" });
    const caps = [...new Set(a.capabilities)];
    if (caps.length === 0 || caps.length > RUNNER_CAPABILITY_NAMES.length || !caps.every(isRunnerCapability))
      fail("ARGS_INVALID", { field: "capabilities" });
    const days = a.days ?? GRANT_DAYS_DEFAULT;
    if (!Number.isInteger(days) || days < 1 || days > GRANT_DAYS_MAX) fail("ARGS_INVALID", { field: "days" });
    const ops = operatorOwners(process.env);
    if (caps.some((c) => RUNNER_CAPABILITIES[c].tier === "operator") && !ops.has(ctx.principal.ownerKey))
      fail("CAPABILITY_NOT_ALLOWED");
    const live = await ctx.db
      .query("runnerGrants")
      .withIndex("by_workspace_revoked", (q) =>
        q.eq("workspaceId", ctx.principal.workspaceId).eq("revokedAt", undefined),
      )
      .take(MAX_GRANTS_PER_WORKSPACE * 2);
    const now = Date.now();
    if (live.filter((g) => g.expiresAt > now).length >= MAX_GRANTS_PER_WORKSPACE) fail("RUNNER_LIMIT_REACHED");
    const r = await pendingByCode(ctx, a.userCode.slice(0, 32));
    if (!r.ok) return r;
    const grantId = await ctx.db.insert("runnerGrants", {
      workspaceId: ctx.principal.workspaceId,
      name,
      capabilities: caps,
      approvedBy: ctx.principal.ownerId,
      createdAt: now,
      expiresAt: now + days * DAY,
    });
    await ctx.db.patch("runnerDeviceRequests", r.req._id, {
      status: "approved",
      decidedBy: ctx.principal.ownerId,
      workspaceId: ctx.principal.workspaceId,
      grantId,
    });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "runner.approved",
      target: String(grantId),
      after: { name, capabilities: caps, days, requestedName: r.req.requestedName, source: r.req.source },
    });
    return { ok: true as const, grantId };
  },
});

export const deny = ownerMutation({
  args: { userCode: v.string() },
  returns: v.union(v.object({ ok: v.literal(true) }), refused),
  handler: async (ctx, { userCode }) => {
    const r = await pendingByCode(ctx, userCode.slice(0, 32));
    if (!r.ok) return r;
    await ctx.db.patch("runnerDeviceRequests", r.req._id, {
      status: "denied",
      decidedBy: ctx.principal.ownerId,
      workspaceId: ctx.principal.workspaceId,
    });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "runner.denied",
      target: r.req.requestedName,
      after: { source: r.req.source },
    });
    return { ok: true as const };
  },
});

/** The workspace's live runner grants (never a token or its hash). */
export const list = ownerQuery({
  args: {},
  returns: v.object({
    grants: v.array(
      v.object({
        grantId: v.id("runnerGrants"),
        name: v.string(),
        capabilities: v.array(v.string()),
        approvedBy: v.string(),
        createdAt: v.number(),
        expiresAt: v.number(),
        tokenExpiresAt: v.union(v.number(), v.null()),
        lastUsedAt: v.union(v.number(), v.null()),
        collected: v.boolean(),
      }),
    ),
    capabilities: v.array(capabilityRow),
  }),
  handler: async (ctx) => {
    const now = Date.now();
    const rows = await ctx.db
      .query("runnerGrants")
      .withIndex("by_workspace_revoked", (q) =>
        q.eq("workspaceId", ctx.principal.workspaceId).eq("revokedAt", undefined),
      )
      .order("desc")
      .take(MAX_GRANTS_PER_WORKSPACE * 2);
    const grants = [];
    for (const g of rows) {
      if (g.expiresAt <= now) continue;
      const by = await ctx.db.get("owners", g.approvedBy);
      grants.push({
        grantId: g._id,
        name: g.name,
        capabilities: g.capabilities,
        approvedBy: by?.ownerKey ?? "(removed)",
        createdAt: g.createdAt,
        expiresAt: g.expiresAt,
        tokenExpiresAt: g.tokenExpiresAt ?? null,
        lastUsedAt: g.lastUsedAt ?? null,
        collected: g.tokenHash !== undefined,
      });
    }
    return { grants, capabilities: capabilityRows(ctx.principal.ownerKey) };
  },
});

/** Ends a runner's grant at once: its token and any refresh stop working. */
export const revoke = ownerMutation({
  args: { grantId: v.id("runnerGrants") },
  returns: v.null(),
  handler: async (ctx, { grantId }) => {
    const g = await getOwned(await ctx.db.get("runnerGrants", grantId), ctx.principal);
    if (g.revokedAt !== undefined) return null;
    await ctx.db.patch("runnerGrants", g._id, { revokedAt: Date.now(), revokedBy: ctx.principal.ownerKey });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "runner.revoked",
      target: String(g._id),
      before: { name: g.name, capabilities: g.capabilities },
    });
    return null;
  },
});
