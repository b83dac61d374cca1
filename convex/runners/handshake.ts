/**
 * The runner handshake (device-code style) and runner-token checks. Secrets (device code, user code,
 * tokens) are drawn in the HTTP action and reach these mutations as SHA-256 hashes only.
 *   start  → a pending request (rate limited per source IP)
 *   an owner approves the user code in SyncBoard (runners/manage.ts) → a grant
 *   poll   → the token, once; the request is then consumed
 *   refresh → a new token replaces the old one, only while the grant lives
 *   authorize → every operator call: token valid, grant live, approver still an owner, capability listed
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import { enforceLimit } from "../limits/enforce";
import { recordSecurityEvent, pseudonymSecret } from "../security/events";
import { minimizeSource } from "../lib/pseudonym";
import { writeAudit } from "../audit/log";
import { DEVICE_REQUEST_TTL_MS, RUNNER_TOKEN_TTL_MS, isRunnerCapability, usableCapabilities } from "../lib/runnerCaps";

const PRUNE_PER_START = 20;
const ipKey = (ip: string) => `ip:${ip.slice(0, 64)}`;

export const start = internalMutation({
  args: { ip: v.string(), deviceCodeHash: v.string(), userCodeHash: v.string(), name: v.string() },
  returns: v.union(
    v.object({ ok: v.literal(true), expiresAt: v.number() }),
    v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() }),
  ),
  handler: async (ctx, a) => {
    const r = await enforceLimit(ctx, {
      name: "runnerStartPerIp",
      key: ipKey(a.ip),
      category: "runner",
      source: ipKey(a.ip),
    });
    if (!r.ok) return { ok: false as const, code: r.code, retryAfterMs: r.retryAfterMs };
    const now = Date.now();
    // Expired requests are dropped a few at a time (no cron needed: each start bounds the table).
    const old = await ctx.db
      .query("runnerDeviceRequests")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", now))
      .take(PRUNE_PER_START);
    for (const x of old) await ctx.db.delete("runnerDeviceRequests", x._id);
    // A user code equal to a live one would be ambiguous: the caller draws another.
    const clash = await ctx.db
      .query("runnerDeviceRequests")
      .withIndex("by_userCodeHash", (q) => q.eq("userCodeHash", a.userCodeHash))
      .first();
    if (clash) return { ok: false as const, code: "RUNNER_REQUEST_INVALID", retryAfterMs: 0 };
    const expiresAt = now + DEVICE_REQUEST_TTL_MS;
    await ctx.db.insert("runnerDeviceRequests", {
      deviceCodeHash: a.deviceCodeHash,
      userCodeHash: a.userCodeHash,
      requestedName: a.name,
      source: await minimizeSource(ipKey(a.ip), pseudonymSecret()),
      createdAt: now,
      expiresAt,
      status: "pending",
    });
    return { ok: true as const, expiresAt };
  },
});

const pollResult = v.union(
  v.object({
    ok: v.literal(true),
    grantId: v.id("runnerGrants"),
    name: v.string(),
    capabilities: v.array(v.string()),
    expiresAt: v.number(),
    grantExpiresAt: v.number(),
  }),
  v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() }),
);

/**
 * The runner polls with its device code. Unknown codes are counted per IP (runnerBadCodePerIp); once
 * that budget is spent, every poll from the IP is refused before any lookup, so device codes cannot
 * be guessed. An approved request hands its token out once (`tokenHash` drawn by the caller).
 */
