/**
 * Deploy-time sync of code-defined skills (convex/skills/code/). Registers each new or changed
 * module as "pending" in every workspace (changed = different meta or handler source), disables
 * rows whose module is gone, and leaves unchanged ones alone, so it is idempotent.
 *
 * Runs by itself: the "code skill catalogue" cron (crons.ts) calls `check` every minute, which
 * compares the deployed catalogue's hash with the last synced one (one small row) and starts a
 * sync only when a module was added, changed or removed, or a workspace was created since.
 * The embedded runtime also runs `sync` at start; `npx convex run skills/codeSync:sync` still works.
 */
import { v, type Infer } from "convex/values";
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
import { sha256Hex } from "../lib/tokens";
import { newestWorkspaceAt, workspacePage } from "../workspaces/lib";
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
const STATE_KEY = "code";
/** A paged sync that has not finished after this long is assumed dead and started again. */
export const SYNC_STALE_MS = 10 * 60_000;

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

const int = (x: unknown, lo: number, hi: number) =>
  Number.isSafeInteger(x) && (x as number) >= lo && (x as number) <= hi;

/** The registry fields a module declares, or null when its meta is unusable. */
export async function rowFromModule(moduleName: string, mod: CodeSkillModule): Promise<CodeRow | null> {
  const m = mod.skillMeta;
  if (!m || m.name !== moduleName || !SKILL_NAME.test(m.name)) return null;
  if (typeof m.description !== "string" || m.description.trim() === "" || m.description.length > MAX_DESCRIPTION)
    return null;
  if (!checkInputSchema(m.inputSchema).ok) return null;
  const domains: string[] = [];
  if (!Array.isArray(m.permissions?.domains) || m.permissions.domains.length > MAX_DOMAINS) return null;
  for (const d of m.permissions.domains) {
    const r = validateAllowlistEntry(d);
    if (!r.ok) return null;
    if (!domains.includes(r.value)) domains.push(r.value);
  }
  const secrets = m.permissions?.secrets;
  if (!Array.isArray(secrets) || secrets.length > MAX_SECRETS || !secrets.every((s) => SECRET_NAME.test(s)))
    return null;
  if (!int(m.rateLimitPerMinute, 1, RATE_PER_MINUTE_MAX) || !int(m.timeoutMs, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS))
    return null;
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

type Counts = {
  created: number;
  updated: number;
  unchanged: number;
  disabled: number;
  invalid: number;
  conflicts: number;
};

async function syncWorkspace(
  ctx: MutationCtx,
  workspaceId: Id<"workspaces">,
  rows: Map<string, CodeRow | null>,
  counts: Counts,
) {
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
      await ctx.db.insert("skillRegistry", {
        ...row,
        workspaceId,
        status: "pending",
        configHash: hash,
        createdAt: now,
        updatedAt: now,
      });
      await writeAudit(ctx, {
        workspaceId,
        actorLabel: "deploy",
        action: "skill.codeRegistered",
        target: name,
        after: { status: "pending" },
      });
      counts.created++;
    } else if (existing.type !== "code") {
      // An owner-defined skill holds the name: never overwrite it.
      await recordSecurityEvent(ctx, {
        workspaceId,
        code: "CONFIG_INVALID",
        category: "skill",
        detail: `code skill ${name}: name taken`,
      });
      counts.conflicts++;
    } else if (existing.configHash === hash) {
      counts.unchanged++; // whatever its status (an owner's "disabled" stays)
    } else {
      await ctx.db.patch("skillRegistry", existing._id, {
        ...row,
        status: "pending",
        configHash: hash,
        approvedBy: undefined,
        approvedAt: undefined,
        approvedHash: undefined,
        lastEditedBy: undefined, // changed by a deploy, not by a person in the workspace
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
    await ctx.db.patch("skillRegistry", s._id, { status: "disabled", updatedAt: now });
    await writeAudit(ctx, {
      workspaceId,
      actorLabel: "deploy",
      action: "skill.codeRemoved",
      target: s.name,
      before: { status: s.status },
      after: { status: "disabled" },
    });
    counts.disabled++;
  }
}

/** Syncs the deployed catalogue into one workspace (a runner with `skills.sync`); idempotent. */
export async function syncOneWorkspace(ctx: MutationCtx, workspaceId: Id<"workspaces">): Promise<Counts> {
  const rows = new Map<string, CodeRow | null>();
  for (const [name, mod] of Object.entries(CODE_SKILLS)) rows.set(name, await rowFromModule(name, mod));
  const counts: Counts = { created: 0, updated: 0, unchanged: 0, disabled: 0, invalid: 0, conflicts: 0 };
  await syncWorkspace(ctx, workspaceId, rows, counts);
  return counts;
}

/** Hash of the deployed catalogue: every module's name and source hash (meta + handler text). */
export async function catalogueHash(): Promise<string> {
  const parts: string[] = [];
  for (const name of Object.keys(CODE_SKILLS).sort()) parts.push(`${name}=${await codeSourceHash(CODE_SKILLS[name])}`);
  return await sha256Hex(parts.join("\n"));
}

async function catalogueState(ctx: MutationCtx) {
  return await ctx.db
    .query("codeCatalogueState")
    .withIndex("by_key", (q) => q.eq("key", STATE_KEY))
    .unique();
}

/**
 * Cron target: starts a sync when the deployed catalogue differs from the last synced one or a
 * workspace was created since; otherwise two reads (the state row, the newest workspace), no writes.
 */
export const check = internalMutation({
  args: {},
  returns: v.object({ started: v.boolean() }),
  handler: async (ctx) => {
    const hash = await catalogueHash();
    const state = await catalogueState(ctx);
    const newest = await newestWorkspaceAt(ctx);
    if (state && state.hash === hash && state.newestWorkspaceAt >= newest) return { started: false };
    const now = Date.now();
    if (state?.runningHash === hash && (state.runningSince ?? 0) > now - SYNC_STALE_MS) return { started: false };
    if (state) await ctx.db.patch("codeCatalogueState", state._id, { runningHash: hash, runningSince: now });
    else
      await ctx.db.insert("codeCatalogueState", {
        key: STATE_KEY,
        hash: "",
        newestWorkspaceAt: 0,
        syncedAt: 0,
        runningHash: hash,
        runningSince: now,
      });
    await syncPage(ctx, null, hash);
    return { started: true };
  },
});

const syncResult = v.object({
  workspaces: v.number(),
  created: v.number(),
  updated: v.number(),
  unchanged: v.number(),
  disabled: v.number(),
  invalid: v.number(),
  conflicts: v.number(),
  continues: v.boolean(),
});

/** One page of workspaces; schedules the next page, and records the synced catalogue after the last. */
async function syncPage(ctx: MutationCtx, cursor: string | null, hash: string): Promise<Infer<typeof syncResult>> {
  const rows = new Map<string, CodeRow | null>();
  for (const [name, mod] of Object.entries(CODE_SKILLS)) rows.set(name, await rowFromModule(name, mod));
  const page = await workspacePage(ctx, cursor, PAGE);
  const counts: Counts = { created: 0, updated: 0, unchanged: 0, disabled: 0, invalid: 0, conflicts: 0 };
  for (const ws of page.page) await syncWorkspace(ctx, ws._id, rows, counts);
  if (!page.isDone) {
    await ctx.scheduler.runAfter(0, internal.skills.codeSync.sync, {
      cursor: page.continueCursor,
      catalogueHash: hash,
    });
  } else {
    // Done: record what was synced. A deploy during a paged run leaves a different hash, so the cron syncs again.
    const state = await catalogueState(ctx);
    const done = {
      hash,
      newestWorkspaceAt: await newestWorkspaceAt(ctx),
      syncedAt: Date.now(),
      runningHash: undefined,
      runningSince: undefined,
    };
    if (state) await ctx.db.patch("codeCatalogueState", state._id, done);
    else await ctx.db.insert("codeCatalogueState", { key: STATE_KEY, ...done });
  }
  return { workspaces: page.page.length, ...counts, continues: !page.isDone };
}

export const sync = internalMutation({
  args: {
    cursor: v.optional(v.union(v.string(), v.null())),
    /** the catalogue this run syncs (set on the first page, passed along) */
    catalogueHash: v.optional(v.string()),
  },
  returns: syncResult,
  handler: async (ctx, { cursor, catalogueHash: given }) =>
    await syncPage(ctx, cursor ?? null, given ?? (await catalogueHash())),
});

/** The deployed module behind a code skill (for review: its source is shown, never run). */
export function deployedCodeSkill(moduleName: string): CodeSkillModule | undefined {
  return Object.prototype.hasOwnProperty.call(CODE_SKILLS, moduleName) ? CODE_SKILLS[moduleName] : undefined;
}
