/**
 * The skill registry for SyncBoard. Viewers read; admins create, edit, approve, reject, disable.
 * Every write is validated server-side and audited. Any change to what a reviewer judged
 * (type, description, input schema, config, domains, secrets) sends an approved skill back to
 * "pending" — except removing domains, which only narrows what it may reach and takes effect on
 * the next call. Domains are only ever what an admin typed here (or a code skill declared).
 */
import { v, ConvexError } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import schema from "../schema";
import type { Doc } from "../_generated/dataModel";
import type { MutationCtx } from "../_generated/server";
import { viewerQuery, adminMutation } from "../access/builders";
import { clampPage } from "../lib/pagination";
import { fail, getOwned, type Principal } from "../access/principal";
import { writeAudit } from "../audit/log";
import { skillStatusValidator } from "./tables";
import { reviewHash } from "./hash";
import { codeSourceHash } from "./codeHash";
import { CODE_SKILLS } from "./code";
import { isSelfApproval, recordSelfApproval } from "../workspaces/policy";
import { saveApprovedSource } from "./review";
import {
  validateDraft,
  validateAllowlistDomains,
  RATE_PER_MINUTE_MAX,
  TIMEOUT_MIN_MS,
  TIMEOUT_MAX_MS,
  OUTPUT_MIN_BYTES,
  OUTPUT_MAX_BYTES,
  type FieldError,
  type SkillDraft,
} from "./validate";

const skillDoc = schema.doc("skillRegistry");

function invalid(errors: FieldError[]): never {
  const first = errors[0];
  throw new ConvexError({
    code: first.code,
    field: first.field,
    ...(first.index === undefined ? {} : { index: first.index }),
    errors: errors.slice(0, 20),
  });
}

async function audit(
  ctx: MutationCtx,
  p: Principal,
  action: string,
  skill: Pick<Doc<"skillRegistry">, "name">,
  before?: unknown,
  after?: unknown,
) {
  await writeAudit(ctx, {
    workspaceId: p.workspaceId,
    actorId: p.ownerId,
    actorLabel: p.ownerKey,
    action,
    target: skill.name,
    before,
    after,
  });
}

async function nameTaken(ctx: MutationCtx, p: Principal, name: string, except?: Doc<"skillRegistry">["_id"]) {
  const other = await ctx.db
    .query("skillRegistry")
    .withIndex("by_workspace_name", (q) => q.eq("workspaceId", p.workspaceId).eq("name", name))
    .first();
  return other !== null && other._id !== except;
}

const summary = (s: Pick<Doc<"skillRegistry">, "status" | "type" | "allowedDomains" | "secretNames">) => ({
  status: s.status,
  type: s.type,
  allowedDomains: s.allowedDomains.join(","),
  secretNames: s.secretNames.join(","),
});

export const list = viewerQuery({
  args: { paginationOpts: paginationOptsValidator, status: v.optional(skillStatusValidator) },
  returns: paginationResultValidator(skillDoc),
  handler: async (ctx, { paginationOpts, status }) => {
    const ws = ctx.principal.workspaceId;
    const q =
      status === undefined
        ? ctx.db.query("skillRegistry").withIndex("by_workspace", (q) => q.eq("workspaceId", ws))
        : ctx.db
            .query("skillRegistry")
            .withIndex("by_workspace_status", (q) => q.eq("workspaceId", ws).eq("status", status));
    return await q.order("desc").paginate(clampPage(paginationOpts));
  },
});

export const get = viewerQuery({
  args: { skillId: v.id("skillRegistry") },
  returns: skillDoc,
  handler: async (ctx, { skillId }) => await getOwned(await ctx.db.get("skillRegistry", skillId), ctx.principal),
});

const draftArgs = {
  name: v.string(),
  description: v.string(),
  type: v.union(v.literal("template"), v.literal("webhook"), v.literal("image")),
  inputSchema: v.optional(v.any()),
  config: v.any(),
  allowedDomains: v.array(v.string()),
  allowHttp: v.optional(v.boolean()),
  secretNames: v.optional(v.array(v.string())),
  rateLimitPerMinute: v.optional(v.number()),
  timeoutMs: v.optional(v.number()),
  maxOutputBytes: v.optional(v.number()),
};

export const create = adminMutation({
  args: draftArgs,
  returns: v.id("skillRegistry"),
  handler: async (ctx, a) => {
    const r = validateDraft({ ...a, secretNames: a.secretNames ?? [] }, { checkUrlHost: true });
    if (!r.ok) invalid(r.errors);
    if (await nameTaken(ctx, ctx.principal, r.value.name)) invalid([{ code: "NAME_TAKEN", field: "name" }]);
    const now = Date.now();
    const configHash = await reviewHash(r.value);
    const id = await ctx.db.insert("skillRegistry", {
      ...r.value,
      workspaceId: ctx.principal.workspaceId,
      status: "pending",
      configHash,
      lastEditedBy: ctx.principal.ownerId,
      createdAt: now,
      updatedAt: now,
    });
    await audit(ctx, ctx.principal, "skill.create", r.value, undefined, {
      status: "pending",
      type: r.value.type,
      allowedDomains: r.value.allowedDomains.join(","),
    });
    return id;
  },
});

