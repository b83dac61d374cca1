/**
 * What an approval allows, for SyncBoard's confirmation: domains, secret names, limits (the skill's
 * own or the workspace default it falls back to), and for a code skill its deployed source next to
 * the source as it was at the last approval (stored by `saveApprovedSource` when an admin approves),
 * so the reviewer sees the diff. Also whether the two-person rule stops the caller approving it.
 */
import { v } from "convex/values";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { viewerQuery } from "../access/builders";
import { getOwned } from "../access/principal";
import { effectiveLimit } from "../limits/enforce";
import { twoPersonRuleOn } from "../workspaces/policy";
import { deployedCodeSkill } from "./codeSync";
import type { CodeSkillModule } from "./code/types";
import { codeSourceHash } from "./codeHash";

export const MAX_SOURCE_CHARS = 64 * 1024;

/** A code skill's reviewable text: its declared meta, then the handler as deployed. */
export function codeSourceText(mod: CodeSkillModule): string {
  const text = `// skillMeta\n${JSON.stringify(mod.skillMeta, null, 2)}\n\n// handler\n${String(mod.handler)}\n`;
  return text.length > MAX_SOURCE_CHARS ? `${text.slice(0, MAX_SOURCE_CHARS)}\n// … truncated\n` : text;
}

export async function saveApprovedSource(
  ctx: MutationCtx,
  skill: Doc<"skillRegistry">,
  mod: CodeSkillModule,
  approvedBy: Id<"owners">,
  approvedAt: number,
): Promise<void> {
  const row = {
    workspaceId: skill.workspaceId,
    skillId: skill._id,
    sourceHash: await codeSourceHash(mod),
    source: codeSourceText(mod),
    approvedBy,
    approvedAt,
  };
  const existing = await ctx.db
    .query("skillApprovedSources")
    .withIndex("by_skill", (q) => q.eq("skillId", skill._id))
    .unique();
  if (existing) await ctx.db.replace("skillApprovedSources", existing._id, row);
  else await ctx.db.insert("skillApprovedSources", row);
}

const personName = async (ctx: { db: QueryCtx["db"] }, id: Id<"owners"> | undefined) => {
  if (!id) return null;
  const o = await ctx.db.get("owners", id);
  return o ? o.displayName?.trim() || o.ownerKey : "a former member";
};

export const reviewInfo = viewerQuery({
  args: { skillId: v.id("skillRegistry") },
  returns: v.object({
    name: v.string(),
    type: v.string(),
    status: v.string(),
    allowedDomains: v.array(v.string()),
    allowHttp: v.boolean(),
    secretNames: v.array(v.string()),
    rate: v.object({ perMinute: v.number(), source: v.union(v.literal("skill"), v.literal("workspace")) }),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
    /** the URL a template/webhook skill calls (placeholders filled from the input at call time) */
    urlTemplate: v.union(v.string(), v.null()),
    code: v.union(
      v.null(),
      v.object({
        module: v.string(),
        source: v.union(v.string(), v.null()),
        /** the source at the last approval; null when none was stored */
        approvedSource: v.union(v.string(), v.null()),
        approvedAt: v.union(v.number(), v.null()),
        /** false: the registry row and the deployed module disagree (a sync is due); approval is refused */
        deployed: v.boolean(),
      }),
    ),
    twoPersonRule: v.boolean(),
    /** who created or last changed it; null for a deploy */
    lastEditor: v.union(v.string(), v.null()),
    /** the caller made the change and the rule is on: the server will refuse their approval */
    selfApproval: v.boolean(),
  }),
  handler: async (ctx, { skillId }) => {
    const s = await getOwned(await ctx.db.get("skillRegistry", skillId), ctx.principal);
    const ws = ctx.principal.workspaceId;
    const rule = await twoPersonRuleOn(ctx, ws);
    const rate = s.rateLimitPerMinute
      ? { perMinute: s.rateLimitPerMinute, source: "skill" as const }
      : await (async () => {
          const l = await effectiveLimit(ctx, ws, "skillPerSkill");
          return { perMinute: Math.round((l.rate * 60_000) / l.periodMs), source: "workspace" as const };
        })();
    const cfg = (s.config ?? {}) as { urlTemplate?: unknown; module?: unknown; sourceHash?: unknown };
    let code = null;
    if (s.type === "code") {
      const moduleName = typeof cfg.module === "string" ? cfg.module : "";
      const mod = deployedCodeSkill(moduleName);
      const snap = await ctx.db
        .query("skillApprovedSources")
        .withIndex("by_skill", (q) => q.eq("skillId", s._id))
        .unique();
      code = {
        module: moduleName,
        source: mod ? codeSourceText(mod) : null,
        approvedSource: snap?.source ?? null,
        approvedAt: snap?.approvedAt ?? null,
        deployed: !!mod && (await codeSourceHash(mod)) === cfg.sourceHash,
      };
    }
    return {
      name: s.name,
      type: s.type,
      status: s.status,
      allowedDomains: s.allowedDomains,
      allowHttp: s.allowHttp === true,
      secretNames: s.secretNames,
      rate,
      timeoutMs: s.timeoutMs,
      maxOutputBytes: s.maxOutputBytes,
      urlTemplate: typeof cfg.urlTemplate === "string" ? cfg.urlTemplate : null,
      code,
      twoPersonRule: rule,
      lastEditor: await personName(ctx, s.lastEditedBy),
      selfApproval: rule && s.lastEditedBy === ctx.principal.ownerId,
    };
  },
});
