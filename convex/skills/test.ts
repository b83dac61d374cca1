/**
 * "Test this skill" in SyncBoard: an admin runs a skill with sample input through the security
 * checker (skills/… → security/checker:invokeSkill), exactly as any other caller would, and gets the
 * log row the checker wrote.
 *
 * The caller kind is "owner-test" (id = the admin's owner id). It is not an agent run: there is no
 * conversation, no audience and no untrusted content in play, so the agency gate (audience grants,
 * taint rule, approval inbox) does not apply — the gate only judges agent calls, and a signed-in
 * admin deciding to run a tool is the kind of decision the gate would otherwise ask them for. Every
 * other step still does: approval and status, input schema, the skill's and the global rate limits
 * (a test counts against them), egress allowlist and address checks, timeout, output cap, redaction,
 * and the invocation log (denials are security events with source `owner-test:<ownerId>`).
 */
import { v } from "convex/values";
import { internalQuery } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { adminAction } from "../access/builders";
import { fail } from "../access/principal";
import { MAX_INPUT_BYTES } from "../lib/jsonSchema";
import type { CheckResult } from "../security/checker";
import type { Infer } from "convex/values";

export const TEST_CALLER_KIND = "owner-test";

export const skillForTest = internalQuery({
  args: { skillId: v.id("skillRegistry"), workspaceId: v.id("workspaces") },
  returns: v.union(v.null(), v.object({ name: v.string() })),
  handler: async (ctx, { skillId, workspaceId }) => {
    const s = await ctx.db.get("skillRegistry", skillId);
    return s && s.workspaceId === workspaceId ? { name: s.name } : null;
  },
});

const rowValidator = v.object({
  id: v.id("invocationLog"),
  at: v.number(),
  code: v.string(),
  allowed: v.boolean(),
  durationMs: v.number(),
  inputBytes: v.number(),
  outputBytes: v.number(),
  inputPreview: v.string(),
  outputPreview: v.string(),
});

type TestRow = Infer<typeof rowValidator>;

/** The newest row this admin's test of this skill wrote at or after `since` (the newest 20 rows of the skill are read). */
export const testRow = internalQuery({
  args: { skillId: v.id("skillRegistry"), ownerId: v.id("owners"), since: v.number() },
  returns: v.union(v.null(), rowValidator),
  handler: async (ctx, { skillId, ownerId, since }) => {
    const rows = await ctx.db
      .query("invocationLog")
      .withIndex("by_skill_at", (q) => q.eq("skillId", skillId).gte("at", since))
      .order("desc")
      .take(20);
    const r = rows.find((x) => x.callerKind === TEST_CALLER_KIND && x.callerId === ownerId);
    if (!r) return null;
    return {
      id: r._id,
      at: r.at,
      code: r.code,
      allowed: r.allowed,
      durationMs: r.durationMs,
      inputBytes: r.inputBytes,
      outputBytes: r.outputBytes,
      inputPreview: r.inputPreview ?? "",
      outputPreview: r.outputPreview ?? "",
    };
  },
});

export const run = adminAction({
  args: { skillId: v.id("skillRegistry"), input: v.any() },
  returns: v.object({
    ok: v.boolean(),
    code: v.string(),
    retryAfterMs: v.optional(v.number()),
    /** the checker's invocation-log row for this run (redacted previews), or null if none was found */
    row: v.union(v.null(), rowValidator),
  }),
  handler: async (
    ctx,
    { skillId, input },
  ): Promise<{ ok: boolean; code: string; retryAfterMs?: number; row: TestRow | null }> => {
    const p = ctx.principal;
    const skill: { name: string } | null = await ctx.runQuery(internal.skills.test.skillForTest, {
      skillId,
      workspaceId: p.workspaceId,
    });
    if (!skill) fail("NOT_FOUND");
    // The checker measures and refuses oversize input itself; this only keeps a huge argument out of the log path.
    if (JSON.stringify(input ?? null).length > MAX_INPUT_BYTES * 4) fail("INPUT_INVALID", { field: "input" });
    const since = Date.now();
    const r: CheckResult = await ctx.runAction(internal.security.checker.invokeSkill, {
      workspaceId: p.workspaceId,
      skillName: skill.name,
      input,
      caller: { kind: TEST_CALLER_KIND, id: p.ownerId as Id<"owners"> },
    });
    const row: TestRow | null = await ctx.runQuery(internal.skills.test.testRow, {
      skillId,
      ownerId: p.ownerId,
      since: since - 1,
    });
    return r.ok
      ? { ok: true, code: "OK", row }
      : { ok: false, code: r.code, ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }), row };
  },
});
