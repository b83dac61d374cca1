/**
 * The checker's MCP entry: server approved → enabled → tool approved & unchanged → input schema →
 * agency → per-server limit → global limit → call → output size → redact → log. Registered in
 * checker.ts (security/checker:precheckMcp, :callMcpTool).
 */
import { v, type Infer, type ObjectType } from "convex/values";
import type { ActionCtx, MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { validateInput } from "../lib/jsonSchema";
import { utf8Length } from "../lib/redact";
import { OUTPUT_MAX_BYTES } from "../skills/validate";
import { agencyGate } from "../agency/gate";
import { asCode, codeValidator, type Code } from "../lib/codes";
import { DEFAULT_MCP_RISK, mcpToolRef } from "../lib/agency";
import {
  callerValidator,
  checkResultValidator,
  deliverAllowed,
  denial,
  denyInPrecheck,
  EXECUTOR_GRACE_MS,
  jsonOf,
  logFromAction,
  measureInput,
  runPrecheck,
  sourceOf,
  targetThenGlobalLimit,
  withDeadline,
  type CheckResult,
} from "./checkerPipeline";

export const precheckMcpArgs = {
  workspaceId: v.id("workspaces"),
  serverId: v.id("mcpServers"),
  toolName: v.string(),
  input: v.any(),
  inputTooLarge: v.boolean(),
  inputBytes: v.number(),
  inputPreview: v.string(),
  caller: callerValidator,
  startedAt: v.number(),
};
export const precheckMcpReturns = v.union(
  v.object({
    ok: v.literal(true),
    targetName: v.string(),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
  }),
  v.object({ ok: v.literal(false), code: codeValidator, retryAfterMs: v.optional(v.number()) }),
);

export async function precheckMcpHandler(
  ctx: MutationCtx,
  a: ObjectType<typeof precheckMcpArgs>,
): Promise<Infer<typeof precheckMcpReturns>> {
  const found = await ctx.db.get("mcpServers", a.serverId);
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
  const deny = (code: Code, retryAfterMs?: number) =>
    denyInPrecheck(ctx, entry, a.startedAt, source, code, retryAfterMs);

  if (!server || (server.status !== "approved" && server.status !== "disabled"))
    return await deny("MCP_SERVER_NOT_APPROVED");
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
}

export const callMcpToolArgs = {
  workspaceId: v.id("workspaces"),
  serverId: v.id("mcpServers"),
  toolName: v.string(),
  input: v.any(),
  caller: callerValidator,
};
export const callMcpToolReturns = checkResultValidator;

export async function callMcpToolHandler(ctx: ActionCtx, a: ObjectType<typeof callMcpToolArgs>): Promise<CheckResult> {
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
    await logFromAction(ctx, {
      ...entryBase,
      code,
      allowed: false,
      durationMs: Date.now() - startedAt,
      outputBytes: 0,
    });
    return denial(code);
  };

  let res: Awaited<ReturnType<typeof runMcp>> | "TIMEOUT";
  try {
    res = await withDeadline(
      runMcp(ctx, {
        serverId: a.serverId,
        toolName: a.toolName,
        input: a.input,
        timeoutMs: pre.timeoutMs,
        maxOutputBytes: pre.maxOutputBytes,
      }),
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
  return await deliverAllowed(
    ctx,
    { ...entryBase, durationMs: Date.now() - startedAt, outputBytes: outBytes },
    res.output,
  );
}

function runMcp(
  ctx: ActionCtx,
  args: { serverId: Id<"mcpServers">; toolName: string; input: unknown; timeoutMs: number; maxOutputBytes: number },
) {
  return ctx.runAction(internal.mcp.outbound.client.callTool, args);
}
