/**
 * The security checker: the only way to run a skill, call an external MCP tool or admit an
 * inbound channel webhook. It has no switch — no flag, env var or config row turns it off.
 *
 * Skills: approval → status → input schema → agency (audience grant + taint) → per-skill limit → global limit (+ webhook-skill
 * limit for anything that reaches the network) → egress (allowlist + address; again at connect
 * time in the Node executor) → run with timeout → output size → redact → log.
 * MCP tools: server approved → enabled → tool approved & unchanged → input schema → agency → per-server
 * limit → global limit → call → output size → redact → log.
 * Every result, allowed or denied, is a skillInvocationLog row; denials are security events.
 * Callers get `{ ok: false, code }` only — no messages, no stack.
 */
import { v, convexToJson, type Value } from "convex/values";
import { internalAction, internalMutation, type ActionCtx, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { enforceLimit, type LimitResult } from "../limits/enforce";
import { MINUTE } from "../lib/time";
import { validateInput, MAX_INPUT_BYTES } from "../lib/jsonSchema";
import { preview, redactValue, utf8Length, type JsonValue } from "../lib/redact";
import { checkEgressUrl } from "../lib/egress";
import { renderUrlTemplate } from "../lib/urlTemplate";
import { reviewHash } from "../skills/hash";
import { codeSourceHash } from "../skills/codeHash";
import { CODE_SKILLS } from "../skills/code";
import { parseTemplateConfig } from "../skills/templates";
import { urlTemplateOf, OUTPUT_MAX_BYTES } from "../skills/validate";
import type { RunOutcome } from "../skills/outcome";
import { writeInvocationLog, PREVIEW_BYTES, type InvocationLogEntry } from "./checkerLog";
import { agencyGate } from "../agency/gate";
import { asCode, codeValidator, type Code } from "../lib/codes";
import { DEFAULT_MCP_RISK, defaultSkillRisk, mcpToolRef, skillToolRef } from "../lib/agency";

/** Extra time the executor gets beyond the skill's own timeout before the checker gives up on it. */
export const EXECUTOR_GRACE_MS = 1500;
/** Codes that mean "this request tried to leave the allowlist": always security events with the host. */
const EGRESS_CODES = new Set(["DOMAIN_NOT_ALLOWED", "PRIVATE_ADDRESS_BLOCKED", "REDIRECT_BLOCKED"]);

/**
 * Who asks. Agent calls also carry the run's audience and taint (derived from the thread by
 * agent/context, never from the model) and, when re-run after an owner's decision, the approval id.
 */
export const callerValidator = v.object({
  kind: v.string(),
  id: v.optional(v.string()),
  audience: v.optional(v.string()),
  tainted: v.optional(v.boolean()),
  approvalId: v.optional(v.string()),
});
export const checkResultValidator = v.union(
  v.object({ ok: v.literal(true), output: v.any() }),
  v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.optional(v.number()) }),
);
export type CheckResult = { ok: true; output: unknown } | { ok: false; code: Code; retryAfterMs?: number };
type Caller = { kind: string; id?: string; audience?: string; tainted?: boolean; approvalId?: string };

const logEntryValidator = v.object({
  workspaceId: v.id("workspaces"),
  targetKind: v.union(v.literal("skill"), v.literal("mcp"), v.literal("webhook")),
  skillId: v.optional(v.id("skillRegistry")),
  mcpServerId: v.optional(v.id("mcpServers")),
  channelId: v.optional(v.id("channelConfig")),
  targetName: v.string(),
  callerKind: v.string(),
  callerId: v.optional(v.string()),
  code: v.union(codeValidator, v.literal("OK")),
  allowed: v.boolean(),
  durationMs: v.number(),
  inputBytes: v.number(),
  outputBytes: v.number(),
  inputPreview: v.optional(v.string()),
  outputPreview: v.optional(v.string()),
  outputStorageId: v.optional(v.id("_storage")),
});

// ---------------------------------------------------------------------------------------------
// shared helpers

function jsonOf(value: unknown): string | null {
  try {
    const s = JSON.stringify(value ?? null);
    return s === undefined ? null : s;
  } catch {
    return null;
  }
}

function sourceOf(caller: Caller): string {
  return caller.id ? `${caller.kind}:${caller.id}` : caller.kind;
}

function denial(code: Code, retryAfterMs?: number): CheckResult {
  return retryAfterMs === undefined ? { ok: false, code } : { ok: false, code, retryAfterMs };
}

