/**
 * Executor for skills that need no network: local templates (calculator, time_in_zone) and image
 * skills. Internal; called only by the security checker (security/checker.ts), which has already
 * run approval, status, schema and limit checks. The template config is parsed again here.
 */
import { v } from "convex/values";
import { skillConfigValidator } from "./tables";
import { internalAction } from "../_generated/server";
import { internal } from "../_generated/api";
import { parseTemplateConfig } from "./templates";
import { imageConfigSchema, imageLimit } from "./validate";
import { sniffImage } from "../lib/imageSniff";
import { okJson, runOutcomeValidator, type RunOutcome } from "./outcome";

export const run = internalAction({
  args: {
    workspaceId: v.id("workspaces"),
    type: v.union(v.literal("template"), v.literal("image")),
    config: skillConfigValidator,
    input: v.any(),
    maxOutputBytes: v.number(),
  },
  returns: runOutcomeValidator,
  handler: async (ctx, a): Promise<RunOutcome> => {
    const input = (a.input ?? {}) as Record<string, unknown>;
    if (a.type === "template") {
      const parsed = parseTemplateConfig(a.config);
      if (!parsed || parsed.def.network || !parsed.def.runLocal) return { ok: false, code: "CONFIG_INVALID" };
      const r = parsed.def.runLocal(parsed.config, input);
      return r.ok ? okJson(r.output) : { ok: false, code: r.code };
    }

    const cfg = imageConfigSchema.safeParse(a.config);
    if (!cfg.success) return { ok: false, code: "CONFIG_INVALID" };
    const limit = imageLimit(cfg.data);
    const storageId = typeof input.storageId === "string" ? input.storageId : "";
    const found = await ctx.runQuery(internal.skills.images.lookup, { workspaceId: a.workspaceId, storageId });
    if (!found || found.size > limit) return { ok: false, code: "IMAGE_INVALID" };
    const blob = await ctx.storage.get(found.storageId);
    if (!blob || blob.size > limit) return { ok: false, code: "IMAGE_INVALID" };
    const sniffed = sniffImage(new Uint8Array(await blob.arrayBuffer()), limit);
    if (!sniffed.ok) return { ok: false, code: "IMAGE_INVALID" };
    const { format, mimeType, width, height, bytes } = sniffed.info;
    return okJson({ format, mimeType, width, height, bytes });
  },
});
