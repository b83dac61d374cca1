/**
 * Channel management for SyncBoard: viewers read, admins create/update/enable/disable/remove.
 * Settings are non-secret and validated per platform; secrets live in channelSecrets.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { viewerQuery, adminMutation } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { channelSettingsValidator, platformValidator } from "./tables";
import {
  SECRET_NAMES,
  publicBaseUrl,
  publicUrlProblem,
  setupSteps,
  validateSettings,
  webhookUrl,
  type Platform,
} from "./platforms";
import { eraseDerived } from "../privacy/cascade";

const channelView = v.object({
  _id: v.id("channelConfig"),
  platform: platformValidator,
  name: v.string(),
  enabled: v.boolean(),
  settings: channelSettingsValidator,
  /** null when neither WARDEN_PUBLIC_BASE_URL nor CONVEX_SITE_URL is configured */
  webhookUrl: v.union(v.string(), v.null()),
  /** why vendors could not reach the public base URL (loopback, private, local-name, not-https); null when it looks reachable */
  publicUrlProblem: v.union(
    v.null(),
    v.literal("loopback"),
    v.literal("private"),
    v.literal("local-name"),
    v.literal("not-https"),
  ),
  secretNames: v.array(v.string()),
  setupSteps: v.array(v.string()),
  /** reply delivery health; null until a reply finally failed or was delivered */
  health: v.union(
    v.null(),
    v.object({
      failing: v.boolean(),
      lastFailureAt: v.union(v.number(), v.null()),
      lastFailureCode: v.union(v.string(), v.null()),
      failures: v.number(),
    }),
  ),
  createdAt: v.number(),
  updatedAt: v.number(),
});

function view(c: Doc<"channelConfig">) {
  const url = webhookUrl(process.env, c.platform, c._id);
  return {
    _id: c._id,
    platform: c.platform,
    name: c.name,
    enabled: c.enabled,
    settings: c.settings,
    webhookUrl: url,
    publicUrlProblem: publicUrlProblem(publicBaseUrl(process.env)),
    secretNames: [...SECRET_NAMES[c.platform].all],
    setupSteps: setupSteps(c.platform, url ?? "<your public base URL>/webhooks/" + c.platform + "/" + c._id),
    health: c.health
      ? {
          failing: c.health.failing,
          lastFailureAt: c.health.lastFailureAt ?? null,
          lastFailureCode: c.health.lastFailureCode ?? null,
          failures: c.health.failures,
        }
      : null,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

const MAX_CHANNELS = 100;

export const list = viewerQuery({
  args: {},
  returns: v.array(channelView),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("channelConfig")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(MAX_CHANNELS);
    return rows.map(view);
  },
});

export const get = viewerQuery({
  args: { channelId: v.id("channelConfig") },
  returns: channelView,
  handler: async (ctx, { channelId }) =>
    view(await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal)),
});

function cleanName(name: string): string {
  const n = name.replace(/\p{Cc}/gu, "").trim();
  if (n.length < 1 || n.length > 80) fail("CONFIG_INVALID", { field: "name" });
  return n;
}

function checkedSettings(platform: Platform, settings: unknown): Record<string, string> {
  const r = validateSettings(platform, settings);
  if (!r.ok) fail("CONFIG_INVALID", { field: r.field });
  return r.settings;
}