export const poll = internalMutation({
  args: { ip: v.string(), deviceCodeHash: v.string(), tokenHash: v.string() },
  returns: pollResult,
  handler: async (ctx, a) => {
    const key = ipKey(a.ip);
    const guesses = await enforceLimit(ctx, {
      name: "runnerBadCodePerIp",
      key,
      category: "runner",
      source: key,
      checkOnly: true,
    });
    if (!guesses.ok) return { ok: false as const, code: guesses.code, retryAfterMs: guesses.retryAfterMs };
    const r = await enforceLimit(ctx, { name: "runnerPollPerIp", key, category: "runner", source: key });
    if (!r.ok) return { ok: false as const, code: r.code, retryAfterMs: r.retryAfterMs };
    const now = Date.now();
    const req = await ctx.db
      .query("runnerDeviceRequests")
      .withIndex("by_deviceCodeHash", (q) => q.eq("deviceCodeHash", a.deviceCodeHash))
      .unique();
    const invalid = { ok: false as const, code: "RUNNER_REQUEST_INVALID", retryAfterMs: 0 };
    if (!req) {
      await enforceLimit(ctx, { name: "runnerBadCodePerIp", key, category: "runner", source: key });
      await recordSecurityEvent(ctx, {
        code: "RUNNER_REQUEST_INVALID",
        category: "runner",
        source: key,
        detail: "unknown device code",
      });
      return invalid;
    }
    if (req.expiresAt <= now) return invalid;
    if (req.status === "pending") return { ok: false as const, code: "RUNNER_REQUEST_PENDING", retryAfterMs: 0 };
    if (req.status === "denied") return { ok: false as const, code: "RUNNER_REQUEST_DENIED", retryAfterMs: 0 };
    if (req.status === "consumed" || !req.grantId) return invalid;
    const grant = await ctx.db.get("runnerGrants", req.grantId);
    await ctx.db.patch("runnerDeviceRequests", req._id, { status: "consumed" });
    if (!grant || grant.revokedAt !== undefined || grant.expiresAt <= now || grant.tokenHash !== undefined)
      return invalid;
    const expiresAt = Math.min(now + RUNNER_TOKEN_TTL_MS, grant.expiresAt);
    await ctx.db.patch("runnerGrants", grant._id, {
      tokenHash: a.tokenHash,
      tokenExpiresAt: expiresAt,
      lastUsedAt: now,
    });
    await writeAudit(ctx, {
      workspaceId: grant.workspaceId,
      actorLabel: `runner:${grant.name}`,
      action: "runner.tokenIssued",
      target: String(grant._id),
      after: { capabilities: grant.capabilities, expiresAt },
    });
    return {
      ok: true as const,
      grantId: grant._id,
      name: grant.name,
      capabilities: grant.capabilities,
      expiresAt,
      grantExpiresAt: grant.expiresAt,
    };
  },
});

/** Why a grant no longer works, or null when it does (the approver must still be an active owner of its workspace). */
async function grantProblem(ctx: MutationCtx, g: Doc<"runnerGrants">, now: number): Promise<string | null> {
  if (g.revokedAt !== undefined) return "revoked";
  if (g.expiresAt <= now) return "grant expired";
  if (g.tokenExpiresAt === undefined || g.tokenExpiresAt <= now) return "token expired";
  const approver = await ctx.db.get("owners", g.approvedBy);
  if (!approver || !approver.active) return "approver inactive";
  const m = await ctx.db
    .query("memberships")
    .withIndex("by_owner_workspace", (q) => q.eq("ownerId", g.approvedBy).eq("workspaceId", g.workspaceId))
    .unique();
  if (!m || m.active === false || m.role !== "owner") return "approver no longer an owner";
  return null;
}

/** The grant a presented token (hash) belongs to, or a refusal recorded as a security event. */
async function grantFor(ctx: MutationCtx, tokenHash: string, ip: string) {
  const now = Date.now();
  const g = await ctx.db
    .query("runnerGrants")
    .withIndex("by_tokenHash", (q) => q.eq("tokenHash", tokenHash))
    .unique();
  if (!g) {
    const replaced = await ctx.db
      .query("runnerGrants")
      .withIndex("by_previousTokenHash", (q) => q.eq("previousTokenHash", tokenHash))
      .first();
    await recordSecurityEvent(ctx, {
      workspaceId: replaced?.workspaceId,
      code: "RUNNER_TOKEN_INVALID",
      category: "runner",
      source: ipKey(ip),
      detail: replaced ? `a replaced token of runner ${replaced.name} was presented` : "unknown runner token",
    });
    return null;
  }
  const problem = await grantProblem(ctx, g, now);
  if (problem) {
    await recordSecurityEvent(ctx, {
      workspaceId: g.workspaceId,
      code: "RUNNER_TOKEN_INVALID",
      category: "runner",
      source: ipKey(ip),
      detail: `runner ${g.name}: ${problem}`,
    });
    return null;
  }
  return g;
}