export const update = adminMutation({
  args: {
    skillId: v.id("skillRegistry"),
    name: v.optional(v.string()),
    description: v.optional(v.string()),
    inputSchema: v.optional(v.any()),
    config: v.optional(v.any()),
    allowedDomains: v.optional(v.array(v.string())),
    allowHttp: v.optional(v.boolean()),
    secretNames: v.optional(v.array(v.string())),
    /** null clears the per-skill rate (the workspace's skillPerSkill applies) */
    rateLimitPerMinute: v.optional(v.union(v.number(), v.null())),
    timeoutMs: v.optional(v.number()),
    maxOutputBytes: v.optional(v.number()),
  },
  returns: v.object({ status: skillStatusValidator }),
  handler: async (ctx, a) => {
    const skill = await getOwned(await ctx.db.get("skillRegistry", a.skillId), ctx.principal);
    const rate = a.rateLimitPerMinute === null ? undefined : (a.rateLimitPerMinute ?? skill.rateLimitPerMinute);
    const timeoutMs = a.timeoutMs ?? skill.timeoutMs;
    const maxOutputBytes = a.maxOutputBytes ?? skill.maxOutputBytes;

    let next: Pick<
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
    if (skill.type === "code") {
      // Code skills are defined in code: only limits can be tuned and domains narrowed here.
      for (const f of ["name", "description", "inputSchema", "config", "allowHttp", "secretNames"] as const) {
        if (a[f] !== undefined) invalid([{ code: "CONFIG_INVALID", field: f }]);
      }
      const errors: FieldError[] = [];
      if (rate !== undefined && !(Number.isSafeInteger(rate) && rate >= 1 && rate <= RATE_PER_MINUTE_MAX))
        errors.push({ code: "CONFIG_INVALID", field: "rateLimitPerMinute" });
      if (!(Number.isSafeInteger(timeoutMs) && timeoutMs >= TIMEOUT_MIN_MS && timeoutMs <= TIMEOUT_MAX_MS))
        errors.push({ code: "CONFIG_INVALID", field: "timeoutMs" });
      if (!(
        Number.isSafeInteger(maxOutputBytes) &&
        maxOutputBytes >= OUTPUT_MIN_BYTES &&
        maxOutputBytes <= OUTPUT_MAX_BYTES
      )) {
        errors.push({ code: "CONFIG_INVALID", field: "maxOutputBytes" });
      }
      let domains = skill.allowedDomains;
      if (a.allowedDomains !== undefined) {
        const d = validateAllowlistDomains(a.allowedDomains);
        errors.push(...d.errors);
        domains = d.domains;
        d.domains.forEach((x, index) => {
          if (!skill.allowedDomains.includes(x))
            errors.push({ code: "DOMAIN_NOT_ALLOWED", field: "allowedDomains", index });
        });
      }
      if (errors.length) invalid(errors);
      next = { ...skill, allowedDomains: domains, rateLimitPerMinute: rate, timeoutMs, maxOutputBytes };
    } else {
      const draft: SkillDraft = {
        name: a.name ?? skill.name,
        description: a.description ?? skill.description,
        type: skill.type,
        inputSchema: a.inputSchema ?? skill.inputSchema,
        config: a.config ?? skill.config,
        allowedDomains: a.allowedDomains ?? skill.allowedDomains,
        allowHttp: a.allowHttp ?? skill.allowHttp,
        secretNames: a.secretNames ?? skill.secretNames,
        rateLimitPerMinute: rate,
        timeoutMs,
        maxOutputBytes,
      };
      // The URL host must be allowlisted whenever the URL or scheme rule changes or a domain is added.
      const addsDomain = (a.allowedDomains ?? []).some((d) => !skill.allowedDomains.includes(d.toLowerCase()));
      const checkUrlHost = a.config !== undefined || a.allowHttp !== undefined || addsDomain;
      const r = validateDraft(draft, { checkUrlHost });
      if (!r.ok) invalid(r.errors);
      next = { ...r.value };
    }

    if (next.name !== skill.name && (await nameTaken(ctx, ctx.principal, next.name, skill._id))) {
      invalid([{ code: "NAME_TAKEN", field: "name" }]);
    }
    const newHash = await reviewHash(next);
    const narrowedOnly =
      next.allowedDomains.every((d) => skill.allowedDomains.includes(d)) &&
      (await reviewHash({ ...next, allowedDomains: skill.allowedDomains })) === skill.configHash;

    let status = skill.status;
    let approvedBy = skill.approvedBy;
    let approvedAt = skill.approvedAt;
    let approvedHash = skill.approvedHash;
    let action = "skill.update";
    if (newHash !== skill.configHash) {
      if ((status === "approved" || status === "disabled") && narrowedOnly && skill.approvedHash === skill.configHash) {
        approvedHash = newHash; // fewer domains than approved: stays approved
        action = "skill.domainsNarrowed";
      } else {
        status = "pending";
        approvedBy = undefined;
        approvedAt = undefined;
        approvedHash = undefined;
      }
    }
    await ctx.db.replace("skillRegistry", skill._id, {
      workspaceId: skill.workspaceId,
      name: next.name,
      description: next.description,
      type: skill.type,
      status,
      inputSchema: next.inputSchema,
      config: next.config,
      configHash: newHash,
      allowedDomains: next.allowedDomains,
      allowHttp: next.allowHttp,
      secretNames: next.secretNames,
      rateLimitPerMinute: next.rateLimitPerMinute,
      timeoutMs: next.timeoutMs,
      maxOutputBytes: next.maxOutputBytes,
      approvedBy,
      approvedAt,
      approvedHash,
      // A narrowing keeps the approval, and the person who last widened it stays its editor.
      lastEditedBy:
        action === "skill.domainsNarrowed" || newHash === skill.configHash ? skill.lastEditedBy : ctx.principal.ownerId,
      createdAt: skill.createdAt,
      updatedAt: Date.now(),
    });
    await audit(ctx, ctx.principal, action, next, summary(skill), summary({ ...next, status }));
    return { status };
  },
});

