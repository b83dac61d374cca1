"use node";
import { v } from "convex/values";
import { internalAction, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import {
  runModel,
  UNAVAILABLE_TEXT,
  APPROVAL_PENDING_TEXT,
  type ModelRun,
  type ProviderSpec,
  type ToolDef,
} from "./model";
import { providerFetch } from "./providerFetch.node.js";
import { partialWriter, type PartialWriter } from "./partialWriter";
import type { ToolOutcome } from "./prompt";
import { toolLabel, type ToolCall } from "../lib/offlineModel";
import { taints, type RiskClass } from "../lib/agency";
import { logWarn } from "../lib/log";
import { exportTrace, newTrace, NOOP_TRACE, SpanKind, traceSetting, type Attrs, type Span } from "../lib/trace";
import type { RunContext } from "./context";
import { definedMeta, type ActivityMetaInput } from "./tables";

type CheckerResult = { ok: true; output: unknown } | { ok: false; code: string; retryAfterMs?: number };
type Caller = { kind: "agent"; id?: string; audience?: string; tainted?: boolean };

const MAX_TOOL_CALLS = 8;

type Activity = { kind: string; meta?: ActivityMetaInput };

function toolName(prefix: string, ...parts: string[]): string {
  return `${prefix}_${parts.join("__")}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

/** Runs the model(s) for one pending reply: primary, then the fallback on failure. */
type RunResult = {
  text: string;
  status: "done" | "error";
  errorCode?: string;
  activity: Activity[];
  tainted?: boolean;
};

async function runAgent(ctx: ActionCtx, c: RunContext, stream?: PartialWriter, runSpan?: Span): Promise<RunResult> {
  const started = Date.now();
  let modelSpan = runSpan; // tool calls nest under the model call that made them
  const activity: Activity[] = [];
  // the audience and taint come from the thread (agent/context), never from the model
  let tainted = c.tainted;
  let approvalPending = false;
  const callerNow = (): Caller => ({ kind: "agent", id: c.threadId, audience: c.audience, tainted });
  let calls = 0;

  const notOffered = async (
    call: ToolCall,
    code: "TOOL_NOT_OFFERED" | "TOOL_NOT_ENABLED" = "TOOL_NOT_OFFERED",
  ): Promise<ToolOutcome> => {
    await ctx.runMutation(internal.agency.offered.recordNotOffered, {
      workspaceId: c.workspaceId,
      threadId: c.threadId,
      targetKind: call.kind,
      targetName: call.kind === "skill" ? call.name : `${call.server}/${call.tool}`,
      audience: c.audience,
      code,
    });
    return { call, ok: false, code };
  };

  const execute = async (call: ToolCall): Promise<ToolOutcome> => {
    let outcome: ToolOutcome;
    let risk: string | undefined;
    const span = modelSpan?.child("warden.checker", toolAttrs(c, call));
    if (++calls > MAX_TOOL_CALLS) {
      outcome = { call, ok: false, code: "RATE_LIMITED" };
    } else if (call.kind === "skill") {
      const skill = c.skills.find((s) => s.name === call.name);
      risk = skill?.risk;
      outcome = !skill
        ? await notOffered(call, "TOOL_NOT_ENABLED")
        : skill.policy === "deny"
          ? await notOffered(call)
          : await checked(
              ctx,
              call,
              () =>
                ctx.runAction(internal.security.checker.invokeSkill, {
                  workspaceId: c.workspaceId,
                  skillName: call.name,
                  input: call.input,
                  caller: callerNow(),
                }),
              span,
            );
    } else {
      const server = c.mcpServers.find((s) => s.name === call.server);
      const tool = server?.tools.find((t) => t.name === call.tool);
      risk = tool?.risk;
      outcome = !server
        ? await notOffered(call, "TOOL_NOT_ENABLED")
        : tool?.policy === "deny"
          ? await notOffered(call)
          : await checked(
              ctx,
              call,
              () =>
                ctx.runAction(internal.security.checker.callMcpTool, {
                  workspaceId: c.workspaceId,
                  serverId: server.serverId,
                  toolName: call.tool,
                  input: call.input,
                  caller: callerNow(),
                }),
              span,
            );
    }
    if (outcome.ok && taints(risk as RiskClass | undefined)) tainted = true; // its output is untrusted content now
    if (!outcome.ok && outcome.code === "APPROVAL_REQUIRED") approvalPending = true;
    activity.push({ kind: "agent.tool_call", meta: { tool: toolLabel(call), code: outcome.ok ? "OK" : outcome.code } });
    span
      ?.set({ "warden.checker.code": outcome.ok ? "OK" : outcome.code, "warden.checker.allowed": outcome.ok })
      .end(outcome.ok ? undefined : outcome.code);
    return outcome;
  };

  const tools: ToolDef[] = [
    // offered: approved tools this audience may use (allow, or ask → the checker queues the call)
    ...c.skills
      .filter((s) => s.approved && s.policy !== "deny")
      .map((s) => ({
        modelName: toolName("skill", s.name),
        description: s.description,
        inputSchema: s.inputSchema,
        toCall: (input: Record<string, unknown>): ToolCall => ({ kind: "skill", name: s.name, input }),
      })),
    ...c.mcpServers.flatMap((srv) =>
      srv.tools
        .filter((t) => t.policy !== "deny")
        .map((t) => ({
          modelName: toolName("mcp", srv.name, t.name),
          description: t.description,
          inputSchema: t.inputSchema,
          toCall: (input: Record<string, unknown>): ToolCall => ({
            kind: "mcp",
            server: srv.name,
            tool: t.name,
            input,
          }),
        })),
    ),
  ];

  const attempt = async (spec: ProviderSpec, role: "primary" | "fallback" = "primary"): Promise<ModelRun> => {
    modelSpan = runSpan?.child(
      "warden.agent.model",
      { "gen_ai.system": spec.kind, "gen_ai.request.model": spec.model, "warden.model.role": role },
      SpanKind.CLIENT,
    );
    const r = await runModel(spec, {
      soul: c.soul,
      history: c.history,
      tools,
      execute,
      fetchFor: providerFetch,
      onPartial: stream?.push,
    });
    modelSpan
      ?.set({
        "warden.model.outcome": r.ok ? "ok" : r.reason,
        "warden.tool_calls": r.toolCalls,
        ...(r.ok ? {} : { "http.response.status_code": r.status, "warden.egress_code": r.egressCode }),
      })
      .end(r.ok ? undefined : "PROVIDER_ERROR");
    if (!r.ok) {
      const meta = {
        code: "PROVIDER_ERROR",
        provider: spec.label,
        providerKind: spec.kind,
        model: spec.model,
        reason: r.reason,
        status: r.status,
        egressCode: r.egressCode,
      };
      activity.push({ kind: "agent.provider_error", meta });
      logWarn("agent.provider_error", { workspaceId: c.workspaceId, ...meta });
    }
    return r;
  };

  let used = c.primary;
  let result = await attempt(c.primary);
  let fallbackUsed = false;
  if (!result.ok && c.fallback) {
    activity.push({
      kind: "agent.fallback",
      meta: {
        from: { provider: c.primary.label, model: c.primary.model },
        to: { provider: c.fallback.label, model: c.fallback.model },
        reason: result.reason,
      },
    });
    logWarn("agent.fallback_activated", {
      workspaceId: c.workspaceId,
      from: c.primary.label,
      to: c.fallback.label,
      reason: result.reason,
    });
    used = c.fallback;
    fallbackUsed = true;
    result = await attempt(c.fallback, "fallback");
  }

  await stream?.close(); // no partial write after this: finish writes the answer
  const meta = {
    provider: used.label,
    model: used.model,
    fallback: fallbackUsed,
    toolCalls: calls,
    durationMs: Date.now() - started,
    ...(stream ? { partialWrites: stream.writes } : {}),
  };
  if (result.ok) {
    activity.push({ kind: "agent.reply", meta });
    // the run pauses on a call that needs an owner: the answer comes when they decide
    return { text: approvalPending ? APPROVAL_PENDING_TEXT : result.text, status: "done", activity, tainted };
  }
  activity.push({ kind: "agent.reply_failed", meta: { ...meta, code: "PROVIDER_ERROR" } });
  return { text: UNAVAILABLE_TEXT, status: "error", errorCode: "PROVIDER_ERROR", activity, tainted };
}

async function checked(
  ctx: ActionCtx,
  call: ToolCall,
  run: () => Promise<CheckerResult>,
  parent?: Span,
): Promise<ToolOutcome> {
  void ctx;
  parent?.set({ "warden.checker.stage": "checker" });
  // the call into security/checker: its steps and, when it allows the call, the tool itself
  const span = parent?.child("warden.tool", { "warden.tool.kind": call.kind }, SpanKind.CLIENT);
  try {
    const r = await run();
    span
      ?.set(
        r.ok
          ? { "warden.checker.code": "OK" }
          : { "warden.checker.code": r.code, "warden.retry_after_ms": r.retryAfterMs },
      )
      .end(r.ok ? undefined : r.code);
    return r.ok ? { call, ok: true, output: r.output } : { call, ok: false, code: r.code };
  } catch (err) {
    logWarn("agent.tool_call_failed", { tool: toolLabel(call), error: err instanceof Error ? err.name : "unknown" });
    span?.end("INTERNAL");
    return { call, ok: false, code: "INTERNAL" };
  }
}

/** Span attributes of one tool call: names only when the owner's configuration has them, never the model's words. */
function toolAttrs(c: RunContext, call: ToolCall): Attrs {
  if (call.kind === "skill")
    return {
      "warden.tool.kind": "skill",
      "warden.skill.name": c.skills.find((s) => s.name === call.name)?.name,
      "warden.checker.stage": "run",
    };
  const server = c.mcpServers.find((s) => s.name === call.server);
  return {
    "warden.tool.kind": "mcp",
    "warden.mcp.server": server?.name,
    "warden.mcp.tool": server?.tools.find((t) => t.name === call.tool)?.name,
    "warden.checker.stage": "run",
  };
}

async function respondTo(
  ctx: ActionCtx,
  assistantMessageId: Id<"messages">,
): Promise<{ text: string; status: "done" | "error" } | null> {
  // the lease: a duplicate job, or one for a message that is done or past its deadline, stops here
  const c = await ctx.runMutation(internal.agent.runs.startRun, { assistantMessageId });
  if (!c) return null;
  // optional OpenTelemetry trace (lib/trace): off unless the operator set an OTLP endpoint
  const tracing = traceSetting(process.env);
  if (!tracing.on && tracing.reason === "invalid") logWarn("trace.config_invalid", {});
  const trace = tracing.on ? newTrace() : NOOP_TRACE;
  const runSpan = trace.root(
    "warden.agent.run",
    {
      "warden.workspace_id": c.workspaceId,
      "warden.thread_id": c.threadId,
      "warden.run_id": assistantMessageId,
      "warden.channel": c.channel,
      "warden.audience": c.audience,
      "warden.tainted": c.tainted,
    },
    SpanKind.SERVER,
  );
  // a web visitor watches the answer arrive; a channel gets the whole reply at the end
  const stream =
    c.channel === "web"
      ? partialWriter((text) => ctx.runMutation(internal.agent.stream.partial, { assistantMessageId, text }))
      : undefined;
  let out;
  try {
    out = await runAgent(ctx, c, stream, runSpan);
  } catch (err) {
    await stream?.close();
    logWarn("agent.run_failed", { error: err instanceof Error ? err.name : "unknown" });
    out = {
      text: UNAVAILABLE_TEXT,
      status: "error" as const,
      errorCode: "INTERNAL",
      activity: [{ kind: "agent.reply_failed", meta: { code: "INTERNAL" } }],
    };
  }
  try {
    const outboxId = await ctx.runMutation(internal.agent.context.finish, {
      assistantMessageId,
      ...out,
      activity: out.activity.map((a) => ({ kind: a.kind, ...(a.meta ? { meta: definedMeta(a.meta) } : {}) })),
    });
    // the reply's first attempt: if it throws or this run dies, the row's lease runs out and the sweeper sends it
    if (outboxId)
      await ctx
        .runAction(internal.channels.replies.send, { outboxId })
        .catch((err: unknown) =>
          logWarn("reply.first_attempt_failed", { error: err instanceof Error ? err.name : "unknown" }),
        );
  } finally {
    // after the answer is stored: the export (bounded by its timeout, never throwing) delays no reply
    const reply = out.activity.find((a) => a.kind === "agent.reply" || a.kind === "agent.reply_failed")?.meta;
    runSpan
      .set({
        "warden.status": out.status,
        "warden.error_code": out.errorCode,
        "warden.tool_calls": reply?.toolCalls as number | undefined,
        "warden.fallback": reply?.fallback as boolean | undefined,
        "warden.approval_pending": out.status === "done" && out.text === APPROVAL_PENDING_TEXT,
      })
      .end(out.status === "done" ? undefined : (out.errorCode ?? "INTERNAL"));
    if (tracing.on) await exportTrace(trace, tracing.config);
  }
  return { text: out.text, status: out.status };
}

/** Scheduled by chat.send (and voice transcripts): fills the pending assistant message. */
export const respond = internalAction({
  args: { assistantMessageId: v.id("messages") },
  returns: v.null(),
  handler: async (ctx, { assistantMessageId }) => {
    await respondTo(ctx, assistantMessageId);
    return null;
  },
});

/**
 * Channel hand-off: scheduled by the channels domain after it verified the webhook, applied the
 * per-user limit and recorded the turn (agent/context:channelTurn). Only ids are arguments;
 * agent/context:finish queues the reply in the channels outbox in the answer's transaction.
 */
export const handleChannelMessage = internalAction({
  args: { channelUserId: v.id("channelUsers"), assistantMessageId: v.id("messages") },
  returns: v.object({ ok: v.boolean(), code: v.optional(v.string()) }),
  handler: async (ctx, { assistantMessageId }): Promise<{ ok: boolean; code?: string }> => {
    const reply = await respondTo(ctx, assistantMessageId);
    if (!reply) return { ok: false, code: "INTERNAL" };
    return { ok: reply.status === "done", code: reply.status === "done" ? undefined : "PROVIDER_ERROR" };
  },
});
