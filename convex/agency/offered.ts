/**
 * A model that names a tool it was not offered for this audience (prompt injection, or a model
 * that ignores its tool list), or a tool the agent config does not enable at all: logged as an
 * invocation denial and a security event (TOOL_NOT_OFFERED / TOOL_NOT_ENABLED), and never sent
 * to the checker — so every denied call the agent makes is in the invocation log.
 */
import { v } from "convex/values";
import { internalMutation } from "../_generated/server";
import { writeInvocationLog } from "../security/checkerLog";

export const recordNotOffered = internalMutation({
  args: {
    workspaceId: v.id("workspaces"),
    threadId: v.id("threads"),
    targetKind: v.union(v.literal("skill"), v.literal("mcp")),
    targetName: v.string(),
    audience: v.string(),
    code: v.optional(v.union(v.literal("TOOL_NOT_OFFERED"), v.literal("TOOL_NOT_ENABLED"))),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    await writeInvocationLog(
      ctx,
      {
        workspaceId: a.workspaceId,
        targetKind: a.targetKind,
        targetName: a.targetName.slice(0, 200),
        callerKind: "agent",
        callerId: a.threadId,
        code: a.code ?? "TOOL_NOT_OFFERED",
        allowed: false,
        durationMs: 0,
        inputBytes: 0,
        outputBytes: 0,
        inputPreview: "",
      },
      { source: `agent:${a.threadId}`, detail: `audience=${a.audience} tool=${a.targetName.slice(0, 100)}` },
    );
    return null;
  },
});
