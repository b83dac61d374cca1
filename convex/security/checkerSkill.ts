/**
 * The checker's skill entry: approval → status → input schema → agency (audience grant + taint) →
 * per-skill limit → global limit (+ webhook-skill limit for anything that reaches the network) →
 * egress (allowlist + address; again at connect time in the Node executor) → run with timeout →
 * output size → redact → log. Registered in checker.ts (security/checker:precheckSkill, :invokeSkill).
 */
import { v, type Infer, type ObjectType } from "convex/values";
import type { ActionCtx, MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc } from "../_generated/dataModel";
import { enforceLimit } from "../limits/enforce";
import { validateInput } from "../lib/jsonSchema";
import { skillConfigValidator } from "../skills/tables";
import { utf8Length } from "../lib/redact";
import { checkEgressUrl } from "../lib/egress";
import { renderUrlTemplate } from "../lib/urlTemplate";
import { reviewHash } from "../skills/hash";
import { codeSourceHash } from "../skills/codeHash";
import { CODE_SKILLS } from "../skills/code";
import { parseTemplateConfig } from "../skills/templates";
import { urlTemplateOf, OUTPUT_MAX_BYTES } from "../skills/validate";
import type { RunOutcome } from "../skills/outcome";
import { agencyGate } from "../agency/gate";
import { asCode, codeValidator, type Code } from "../lib/codes";
import { defaultSkillRisk, skillToolRef } from "../lib/agency";
import {
  callerValidator,
  checkResultValidator,
  deliverAllowed,
  denial,
  denyInPrecheck,
  EGRESS_CODES,
  EXECUTOR_GRACE_MS,
  logFromAction,
  measureInput,
  runPrecheck,
  sourceOf,
  targetThenGlobalLimit,
  withDeadline,
  type CheckResult,
} from "./checkerPipeline";

/** True when the skill may reach the network (webhook, network template, code skill with domains). */
export function reachesNetwork(skill: Pick<Doc<"skillRegistry">, "type" | "config" | "allowedDomains">): boolean {
  if (skill.type === "webhook") return true;
  if (skill.type === "code") return skill.allowedDomains.length > 0;
  if (skill.type === "template") return parseTemplateConfig(skill.config)?.def.network === true;
  return false;
}

/** Approved, and unchanged since approval (recomputed here, not trusted from a stored flag). */
async function isApproved(skill: Doc<"skillRegistry">): Promise<boolean> {
  if (skill.status !== "approved" && skill.status !== "disabled") return false;
  if (!skill.approvedHash || skill.approvedAt === undefined) return false;
  if ((await reviewHash(skill)) !== skill.approvedHash) return false;
  if (skill.type === "code") {
    // The deployed module must be the one that was reviewed (a deploy without sync is not approved).
    const moduleName = (skill.config as { module?: unknown } | null)?.module;
    const mod = typeof moduleName === "string" ? CODE_SKILLS[moduleName] : undefined;
    const sourceHash = (skill.config as { sourceHash?: unknown } | null)?.sourceHash;
    if (!mod || (await codeSourceHash(mod)) !== sourceHash) return false;
  }
  return true;
}

const skillForRun = v.object({
  _id: v.id("skillRegistry"),
  name: v.string(),
  type: v.union(v.literal("template"), v.literal("webhook"), v.literal("code"), v.literal("image")),
  config: skillConfigValidator,
  allowedDomains: v.array(v.string()),
  allowHttp: v.boolean(),
  secretNames: v.array(v.string()),
  timeoutMs: v.number(),
  maxOutputBytes: v.number(),
});

/** Steps 1–5 in one transaction: reads the skill, limit rows and limiter state; logs a denial itself. */
export const precheckSkillArgs = {
  workspaceId: v.id("workspaces"),
  skillName: v.string(),
  input: v.any(),
  inputTooLarge: v.boolean(),
  inputBytes: v.number(),
  inputPreview: v.string(),
  caller: callerValidator,
  startedAt: v.number(),
};
export const precheckSkillReturns = v.union(
  v.object({ ok: v.literal(true), skill: skillForRun }),
  v.object({ ok: v.literal(false), code: codeValidator, retryAfterMs: v.optional(v.number()) }),
);