/**
 * Approve what the reviewer saw. With the workspace's two-person rule on, the person who created or
 * last changed the skill cannot approve it: the refusal is returned (not thrown, so its audit row and
 * security event stay) as `{ refused: "TWO_PERSON_RULE" }`.
 */
export const approve = adminMutation({
  args: { skillId: v.id("skillRegistry") },
  returns: v.union(v.null(), v.object({ refused: v.literal("TWO_PERSON_RULE") })),
  handler: async (ctx, { skillId }) => {
    const skill = await getOwned(await ctx.db.get("skillRegistry", skillId), ctx.principal);
    let mod: (typeof CODE_SKILLS)[string] | undefined;
    if (skill.type === "code") {
      // Approve only what is deployed: a code change not yet synced cannot be approved.
      const cfg = skill.config as { module?: string; sourceHash?: string };
      mod = cfg.module ? CODE_SKILLS[cfg.module] : undefined;
      if (!mod || (await codeSourceHash(mod)) !== cfg.sourceHash) fail("CONFIG_INVALID");
    }
    if (await isSelfApproval(ctx, ctx.principal, skill.lastEditedBy)) {
      await recordSelfApproval(ctx, ctx.principal, "skill.approve", skill.name, "skill");
      return { refused: "TWO_PERSON_RULE" as const };
    }
    const hash = await reviewHash(skill);
    const now = Date.now();
    await ctx.db.patch("skillRegistry", skill._id, {
      status: "approved",
      configHash: hash,
      approvedHash: hash,
      approvedBy: ctx.principal.ownerId,
      approvedAt: now,
      updatedAt: now,
    });
    if (mod) await saveApprovedSource(ctx, skill, mod, ctx.principal.ownerId, now);
    await audit(ctx, ctx.principal, "skill.approve", skill, summary(skill), { ...summary(skill), status: "approved" });
    return null;
  },
});

export const reject = adminMutation({
  args: { skillId: v.id("skillRegistry") },
  returns: v.null(),
  handler: async (ctx, { skillId }) => {
    const skill = await getOwned(await ctx.db.get("skillRegistry", skillId), ctx.principal);
    await ctx.db.patch("skillRegistry", skill._id, {
      status: "rejected",
      approvedBy: undefined,
      approvedAt: undefined,
      approvedHash: undefined,
      updatedAt: Date.now(),
    });
    await audit(ctx, ctx.principal, "skill.reject", skill, { status: skill.status }, { status: "rejected" });
    return null;
  },
});

/** Stops a skill at once; re-enable it by approving it again. */
export const disable = adminMutation({
  args: { skillId: v.id("skillRegistry") },
  returns: v.null(),
  handler: async (ctx, { skillId }) => {
    const skill = await getOwned(await ctx.db.get("skillRegistry", skillId), ctx.principal);
    await ctx.db.patch("skillRegistry", skill._id, { status: "disabled", updatedAt: Date.now() });
    await audit(ctx, ctx.principal, "skill.disable", skill, { status: skill.status }, { status: "disabled" });
    return null;
  },
});
