import { v } from "convex/values";
import { viewerQuery, adminMutation } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { sanitizeLine } from "../lib/sanitize";
import { providerKindValidator } from "./tables";
import { findConfig } from "./configLib";
import {
  DEFAULT_KEY_ENV,
  resolveModelKey,
  validateBaseUrl,
  validateEnvVarName,
  type ProviderKind,
} from "./providerRules";

const providerView = v.object({
  _id: v.id("modelProviders"),
  label: v.string(),
  kind: providerKindValidator,
  baseUrl: v.optional(v.string()),
  apiKeyEnvVar: v.optional(v.string()),
  /** whether that declared model-key variable is set and bound to this provider's host (never its value) */
  keyConfigured: v.boolean(),
  updatedAt: v.number(),
});

const MAX_PROVIDERS = 50;

/** Providers of the workspace, with a boolean telling whether each key variable is set. */
export const list = viewerQuery({
  args: {},
  returns: v.array(providerView),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("modelProviders")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(MAX_PROVIDERS);
    return rows.map((p) => ({
      _id: p._id,
      label: p.label,
      kind: p.kind,
      baseUrl: p.baseUrl,
      apiKeyEnvVar: p.apiKeyEnvVar,
      keyConfigured: p.kind === "offline" ? true : resolveModelKey(p, process.env).ok,
      updatedAt: p.updatedAt,
    }));
  },
});

function checked(kind: ProviderKind, label: string, baseUrl: string | undefined, envVar: string | undefined) {
  const cleanLabel = sanitizeLine(label, 65);
  if (cleanLabel.length === 0 || label.length > 64) fail("CONFIG_INVALID", { field: "label" });
  const name = kind === "offline" ? undefined : (envVar ?? DEFAULT_KEY_ENV[kind]);
  const e = validateEnvVarName(kind, name);
  if (!e.ok) fail("CONFIG_INVALID", { field: e.field });
  const b = validateBaseUrl(kind, baseUrl, process.env);
  if (!b.ok) fail("CONFIG_INVALID", { field: b.field });
  return { label: cleanLabel, apiKeyEnvVar: name, baseUrl };
}

/** Stores provider kind, base URL and the NAME of the key variable; key-looking values are refused. */
export const create = adminMutation({
  args: {
    label: v.string(),
    kind: providerKindValidator,
    baseUrl: v.optional(v.string()),
    apiKeyEnvVar: v.optional(v.string()),
  },
  returns: v.id("modelProviders"),
  handler: async (ctx, a) => {
    const c = checked(a.kind, a.label, a.baseUrl, a.apiKeyEnvVar);
    const count = (
      await ctx.db
        .query("modelProviders")
        .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
        .take(MAX_PROVIDERS)
    ).length;
    if (count >= MAX_PROVIDERS) fail("CONFIG_INVALID", { field: "count" });
    const now = Date.now();
    const id = await ctx.db.insert("modelProviders", {
      workspaceId: ctx.principal.workspaceId,
      kind: a.kind,
      ...c,
      createdAt: now,
      updatedAt: now,
    });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "modelProvider.create",
      target: id,
      after: { kind: a.kind, ...c },
    });
    return id;
  },
});

export const update = adminMutation({
  args: {
    providerId: v.id("modelProviders"),
    label: v.optional(v.string()),
    baseUrl: v.optional(v.union(v.string(), v.null())),
    apiKeyEnvVar: v.optional(v.string()),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const row = await getOwned(await ctx.db.get("modelProviders", a.providerId), ctx.principal);
    const c = checked(
      row.kind,
      a.label ?? row.label,
      a.baseUrl === undefined ? row.baseUrl : (a.baseUrl ?? undefined),
      a.apiKeyEnvVar ?? row.apiKeyEnvVar,
    );
    await ctx.db.patch("modelProviders", row._id, { ...c, updatedAt: Date.now() });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "modelProvider.update",
      target: row._id,
      before: { label: row.label, baseUrl: row.baseUrl, apiKeyEnvVar: row.apiKeyEnvVar },
      after: c,
    });
    return null;
  },
});

/** Refused while the agent config uses the provider. */
export const remove = adminMutation({
  args: { providerId: v.id("modelProviders") },
  returns: v.null(),
  handler: async (ctx, { providerId }) => {
    const row = await getOwned(await ctx.db.get("modelProviders", providerId), ctx.principal);
    const cfg = await findConfig(ctx, ctx.principal.workspaceId);
    if (cfg && (cfg.providerId === providerId || cfg.fallbackProviderId === providerId)) {
      fail("CONFIG_INVALID", { field: "inUse" });
    }
    await ctx.db.delete("modelProviders", providerId);
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: "modelProvider.remove",
      target: providerId,
      before: { kind: row.kind, label: row.label, apiKeyEnvVar: row.apiKeyEnvVar },
    });
    return null;
  },
});