/** Resolves with the promise, or with "TIMEOUT" once `ms` pass. A late rejection is swallowed. */
async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | "TIMEOUT"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([
      p,
      new Promise<"TIMEOUT">((resolve) => {
        timer = setTimeout(() => resolve("TIMEOUT"), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * The target's own limit (its per-minute rate, when set, wins over the workspace's named limit),
 * then the global one; the first denial wins and only admitted calls reach the global bucket.
 */
async function targetThenGlobalLimit(
  ctx: MutationCtx,
  a: { workspaceId: Id<"workspaces">; name: "skillPerSkill" | "mcpPerServer"; key: string; category: string; source: string; ratePerMinute?: number },
): Promise<LimitResult> {
  const own = await enforceLimit(ctx, {
    workspaceId: a.workspaceId,
    name: a.name,
    key: a.key,
    category: a.category,
    source: a.source,
    override: a.ratePerMinute !== undefined ? { rate: a.ratePerMinute, periodMs: MINUTE } : undefined,
  });
  if (!own.ok) return own;
  return await enforceLimit(ctx, { workspaceId: a.workspaceId, name: "globalInvocations", key: "global", category: a.category, source: a.source });
}

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

/** Outputs larger than this go to file storage; the log keeps the reference and a preview. */
export const LARGE_OUTPUT_BYTES = 4 * 1024;

/** Stores a (redacted) output in file storage when it is large; undefined when it fits the log. */
async function storeLargeOutput(ctx: ActionCtx, redacted: unknown): Promise<Id<"_storage"> | undefined> {
  const json = jsonOf(redacted);
  if (json === null || utf8Length(json) <= LARGE_OUTPUT_BYTES) return undefined;
  return await ctx.storage.store(new Blob([json], { type: "application/json" }));
}

/**
 * Steps 9–10 for an allowed call: redact, log (preview; large outputs to file storage), deliver.
 * An invocation that cannot be logged does not deliver its output.
 */
async function deliverAllowed(
  ctx: ActionCtx,
  entry: Omit<InvocationLogEntry, "code" | "allowed" | "outputPreview" | "outputStorageId">,
  output: unknown,
): Promise<CheckResult> {
  const redacted = redactValue(output, []);
  const logged = await logFromAction(ctx, {
    ...entry,
    code: "OK",
    allowed: true,
    outputPreview: preview(redacted, [], PREVIEW_BYTES),
    outputStorageId: await storeLargeOutput(ctx, redacted),
  });
  return logged ? { ok: true, output: deliverable(redacted) } : denial("INTERNAL");
}

async function logFromAction(ctx: ActionCtx, entry: InvocationLogEntry, detail?: string): Promise<boolean> {
  try {
    await ctx.runMutation(internal.security.checker.logResult, { entry, detail });
    return true;
  } catch {
    return false;
  }
}

type LogBase = Pick<InvocationLogEntry, "workspaceId" | "targetKind" | "targetName" | "callerKind" | "callerId" | "inputBytes" | "inputPreview">;
type PrecheckDenied = { ok: false; code: Code; retryAfterMs?: number };

/** Size, validity and log preview of a call's input; the same for skills and MCP tools. */
function measureInput(input: unknown): { inputBytes: number; inputTooLarge: boolean; inputPreview: string } {
  const inputJson = jsonOf(input);
  const inputBytes = inputJson === null ? 0 : utf8Length(inputJson);
  const inputTooLarge = inputJson === null || inputBytes > MAX_INPUT_BYTES;
  return { inputBytes, inputTooLarge, inputPreview: preview(inputTooLarge ? "[input too large]" : input, [], PREVIEW_BYTES) };
}

/**
 * Runs a precheck mutation (which logs its own denials). If it throws, the checker could not
 * decide: deny (fail closed) and try to record it.
 */
async function runPrecheck<T extends { ok: true }>(
  ctx: ActionCtx,
  base: LogBase,
  startedAt: number,
  precheck: () => Promise<T | PrecheckDenied>,
): Promise<T | PrecheckDenied> {
  try {
    return await precheck();
  } catch {
    await logFromAction(ctx, { ...base, code: "INTERNAL", allowed: false, durationMs: Date.now() - startedAt, outputBytes: 0 });
    return { ok: false, code: "INTERNAL" };
  }
}

/** A precheck's denial: logged (with its security event) in the precheck's own transaction. */
async function denyInPrecheck(
  ctx: MutationCtx,
  entry: Omit<InvocationLogEntry, "code" | "allowed" | "durationMs" | "outputBytes">,
  startedAt: number,
  source: string,
  code: Code,
  retryAfterMs?: number,
  securityEvent = true,
): Promise<PrecheckDenied> {
  await writeInvocationLog(ctx, { ...entry, code, allowed: false, durationMs: Date.now() - startedAt, outputBytes: 0 }, { source, securityEvent });
  return { ok: false as const, code, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

// ---------------------------------------------------------------------------------------------
// skills

const skillForRun = v.object({
  _id: v.id("skillRegistry"),
  name: v.string(),
  type: v.union(v.literal("template"), v.literal("webhook"), v.literal("code"), v.literal("image")),
  config: v.any(),
  allowedDomains: v.array(v.string()),
  allowHttp: v.boolean(),
  secretNames: v.array(v.string()),
  timeoutMs: v.number(),
  maxOutputBytes: v.number(),
});

/** Steps 1–5 in one transaction: reads the skill, limit rows and limiter state; logs a denial itself. */
export const precheckSkill = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    skillName: v.string(),
    input: v.any(),
    inputTooLarge: v.boolean(),
    inputBytes: v.number(),
    inputPreview: v.string(),
    caller: callerValidator,
    startedAt: v.number(),
  },
  returns: v.union(
    v.object({ ok: v.literal(true), skill: skillForRun }),
    v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.optional(v.number()) }),
  ),
  handler: async (ctx, a) => {
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
    const deny = (code: Code, retryAfterMs?: number) => denyInPrecheck(ctx, entry, a.startedAt, source, code, retryAfterMs);

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
  },
});

/** The result of a run (allowed or denied after the precheck), in one transaction. */
export const logResult = internalMutation({
  args: { entry: logEntryValidator, detail: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, { entry, detail }) => {
    await writeInvocationLog(ctx, entry, { detail });
    return null;
  },
});

type Finished = { ok: true; output: unknown; bytes: number } | { ok: false; code: Code; host?: string };

/** A Convex value as is; anything Convex cannot carry (e.g. `$`-keys from an API) as its JSON text. */
function deliverable(value: JsonValue): unknown {
  try {
    convexToJson(value as Value);
    return value;
  } catch {
    return JSON.stringify(value);
  }
}

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

export const invokeSkill = internalAction({
  args: { workspaceId: v.id("workspaces"), skillName: v.string(), input: v.any(), caller: callerValidator },
  returns: checkResultValidator,
  handler: async (ctx, a): Promise<CheckResult> => {
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
        const detail = EGRESS_CODES.has(outcome.code) && outcome.host ? `skill=${skill.name} host=${outcome.host}` : undefined;
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
    if (m.bytes > skill.maxOutputBytes || m.bytes > OUTPUT_MAX_BYTES) return await finish({ ok: false, code: "OUTPUT_TOO_LARGE" });

    // 9–10. redact (token shapes; executors already removed the skill's own secret values) and log
    return await finish({ ok: true, output: m.output, bytes: m.bytes });
  },
});

// ---------------------------------------------------------------------------------------------
// MCP tools

export const precheckMcp = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    serverId: v.id("mcpServers"),
    toolName: v.string(),
    input: v.any(),
    inputTooLarge: v.boolean(),
    inputBytes: v.number(),
    inputPreview: v.string(),
    caller: callerValidator,
    startedAt: v.number(),
  },
  returns: v.union(
    v.object({
      ok: v.literal(true),
      targetName: v.string(),
      timeoutMs: v.number(),
      maxOutputBytes: v.number(),
    }),
    v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.optional(v.number()) }),
  ),
  handler: async (ctx, a) => {
    const found = await ctx.db.get(a.serverId);
    const server = found && found.workspaceId === a.workspaceId ? found : null;
    const toolName = a.toolName.slice(0, 128);
    const targetName = `${server ? server.name : "?"}/${toolName}`;
    const source = sourceOf(a.caller);
    const entry = {
      workspaceId: a.workspaceId,
      targetKind: "mcp" as const,
      mcpServerId: server?._id,
      targetName,
      callerKind: a.caller.kind,
      callerId: a.caller.id,
      inputBytes: a.inputBytes,
      inputPreview: a.inputPreview,
    };
    const deny = (code: Code, retryAfterMs?: number) => denyInPrecheck(ctx, entry, a.startedAt, source, code, retryAfterMs);

    if (!server || (server.status !== "approved" && server.status !== "disabled")) return await deny("MCP_SERVER_NOT_APPROVED");
    if (server.status === "disabled" || !server.enabled) return await deny("MCP_SERVER_DISABLED");
    const tool = await ctx.db
      .query("mcpTools")
      .withIndex("by_server_name", (q) => q.eq("serverId", server._id).eq("name", a.toolName))
      .first();
    if (!tool || tool.status !== "approved" || !tool.approvedHash) return await deny("MCP_TOOL_NOT_APPROVED");
    if (tool.hash !== tool.approvedHash) return await deny("MCP_TOOL_CHANGED");
    if (a.inputTooLarge || !validateInput(tool.inputSchema, a.input)) return await deny("INPUT_INVALID");
    const gate = await agencyGate(ctx, a.caller, {
      workspaceId: a.workspaceId,
      toolRef: mcpToolRef(server._id, tool.name),
      toolLabel: targetName,
      targetKind: "mcp",
      serverId: server._id,
      toolName: tool.name,
      input: a.input,
      inputPreview: a.inputPreview,
      defaultRisk: DEFAULT_MCP_RISK,
    });
    if (!gate.ok) return await denyInPrecheck(ctx, entry, a.startedAt, source, gate.code, undefined, gate.securityEvent);
    const limited = await targetThenGlobalLimit(ctx, {
      workspaceId: a.workspaceId,
      name: "mcpPerServer",
      key: `mcp:${server._id}`,
      category: "mcp",
      source,
      ratePerMinute: server.rateLimitPerMinute,
    });
    if (!limited.ok) return await deny(limited.code, limited.retryAfterMs);
    return {
      ok: true as const,
      targetName,
      timeoutMs: server.timeoutMs,
      maxOutputBytes: Math.min(server.maxOutputBytes, OUTPUT_MAX_BYTES),
    };
  },
});