export async function precheckSkillHandler(
  ctx: MutationCtx,
  a: ObjectType<typeof precheckSkillArgs>,
): Promise<Infer<typeof precheckSkillReturns>> {
  const skill = await ctx.db
    .query("skillRegistry")
    .withIndex("by_workspace_name", (q) => q.eq("workspaceId", a.workspaceId).eq("name", a.skillName))
    .first();
  const source = sourceOf(a.caller);
  const entry = {
    workspaceId: a.workspaceId,
    targetKind: "skill" as const,
    skillId: skill?._id,
    targetName: a.skillName.slice(0, 64),
    callerKind: a.caller.kind,
    callerId: a.caller.id,
    inputBytes: a.inputBytes,
    inputPreview: a.inputPreview,
  };
  const deny = (code: Code, retryAfterMs?: number) =>
    denyInPrecheck(ctx, entry, a.startedAt, source, code, retryAfterMs);

  // 1. approval (an unknown name is indistinguishable from an unapproved skill)
  if (!skill || !(await isApproved(skill))) return await deny("SKILL_NOT_APPROVED");
  // 2. status
  if (skill.status !== "approved") return await deny("SKILL_INACTIVE");
  // 3. input against the declared schema
  if (a.inputTooLarge || !validateInput(skill.inputSchema, a.input)) return await deny("INPUT_INVALID");
  // agency: on whose behalf (the audience's grant and the taint rule)
  const gate = await agencyGate(ctx, a.caller, {
    workspaceId: a.workspaceId,
    toolRef: skillToolRef(skill.name),
    toolLabel: skill.name,
    targetKind: "skill",
    skillName: skill.name,
    input: a.input,
    inputPreview: a.inputPreview,
    defaultRisk: defaultSkillRisk(reachesNetwork(skill)),
  });
  if (!gate.ok) return await denyInPrecheck(ctx, entry, a.startedAt, source, gate.code, undefined, gate.securityEvent);
  // 4–5. per-skill limit (the skill's own rate wins over the workspace's skillPerSkill), then global
  const limited = await targetThenGlobalLimit(ctx, {
    workspaceId: a.workspaceId,
    name: "skillPerSkill",
    key: `skill:${skill._id}`,
    category: "skill",
    source,
    ratePerMinute: skill.rateLimitPerMinute,
  });
  if (!limited.ok) return await deny(limited.code, limited.retryAfterMs);
  if (reachesNetwork(skill)) {
    const hooks = await enforceLimit(ctx, {
      workspaceId: a.workspaceId,
      name: "webhookSkillsGlobal",
      key: "webhookSkills",
      category: "skill",
      source,
    });
    if (!hooks.ok) return await deny(hooks.code, hooks.retryAfterMs);
  }
  return {
    ok: true as const,
    skill: {
      _id: skill._id,
      name: skill.name,
      type: skill.type,
      config: skill.config,
      allowedDomains: skill.allowedDomains,
      allowHttp: skill.allowHttp === true,
      secretNames: skill.secretNames,
      timeoutMs: skill.timeoutMs,
      maxOutputBytes: skill.maxOutputBytes,
    },
  };
}

type Finished = { ok: true; output: unknown; bytes: number } | { ok: false; code: Code; host?: string };

/** Parses executor output JSON and measures it; the larger of raw response and JSON bytes counts. */
function measured(outcome: { outputJson: string; bytes: number }): { output: unknown; bytes: number } | null {
  try {
    return {
      output: JSON.parse(outcome.outputJson),
      bytes: Math.max(outcome.bytes, utf8Length(outcome.outputJson)),
    };
  } catch {
    return null;
  }
}

export const invokeSkillArgs = {
  workspaceId: v.id("workspaces"),
  skillName: v.string(),
  input: v.any(),
  caller: callerValidator,
};
export const invokeSkillReturns = checkResultValidator;

