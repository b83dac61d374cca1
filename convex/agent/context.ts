import { v, type Infer } from "convex/values";
import { internalMutation } from "../_generated/server";
import type { QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { logActivity } from "./activity";
import { isActivityChannel, type ActivityChannel, type ActivityKind, ACTIVITY_TEMPLATES } from "./activityTemplates";
import { readConfig } from "./configLib";
import { ADAPTERS, isPlatform } from "../channels/platforms/index";
import { activityMetaValidator } from "./tables";
import { OFFLINE_SPEC, type ProviderSpec } from "./model";
import { queueReply } from "../channels/delivery";
import {
  audienceOf,
  DEFAULT_MCP_RISK,
  defaultSkillRisk,
  mcpToolRef,
  policyFor,
  skillToolRef,
  taintedFromStart,
  type Audience,
} from "../lib/agency";
import { grantFor } from "../agency/gate";
import { audienceValidator, policyValidator, riskClassValidator } from "../agency/tables";
import { reachesNetwork } from "../security/checker";

const HISTORY_TAKE = 21;
const MAX_TOOLS_PER_SERVER = 50;

const specValidator = v.object({
  kind: v.union(
    v.literal("offline"),
    v.literal("openai"),
    v.literal("openai-compatible"),
    v.literal("anthropic"),
    v.literal("openrouter"),
  ),
  model: v.string(),
  label: v.string(),
  baseUrl: v.optional(v.string()),
  apiKeyEnvVar: v.optional(v.string()),
});

const toolInfo = v.object({
  name: v.string(),
  description: v.string(),
  inputSchema: v.any(),
  policy: policyValidator,
  risk: riskClassValidator,
});

export const contextValidator = v.object({
  workspaceId: v.id("workspaces"),
  threadId: v.id("threads"),
  channel: v.string(),
  /** on whose behalf this run acts, and whether untrusted content is in its context from the start */
  audience: audienceValidator,
  tainted: v.boolean(),
  soul: v.string(),
  history: v.array(v.object({ role: v.union(v.literal("user"), v.literal("assistant")), text: v.string() })),
  primary: specValidator,
  fallback: v.union(specValidator, v.null()),
  skills: v.array(
    v.object({
      name: v.string(),
      description: v.string(),
      inputSchema: v.any(),
      approved: v.boolean(),
      policy: policyValidator,
      risk: riskClassValidator,
    }),
  ),
  mcpServers: v.array(v.object({ serverId: v.id("mcpServers"), name: v.string(), tools: v.array(toolInfo) })),
});

async function specFor(
  ctx: QueryCtx,
  workspaceId: Id<"workspaces">,
  providerId: Id<"modelProviders"> | undefined,
  model: string,
): Promise<ProviderSpec> {
  if (!providerId) return OFFLINE_SPEC;
  const p = await ctx.db.get("modelProviders", providerId);
  // a deleted provider fails like a provider without a key (then the fallback is tried)
  if (!p || p.workspaceId !== workspaceId) return { kind: "openai", model, label: "missing" };
  if (p.kind === "offline") return { ...OFFLINE_SPEC, label: p.label };
  return { kind: p.kind, model, label: p.label, baseUrl: p.baseUrl, apiKeyEnvVar: p.apiKeyEnvVar };
}

async function audienceFor(ctx: QueryCtx, thread: Doc<"threads">): Promise<{ audience: Audience; platform?: string }> {
  const user = thread.channelUserId ? await ctx.db.get("channelUsers", thread.channelUserId) : null;
  return { audience: audienceOf({ web: !user, trust: user?.trust }), platform: user?.platform };
}

async function channelOf(ctx: QueryCtx, thread: Doc<"threads">): Promise<ActivityChannel | "unknown"> {
  if (thread.sessionId) return "web";
  if (thread.channelUserId) {
    const u = await ctx.db.get("channelUsers", thread.channelUserId);
    if (u && isActivityChannel(u.platform)) return u.platform;
  }
  return "unknown";
}

export type RunContext = Infer<typeof contextValidator>;

/**
 * Everything one agent run needs for the pending assistant message `msg` (read by agent/runs:startRun
 * in the transaction that claims it); null when its thread is gone.
 */
export async function loadContext(ctx: QueryCtx, msg: Doc<"messages">): Promise<RunContext | null> {
  const thread = await ctx.db.get("threads", msg.threadId);
  if (!thread) return null;
  const workspaceId = thread.workspaceId;
  const cfg = await readConfig(ctx, workspaceId);

  const older = await ctx.db
    .query("messages")
    .withIndex("by_thread", (q) => q.eq("threadId", thread._id).lt("createdAt", msg.createdAt))
    .order("desc")
    .take(HISTORY_TAKE);
  const history = older
    .reverse()
    .filter((m) => (m.role === "user" || m.role === "assistant") && m.status === "done")
    .map((m) => ({ role: m.role as "user" | "assistant", text: m.text }));

  const primary = await specFor(ctx, workspaceId, cfg.providerId, cfg.model);
  const fallback = cfg.fallbackModel
    ? await specFor(ctx, workspaceId, cfg.fallbackProviderId, cfg.fallbackModel)
    : null;

  const { audience, platform } = await audienceFor(ctx, thread);
  const skills = [];
  for (const id of cfg.enabledSkillIds) {
    const s = await ctx.db.get("skillRegistry", id);
    if (s && s.workspaceId === workspaceId) {
      const grant = await grantFor(ctx, workspaceId, skillToolRef(s.name));
      skills.push({
        name: s.name,
        description: s.description.slice(0, 500),
        inputSchema: s.inputSchema ?? null,
        approved: s.status === "approved",
        policy: policyFor(grant, audience),
        risk: grant?.riskClass ?? defaultSkillRisk(reachesNetwork(s)),
      });
    }
  }
  const mcpServers = [];
  for (const id of cfg.enabledMcpServerIds) {
    const s = await ctx.db.get("mcpServers", id);
    if (!s || s.workspaceId !== workspaceId) continue;
    const tools = await ctx.db
      .query("mcpTools")
      .withIndex("by_server", (q) => q.eq("serverId", id))
      .take(MAX_TOOLS_PER_SERVER);
    const offered: Infer<typeof toolInfo>[] = [];
    if (s.status === "approved" && s.enabled) {
      for (const t of tools) {
        if (t.status !== "approved") continue;
        const grant = await grantFor(ctx, workspaceId, mcpToolRef(id, t.name));
        offered.push({
          name: t.name,
          description: t.description.slice(0, 500),
          inputSchema: t.inputSchema ?? null,
          policy: policyFor(grant, audience),
          risk: grant?.riskClass ?? DEFAULT_MCP_RISK,
        });
      }
    }
    mcpServers.push({ serverId: id, name: s.name, tools: offered });
  }
  const taintedAt = thread.taintedAt;
  const tainted = taintedFromStart({
    audience,
    untrustedChannel: platform !== undefined && isPlatform(platform) && ADAPTERS[platform].untrustedContent,
    mcpToolsOffered: mcpServers.some((srv) => srv.tools.some((t) => t.policy !== "deny")),
    taintedHistory: taintedAt !== undefined && older.some((m) => m.createdAt >= taintedAt),
  });
  return {
    workspaceId,
    threadId: thread._id,
    channel: await channelOf(ctx, thread),
    audience,
    tainted,
    soul: cfg.soul,
    history,
    primary,
    fallback,
    skills,
    mcpServers,
  };
}

const activityEntry = v.object({ kind: v.string(), meta: v.optional(activityMetaValidator) });

/** Fills the placeholder and writes the run's activity entries (private; no message text). */
export const finish = internalMutation({
  args: {
    assistantMessageId: v.id("messages"),
    text: v.string(),
    status: v.union(v.literal("done"), v.literal("error")),
    errorCode: v.optional(v.string()),
    activity: v.array(activityEntry),
    /** untrusted content reached this answer: later runs that still see it are tainted */
    tainted: v.optional(v.boolean()),
  },
  /** the channel reply queued with the answer: the calling run makes its first delivery attempt */
  returns: v.union(v.null(), v.id("channelOutbox")),
  handler: async (ctx, a) => {
    const msg = await ctx.db.get("messages", a.assistantMessageId);
    // only the first finish counts: a duplicate or superseded attempt changes nothing
    if (!msg || (msg.status !== "pending" && msg.status !== "streaming")) return null;
    await ctx.db.patch("messages", msg._id, {
      text: a.text,
      status: a.status,
      errorCode: a.errorCode,
      leaseUntil: undefined,
      running: undefined,
    });
    const thread = await ctx.db.get("threads", msg.threadId);
    if (!thread) return null;
    // a channel reply is queued in the same transaction as the answer, so it is queued exactly once
    const outboxId = thread.channelUserId
      ? await queueReply(ctx, thread.channelUserId, a.text, { messageId: msg._id, sendByCaller: true })
      : null;
    await ctx.db.patch("threads", thread._id, {
      updatedAt: Math.max(Date.now(), thread.updatedAt),
      ...(a.tainted ? { taintedAt: msg.createdAt } : {}),
    });
    const channel = await channelOf(ctx, thread);
    for (const e of a.activity.slice(0, 20)) {
      if (!(e.kind in ACTIVITY_TEMPLATES)) continue;
      await logActivity(ctx, {
        workspaceId: thread.workspaceId,
        kind: e.kind as ActivityKind,
        channel: channel === "unknown" ? undefined : channel,
        meta: { ...(e.meta ?? {}), threadId: thread._id },
      });
    }
    return outboxId;
  },
});