export const callMcpTool = internalAction({
  args: {
    workspaceId: v.id("workspaces"),
    serverId: v.id("mcpServers"),
    toolName: v.string(),
    input: v.any(),
    caller: callerValidator,
  },
  returns: checkResultValidator,
  handler: async (ctx, a): Promise<CheckResult> => {
    const startedAt = Date.now();
    const measuredInput = measureInput(a.input);
    const base = {
      workspaceId: a.workspaceId,
      targetKind: "mcp" as const,
      targetName: `?/${a.toolName.slice(0, 128)}`,
      callerKind: a.caller.kind,
      callerId: a.caller.id,
      inputBytes: measuredInput.inputBytes,
      inputPreview: measuredInput.inputPreview,
    };
    const pre = await runPrecheck(ctx, base, startedAt, () =>
      ctx.runMutation(internal.security.checker.precheckMcp, {
        workspaceId: a.workspaceId,
        serverId: a.serverId,
        toolName: a.toolName,
        input: measuredInput.inputTooLarge ? null : a.input,
        ...measuredInput,
        caller: a.caller,
        startedAt,
      }),
    );
    if (!pre.ok) return pre;

    const entryBase = { ...base, mcpServerId: a.serverId, targetName: pre.targetName };
    const fail = async (code: Code): Promise<CheckResult> => {
      await logFromAction(ctx, { ...entryBase, code, allowed: false, durationMs: Date.now() - startedAt, outputBytes: 0 });
      return denial(code);
    };

    let res: Awaited<ReturnType<typeof runMcp>> | "TIMEOUT";
    try {
      res = await withDeadline(
        runMcp(ctx, { serverId: a.serverId, toolName: a.toolName, input: a.input, timeoutMs: pre.timeoutMs, maxOutputBytes: pre.maxOutputBytes }),
        pre.timeoutMs + EXECUTOR_GRACE_MS,
      );
    } catch {
      res = { ok: false, code: "UPSTREAM_ERROR" };
    }
    if (res === "TIMEOUT") return await fail("TIMEOUT");
    if (!res.ok) return await fail(asCode(res.code, "UPSTREAM_ERROR"));
    const outJson = jsonOf(res.output);
    const outBytes = Math.max(res.bytes ?? 0, outJson === null ? Infinity : utf8Length(outJson));
    if (outBytes > pre.maxOutputBytes) return await fail("OUTPUT_TOO_LARGE");
    return await deliverAllowed(ctx, { ...entryBase, durationMs: Date.now() - startedAt, outputBytes: outBytes }, res.output);
  },
});

function runMcp(
  ctx: ActionCtx,
  args: { serverId: Id<"mcpServers">; toolName: string; input: unknown; timeoutMs: number; maxOutputBytes: number },
) {
  return ctx.runAction(internal.mcp.client.callTool, args);
}