function randomSalt(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

type AdminCtx = MutationCtx & { principal: { workspaceId: Id<"workspaces">; ownerId: Id<"owners">; ownerKey: string } };

async function audit(ctx: AdminCtx, action: string, target: string, before?: unknown, after?: unknown) {
  await writeAudit(ctx, {
    workspaceId: ctx.principal.workspaceId,
    actorId: ctx.principal.ownerId,
    actorLabel: ctx.principal.ownerKey,
    action,
    target,
    before,
    after,
  });
}

function summary(c: Pick<Doc<"channelConfig">, "platform" | "name" | "enabled" | "settings">) {
  return { platform: c.platform, name: c.name, enabled: c.enabled, ...(c.settings as Record<string, unknown>) };
}

export const create = adminMutation({
  args: { platform: platformValidator, name: v.string(), settings: v.any() },
  returns: v.id("channelConfig"),
  handler: async (ctx, { platform, name, settings }) => {
    const doc = {
      workspaceId: ctx.principal.workspaceId,
      platform,
      name: cleanName(name),
      // Created disabled: it answers 404 until its secrets are set and an admin enables it.
      enabled: false,
      settings: checkedSettings(platform, settings),
      idSalt: randomSalt(),
      createdAt: Date.now(),
      updatedAt: Date.now(),
    };
    const id = await ctx.db.insert("channelConfig", doc);
    await audit(ctx, "channel.create", id, undefined, summary(doc));
    return id;
  },
});

export const update = adminMutation({
  args: { channelId: v.id("channelConfig"), name: v.optional(v.string()), settings: v.optional(v.any()) },
  returns: v.null(),
  handler: async (ctx, { channelId, name, settings }) => {
    const c = await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
    const patch: Partial<Doc<"channelConfig">> = { updatedAt: Date.now() };
    if (name !== undefined) patch.name = cleanName(name);
    if (settings !== undefined) patch.settings = checkedSettings(c.platform, settings);
    await ctx.db.patch("channelConfig", c._id, patch);
    await audit(ctx, "channel.update", c._id, summary(c), summary({ ...c, ...patch }));
    return null;
  },
});

async function setEnabled(ctx: AdminCtx, channelId: Id<"channelConfig">, enabled: boolean) {
  const c = await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
  if (c.enabled !== enabled) await ctx.db.patch("channelConfig", c._id, { enabled, updatedAt: Date.now() });
  await audit(ctx, enabled ? "channel.enable" : "channel.disable", c._id, { enabled: c.enabled }, { enabled });
  return null;
}

export const enable = adminMutation({
  args: { channelId: v.id("channelConfig") },
  returns: v.null(),
  handler: (ctx, { channelId }) => setEnabled(ctx, channelId, true),
});

export const disable = adminMutation({
  args: { channelId: v.id("channelConfig") },
  returns: v.null(),
  handler: (ctx, { channelId }) => setEnabled(ctx, channelId, false),
});

/** Deletes the channel and its secrets; its users (with their threads and messages), delivery ids, summaries and pairing codes are purged in scheduled batches. */
export const remove = adminMutation({
  args: { channelId: v.id("channelConfig") },
  returns: v.null(),
  handler: async (ctx, { channelId }) => {
    const c = await getOwned(await ctx.db.get("channelConfig", channelId), ctx.principal);
    await ctx.db.delete("channelConfig", c._id);
    const { deleted } = await ctx.runMutation(internal.secrets.manage.purgeOwnerSecrets, {
      table: "channelSecrets",
      ownerId: c._id,
    });
    await audit(ctx, "channel.delete", c._id, summary(c), { secretsDeleted: deleted });
    await ctx.scheduler.runAfter(0, internal.channels.manage.purge, { channelId: c._id });
    return null;
  },
});

const PURGE_BATCH = 200;

/**
 * Pages through a deleted channel's rows: each user with their threads, messages and queued
 * replies (privacy/cascade), then delivery ids, summaries and pairing codes; reschedules itself
 * until nothing is left.
 */
export const purge = internalMutation({
  args: { channelId: v.id("channelConfig"), batchSize: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, { channelId, batchSize }) => {
    const budget = { left: Math.max(1, Math.min(PURGE_BATCH, Math.floor(batchSize ?? PURGE_BATCH))) };
    for (;;) {
      if (budget.left <= 0) break;
      const u = await ctx.db
        .query("channelUsers")
        .withIndex("by_channel_user", (q) => q.eq("channelId", channelId))
        .first();
      if (!u) break;
      if (!(await eraseDerived(ctx, { kind: "channelUser", id: u._id }, budget))) break;
      await ctx.db.delete("channelUsers", u._id);
      budget.left--;
    }
    const deliveries =
      budget.left > 0
        ? await ctx.db
            .query("webhookDeliveries")
            .withIndex("by_channel_delivery", (q) => q.eq("channelId", channelId))
            .take(budget.left)
        : [];
    for (const d of deliveries) await ctx.db.delete("webhookDeliveries", d._id);
    budget.left -= deliveries.length;
    const buckets =
      budget.left > 0
        ? await ctx.db
            .query("channelMessageSummary")
            .withIndex("by_channel_bucket", (q) => q.eq("channelId", channelId))
            .take(budget.left)
        : [];
    for (const b of buckets) await ctx.db.delete("channelMessageSummary", b._id);
    budget.left -= buckets.length;
    const codes =
      budget.left > 0
        ? await ctx.db
            .query("pairingCodes")
            .withIndex("by_channel", (q) => q.eq("channelId", channelId))
            .take(budget.left)
        : [];
    for (const c of codes) await ctx.db.delete("pairingCodes", c._id);
    budget.left -= codes.length;
    if (budget.left <= 0) await ctx.scheduler.runAfter(0, internal.channels.manage.purge, { channelId, batchSize });
    return null;
  },
});