export async function invokeSkillHandler(ctx: ActionCtx, a: ObjectType<typeof invokeSkillArgs>): Promise<CheckResult> {
  const startedAt = Date.now();
  const measuredInput = measureInput(a.input);
  const base = {
    workspaceId: a.workspaceId,
    targetKind: "skill" as const,
    targetName: a.skillName.slice(0, 64),
    callerKind: a.caller.kind,
    callerId: a.caller.id,
    inputBytes: measuredInput.inputBytes,
    inputPreview: measuredInput.inputPreview,
  };

  const pre = await runPrecheck(ctx, base, startedAt, () =>
    ctx.runMutation(internal.security.checker.precheckSkill, {
      workspaceId: a.workspaceId,
      skillName: a.skillName,
      input: measuredInput.inputTooLarge ? null : a.input,
      ...measuredInput,
      caller: a.caller,
      startedAt,
    }),
  );
  if (!pre.ok) return pre;
  const skill = pre.skill;

  const finish = async (outcome: Finished): Promise<CheckResult> => {
    const entryBase = { ...base, skillId: skill._id, targetName: skill.name, durationMs: Date.now() - startedAt };
    if (!outcome.ok) {
      const detail =
        EGRESS_CODES.has(outcome.code) && outcome.host ? `skill=${skill.name} host=${outcome.host}` : undefined;
      await logFromAction(ctx, { ...entryBase, code: outcome.code, allowed: false, outputBytes: 0 }, detail);
      return denial(outcome.code);
    }
    return await deliverAllowed(ctx, { ...entryBase, outputBytes: outcome.bytes }, outcome.output);
  };

  // 6. egress: the URL a template/webhook skill would call, against the allowlist as it is now
  let url: string | undefined;
  const template = urlTemplateOf(skill.type, skill.config);
  if (template !== null) {
    const rendered = renderUrlTemplate(template, (a.input ?? {}) as Record<string, unknown>);
    if (!rendered.ok) return await finish({ ok: false, code: rendered.code });
    const egress = checkEgressUrl(rendered.url, skill.allowedDomains, { allowHttp: skill.allowHttp });
    if (!egress.ok) {
      let host: string | undefined;
      try {
        host = new URL(rendered.url).hostname;
      } catch {
        host = undefined;
      }
      return await finish({ ok: false, code: egress.code, host });
    }
    url = egress.url.href;
  }

  // 7. run with timeout (the executor also enforces it; this is the backstop)
  const run: Promise<RunOutcome> =
    url !== undefined || skill.type === "webhook" || skill.type === "code"
      ? ctx.runAction(internal.skills.executeNode.run, {
          skillId: skill._id,
          type: skill.type as "webhook" | "template" | "code",
          config: skill.config,
          input: a.input,
          url,
          allowedDomains: skill.allowedDomains,
          allowHttp: skill.allowHttp,
          secretNames: skill.secretNames,
          timeoutMs: skill.timeoutMs,
          maxOutputBytes: skill.maxOutputBytes,
        })
      : ctx.runAction(internal.skills.execute.run, {
          workspaceId: a.workspaceId,
          type: skill.type as "template" | "image",
          config: skill.config,
          input: a.input,
          maxOutputBytes: skill.maxOutputBytes,
        });
  let outcome: RunOutcome | "TIMEOUT";
  try {
    outcome = await withDeadline(run, skill.timeoutMs + EXECUTOR_GRACE_MS);
  } catch {
    outcome = { ok: false, code: "SKILL_ERROR" };
  }
  if (outcome === "TIMEOUT") return await finish({ ok: false, code: "TIMEOUT" });
  if (!outcome.ok) return await finish({ ...outcome, code: asCode(outcome.code, "SKILL_ERROR") });

  // 8. output size
  const m = measured(outcome);
  if (!m) return await finish({ ok: false, code: "SKILL_ERROR" });
  if (m.bytes > skill.maxOutputBytes || m.bytes > OUTPUT_MAX_BYTES)
    return await finish({ ok: false, code: "OUTPUT_TOO_LARGE" });

  // 9–10. redact (token shapes; executors already removed the skill's own secret values) and log
  return await finish({ ok: true, output: m.output, bytes: m.bytes });
}