export const refresh = internalMutation({
  args: { ip: v.string(), tokenHash: v.string(), newTokenHash: v.string() },
  returns: v.union(v.null(), v.object({ expiresAt: v.number(), grantExpiresAt: v.number() })),
  handler: async (ctx, a) => {
    const g = await grantFor(ctx, a.tokenHash, a.ip);
    if (!g) return null;
    const now = Date.now();
    const expiresAt = Math.min(now + RUNNER_TOKEN_TTL_MS, g.expiresAt);
    await ctx.db.patch("runnerGrants", g._id, {
      tokenHash: a.newTokenHash,
      previousTokenHash: a.tokenHash,
      tokenExpiresAt: expiresAt,
      lastUsedAt: now,
    });
    await writeAudit(ctx, {
      workspaceId: g.workspaceId,
      actorLabel: `runner:${g.name}`,
      action: "runner.refresh",
      target: String(g._id),
      after: { expiresAt },
    });
    return { expiresAt, grantExpiresAt: g.expiresAt };
  },
});

const authorized = v.object({
  grantId: v.id("runnerGrants"),
  workspaceId: v.id("workspaces"),
  name: v.string(),
  capabilities: v.array(v.string()),
  expiresAt: v.number(),
  grantExpiresAt: v.number(),
});

/**
 * Every runner call: the token must be current, its grant live, its approver still an owner there,
 * and `capability` (when given) among the capabilities the grant may use now. Audited as `runner.call`.
 */
export const authorize = internalMutation({
  args: { ip: v.string(), tokenHash: v.string(), capability: v.optional(v.string()), op: v.string() },
  returns: v.union(
    v.object({ ok: v.literal(true), grant: authorized }),
    v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.number() }),
  ),
  handler: async (ctx, a) => {
    const g = await grantFor(ctx, a.tokenHash, a.ip);
    if (!g) return { ok: false as const, code: "RUNNER_TOKEN_INVALID", retryAfterMs: 0 };
    const approver = (await ctx.db.get("owners", g.approvedBy))!;
    const caps = usableCapabilities(g.capabilities, approver.ownerKey, process.env);
    if (
      a.capability !== undefined &&
      (!isRunnerCapability(a.capability) || !(caps as string[]).includes(a.capability))
    ) {
      await recordSecurityEvent(ctx, {
        workspaceId: g.workspaceId,
        code: "CAPABILITY_REQUIRED",
        category: "runner",
        source: ipKey(a.ip),
        detail: `runner ${g.name}: ${a.op} needs ${a.capability}`,
      });
      return { ok: false as const, code: "CAPABILITY_REQUIRED", retryAfterMs: 0 };
    }
    const r = await enforceLimit(ctx, {
      workspaceId: g.workspaceId,
      name: "runnerCallsPerGrant",
      key: `grant:${g._id}`,
      category: "runner",
      source: `runner:${g._id}`,
    });
    if (!r.ok) return { ok: false as const, code: r.code, retryAfterMs: r.retryAfterMs };
    await ctx.db.patch("runnerGrants", g._id, { lastUsedAt: Date.now() });
    if (a.capability !== undefined) {
      await writeAudit(ctx, {
        workspaceId: g.workspaceId,
        actorLabel: `runner:${g.name}`,
        action: "runner.call",
        target: a.op,
        after: { capability: a.capability },
      });
    }
    return {
      ok: true as const,
      grant: {
        grantId: g._id,
        workspaceId: g.workspaceId,
        name: g.name,
        capabilities: caps,
        expiresAt: g.tokenExpiresAt!,
        grantExpiresAt: g.expiresAt,
      },
    };
  },
});
