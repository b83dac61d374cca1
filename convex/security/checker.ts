/**
 * The security checker: the only way to run a skill, call an external MCP tool or admit an
 * inbound channel webhook. It has no switch — no flag, env var or config row turns it off.
 *
 * This file registers the entry points; each lives in its own module on the shared pipeline
 * (checkerPipeline.ts): skills in checkerSkill.ts, MCP tools in checkerMcp.ts, webhook admission
 * in checkerWebhook.ts (a plain function inside the admitting mutation).
 * Every result, allowed or denied, is an invocation-log row; denials are security events.
 * Callers get `{ ok: false, code }` only — no messages, no stack.
 */
import { v } from "convex/values";
import { internalAction, internalMutation } from "../_generated/server";
import { writeInvocationLog } from "./checkerLog";
import { logEntryValidator } from "./checkerPipeline";
import {
  invokeSkillArgs,
  invokeSkillHandler,
  invokeSkillReturns,
  precheckSkillArgs,
  precheckSkillHandler,
  precheckSkillReturns,
} from "./checkerSkill";
import {
  callMcpToolArgs,
  callMcpToolHandler,
  callMcpToolReturns,
  precheckMcpArgs,
  precheckMcpHandler,
  precheckMcpReturns,
} from "./checkerMcp";

export {
  EXECUTOR_GRACE_MS,
  LARGE_OUTPUT_BYTES,
  callerValidator,
  checkResultValidator,
  type CheckResult,
} from "./checkerPipeline";
export { reachesNetwork } from "./checkerSkill";

/** Skill steps 1–5 in one transaction: reads the skill, limit rows and limiter state; logs a denial itself. */
export const precheckSkill = internalMutation({
  args: precheckSkillArgs,
  returns: precheckSkillReturns,
  handler: precheckSkillHandler,
});

/** Runs a skill by name through the whole pipeline. */
export const invokeSkill = internalAction({
  args: invokeSkillArgs,
  returns: invokeSkillReturns,
  handler: invokeSkillHandler,
});

/** MCP steps up to the call in one transaction; logs a denial itself. */
export const precheckMcp = internalMutation({
  args: precheckMcpArgs,
  returns: precheckMcpReturns,
  handler: precheckMcpHandler,
});

/** Calls an approved tool of an approved MCP server through the whole pipeline. */
export const callMcpTool = internalAction({
  args: callMcpToolArgs,
  returns: callMcpToolReturns,
  handler: callMcpToolHandler,
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
