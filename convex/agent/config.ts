import { v } from "convex/values";
import { omit } from "convex-helpers";
import schema from "../schema";
import type { Id } from "../_generated/dataModel";
import type { MutationCtx } from "../_generated/server";
import { viewerQuery, ownerMutation } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { sanitizeText, sanitizeLine } from "../lib/sanitize";
import { logActivity } from "./activity";
import { getOrCreateConfig, readConfig } from "./configLib";
import { validModelName } from "./providerRules";

const MAX_NAME = 80;
const MAX_SOUL = 8000;
const MAX_ENABLED = 50;

/** The stored config without its workspace (what `get` returns), plus whether it was ever saved. */
const configView = v.object({
  ...omit(schema.tables.agentConfig.validator.fields, ["workspaceId"]),
  persisted: v.boolean(),
});

/** The workspace's agent config (the default one when never saved). */
export const get = viewerQuery({
  args: {},
  returns: configView,
  handler: async (ctx) => {
    const { workspaceId, ...rest } = await readConfig(ctx, ctx.principal.workspaceId);
    void workspaceId;
    return rest;
  },
});

async function providerLabel(ctx: MutationCtx, id: Id<"modelProviders"> | undefined): Promise<string> {
  if (!id) return "offline";
  const p = await ctx.db.get("modelProviders", id);
  return p ? `${p.kind}:${p.label}` : "missing";
}

/** Owners edit the agent: validated lengths, ids checked against the workspace, audited; model changes logged. */
export const update = ownerMutation({
  args: {
    name: v.optional(v.string()),
    soul: v.optional(v.string()),
    model: v.optional(v.string()),
    fallbackModel: v.optional(v.union(v.string(), v.null())),
    providerId: v.optional(v.union(v.id("modelProviders"), v.null())),
    fallbackProviderId: v.optional(v.union(v.id("modelProviders"), v.null())),
    enabledSkillIds: v.optional(v.array(v.id("skillRegistry"))),
    enabledMcpServerIds: v.optional(v.array(v.id("mcpServers"))),
    voiceAgentId: v.optional(v.union(v.string(), v.null())),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const wid = ctx.principal.workspaceId;
    const cfg = await getOrCreateConfig(ctx, wid);
    const patch: Record<string, unknown> = {};

    if (a.name !== undefined) {
      const name = sanitizeLine(a.name, MAX_NAME + 1);
      if (name.length === 0 || a.name.length > MAX_NAME) fail("CONFIG_INVALID", { field: "name" });
      patch.name = name;
    }
    if (a.soul !== undefined) {
      if (a.soul.length > MAX_SOUL) fail("CONFIG_INVALID", { field: "soul" });
      const soul = sanitizeText(a.soul, { maxChars: MAX_SOUL });
      if (soul.length === 0) fail("CONFIG_INVALID", { field: "soul" });
      patch.soul = soul;
    }
    if (a.model !== undefined) {
      if (!validModelName(a.model)) fail("CONFIG_INVALID", { field: "model" });
      patch.model = a.model;
    }
    if (a.fallbackModel !== undefined) {
      if (a.fallbackModel !== null && !validModelName(a.fallbackModel))
        fail("CONFIG_INVALID", { field: "fallbackModel" });
      patch.fallbackModel = a.fallbackModel ?? undefined;
    }
    for (const key of ["providerId", "fallbackProviderId"] as const) {
      const id = a[key];
      if (id === undefined) continue;
      if (id !== null) await getOwned(await ctx.db.get("modelProviders", id), ctx.principal);
      patch[key] = id ?? undefined;
    }
    if (a.enabledSkillIds !== undefined) {
      if (a.enabledSkillIds.length > MAX_ENABLED) fail("CONFIG_INVALID", { field: "enabledSkillIds" });
      for (const id of a.enabledSkillIds) await getOwned(await ctx.db.get("skillRegistry", id), ctx.principal);
      patch.enabledSkillIds = [...new Set(a.enabledSkillIds)];
    }
    if (a.enabledMcpServerIds !== undefined) {
      if (a.enabledMcpServerIds.length > MAX_ENABLED) fail("CONFIG_INVALID", { field: "enabledMcpServerIds" });
      for (const id of a.enabledMcpServerIds) await getOwned(await ctx.db.get("mcpServers", id), ctx.principal);
      patch.enabledMcpServerIds = [...new Set(a.enabledMcpServerIds)];
    }
    if (a.voiceAgentId !== undefined) {
      if (a.voiceAgentId !== null && !/^[A-Za-z0-9_-]{1,100}$/.test(a.voiceAgentId))
        fail("CONFIG_INVALID", { field: "voiceAgentId" });
      patch.voiceAgentId = a.voiceAgentId ?? undefined;
    }

    const after = { ...cfg, ...patch };
    await ctx.db.patch("agentConfig", cfg._id, { ...patch, updatedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: wid,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "agent.config.update",
      target: cfg._id,
      before: summarize(cfg),
      after: summarize(after),
    });

    const switched =
      cfg.model !== after.model ||
      cfg.providerId !== after.providerId ||
      cfg.fallbackModel !== after.fallbackModel ||
      cfg.fallbackProviderId !== after.fallbackProviderId;
    if (switched) {
      await logActivity(ctx, {
        workspaceId: wid,
        kind: "agent.model_switch",
        meta: {
          from: { provider: await providerLabel(ctx, cfg.providerId), model: cfg.model },
          to: { provider: await providerLabel(ctx, after.providerId), model: after.model },
          fallbackFrom: cfg.fallbackModel
            ? { provider: await providerLabel(ctx, cfg.fallbackProviderId), model: cfg.fallbackModel }
            : null,
          fallbackTo: after.fallbackModel
            ? { provider: await providerLabel(ctx, after.fallbackProviderId), model: after.fallbackModel }
            : null,
          by: ctx.principal.ownerKey,
        },
      });
    }
    return null;
  },
});

function summarize(c: Record<string, unknown>) {
  return {
    name: c.name,
    soul: c.soul,
    model: c.model,
    fallbackModel: c.fallbackModel,
    providerId: c.providerId,
    fallbackProviderId: c.fallbackProviderId,
    enabledSkills: Array.isArray(c.enabledSkillIds) ? c.enabledSkillIds.length : 0,
    enabledMcpServers: Array.isArray(c.enabledMcpServerIds) ? c.enabledMcpServerIds.length : 0,
    voiceAgentId: c.voiceAgentId,
  };
}
