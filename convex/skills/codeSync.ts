/**
 * Deploy-time sync of code-defined skills (convex/skills/code/). Registers each new or changed
 * module as "pending" in every workspace (changed = different meta or handler source), disables
 * rows whose module is gone, and leaves unchanged ones alone, so it is idempotent.
 *
 * Production: run after every deploy — `npx convex run skills/codeSync:sync`.
 * The embedded runtime runs it at start.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import { writeAudit } from "../audit/log";
import { recordSecurityEvent } from "../security/events";
import { validateAllowlistEntry } from "../lib/egress";
import { checkInputSchema } from "../lib/jsonSchema";
import { CODE_SKILLS } from "./code";
import type { CodeSkillModule } from "./code/types";
import { codeSourceHash } from "./codeHash";
import { reviewHash } from "./hash";
import {
  SKILL_NAME,
  SECRET_NAME,
  MAX_DESCRIPTION,
  MAX_DOMAINS,
  MAX_SECRETS,
  RATE_PER_MINUTE_MAX,
  TIMEOUT_MIN_MS,
  TIMEOUT_MAX_MS,
  OUTPUT_MIN_BYTES,
  OUTPUT_MAX_BYTES,
  DEFAULT_MAX_OUTPUT_BYTES,
} from "./validate";

const PAGE = 25;
const MAX_SKILLS_PER_WORKSPACE = 500;

type CodeRow = Pick<
  Doc<"skillRegistry">,
  | "name"
  | "description"
  | "type"
  | "inputSchema"
  | "config"
  | "allowedDomains"
  | "allowHttp"
  | "secretNames"
  | "rateLimitPerMinute"
  | "timeoutMs"
  | "maxOutputBytes"
>;

const int = (x: unknown, lo: number, hi: number) => Number.isSafeInteger(x) && (x as number) >= lo && (x as number) <= hi;

/** The registry fields a module declares, or null when its meta is unusable. */
export async function rowFromModule(moduleName: string, mod: CodeSkillModule): Promise<CodeRow | null> {
  const m = mod.skillMeta;
  if (!m || m.name !== moduleName || !SKILL_NAME.test(m.name)) return null;
  if (typeof m.description !== "string" || m.description.trim() === "" || m.description.length > MAX_DESCRIPTION) return null;
  if (!checkInputSchema(m.inputSchema).ok) return null;
  const domains: string[] = [];
  if (!Array.isArray(m.permissions?.domains) || m.permissions.domains.length > MAX_DOMAINS) return null;
  for (const d of m.permissions.domains) {
    const r = validateAllowlistEntry(d);
    if (!r.ok) return null;
    if (!domains.includes(r.value)) domains.push(r.value);
  }
  const secrets = m.permissions?.secrets;
  if (!Array.isArray(secrets) || secrets.length > MAX_SECRETS || !secrets.every((s) => SECRET_NAME.test(s))) return null;
  if (!int(m.rateLimitPerMinute, 1, RATE_PER_MINUTE_MAX) || !int(m.timeoutMs, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS)) return null;
  const maxOutputBytes = m.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!int(maxOutputBytes, OUTPUT_MIN_BYTES, OUTPUT_MAX_BYTES)) return null;
  if (typeof mod.handler !== "function") return null;
  return {
    name: m.name,
    description: m.description.trim(),
    type: "code",
    inputSchema: m.inputSchema,
    config: { module: moduleName, sourceHash: await codeSourceHash(mod) },
    allowedDomains: domains,
    allowHttp: false,
    secretNames: [...new Set(secrets)],
    rateLimitPerMinute: m.rateLimitPerMinute,
    timeoutMs: m.timeoutMs,
    maxOutputBytes,
  };
}

type Counts = { created: number; updated: number; unchanged: number; disabled: number; invalid: number; conflicts: number };

async function syncWorkspace(ctx: MutationCtx, workspaceId: Id<"workspaces">, rows: Map<string, CodeRow | null>, counts: Counts) {
  const now = Date.now();
  for (const [name, row] of rows) {
    if (!row) {
      counts.invalid++;
      continue;
    }
    const hash = await reviewHash(row);
    const existing = await ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId).eq("name", name))
      .first();
    if (!existing) {
      await ctx.db.insert("skillRegistry", { ...row, workspaceId, status: "pending", configHash: hash, createdAt: now, updatedAt: now });
      await writeAudit(ctx, { workspaceId, actorLabel: "deploy", action: "skill.codeRegistered", target: name, after: { status: "pending" } });
      counts.created++;
    } else if (existing.type !== "code") {
      // An owner-defined skill holds the name: never overwrite it.
      await recordSecurityEvent(ctx, { workspaceId, code: "CONFIG_INVALID", category: "skill", detail: `code skill ${name}: name taken` });
      counts.conflicts++;
    } else if (existing.configHash === hash) {
      counts.unchanged++; // whatever its status (an owner's "disabled" stays)
    } else {
      await ctx.db.patch(existing._id, {
        ...row,
        status: "pending",
        configHash: hash,
        approvedBy: undefined,
        approvedAt: undefined,
        approvedHash: undefined,
        updatedAt: now,
      });
      await writeAudit(ctx, {
        workspaceId,
        actorLabel: "deploy",
        action: "skill.codeChanged",
        target: name,
        before: { status: existing.status },
        after: { status: "pending" },
      });
      counts.updated++;
    }
  }
  // Rows whose module no longer exists can never run: mark them disabled.
  const all = await ctx.db
    .query("skillRegistry")
    .withIndex("by_workspace", (q) => q.eq("workspaceId", workspaceId))
    .take(MAX_SKILLS_PER_WORKSPACE);
  for (const s of all) {
    if (s.type !== "code" || rows.has(s.name) || s.status === "disabled") continue;
    await ctx.db.patch(s._id, { status: "disabled", updatedAt: now });
    await writeAudit(ctx, { workspaceId, actorLabel: "deploy", action: "skill.codeRemoved", target: s.name, before: { status: s.status }, after: { status: "disabled" } });
    counts.disabled++;
  }
}

export const sync = internalMutation({
  args: { cursor: v.optional(v.union(v.string(), v.null())) },
  returns: v.object({
    workspaces: v.number(),
    created: v.number(),
    updated: v.number(),
    unchanged: v.number(),
    disabled: v.number(),
    invalid: v.number(),
    conflicts: v.number(),
    continues: v.boolean(),
  }),
  handler: async (ctx, { cursor }) => {
    const rows = new Map<string, CodeRow | null>();
    for (const [name, mod] of Object.entries(CODE_SKILLS)) rows.set(name, await rowFromModule(name, mod));
    const page = await ctx.db.query("workspaces").paginate({ numItems: PAGE, cursor: cursor ?? null });
    const counts: Counts = { created: 0, updated: 0, unchanged: 0, disabled: 0, invalid: 0, conflicts: 0 };
    for (const ws of page.page) await syncWorkspace(ctx, ws._id, rows, counts);
    if (!page.isDone) await ctx.scheduler.runAfter(0, internal.skills.codeSync.sync, { cursor: page.continueCursor });
    return { workspaces: page.page.length, ...counts, continues: !page.isDone };
  },
});
