import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "../_generated/server";
import { parseOwnersJson, type OrgLinkEntry, type OwnerEntry } from "../lib/ownersFile";
import { roleValidator } from "../workspaces/tables";
import type { Id } from "../_generated/dataModel";
import {
  ensureWorkspace,
  setMembership,
  hasActiveOwner,
  requireActiveOwner,
  DEFAULT_WORKSPACE_SLUG,
  workspaceBySlug,
} from "../workspaces/lib";
import { parsePasswordHash } from "../lib/password";
import { writeAudit } from "../audit/log";
import { endPersonSessions } from "./session";
import { operatorLink } from "../workspaces/org";

/** First start of a fresh deployment: creates the first owner only if there is none. */
export const bootstrapFirstOwner = internalMutation({
  args: { ownerKey: v.string(), passwordHash: v.string() },
  returns: v.object({ created: v.boolean() }),
  handler: async (ctx, { ownerKey, passwordHash }) => {
    const any = await ctx.db.query("owners").withIndex("by_creation_time").take(1);
    if (any.length > 0) return { created: false };
    if (!parsePasswordHash(passwordHash)) throw new Error("passwordHash is not a valid pbkdf2_sha256 hash");
    const now = Date.now();
    const ownerId = await ctx.db.insert("owners", {
      ownerKey,
      passwordHash,
      active: true,
      createdAt: now,
      updatedAt: now,
    });
    const workspaceId = await ensureWorkspace(ctx, DEFAULT_WORKSPACE_SLUG);
    await setMembership(ctx, ownerId, workspaceId, "owner");
    await writeAudit(ctx, { workspaceId, actorLabel: "system", action: "owner.bootstrap", target: ownerKey });
    return { created: true };
  },
});

const ownerRecord = v.object({
  ownerKey: v.string(),
  passwordHash: v.optional(v.string()),
  clerkUserId: v.optional(v.string()),
  email: v.optional(v.string()),
  role: roleValidator,
  active: v.boolean(),
  workspace: v.optional(v.string()),
});

/**
 * Upserts owners from the owners JSON (file or env value, see scripts/owners.ts).
 * File-managed owners that are no longer listed are deactivated (not deleted: audit keeps pointing at them).
 * Refused as a whole (LAST_OWNER) if it would leave a workspace that has an active owner without one.
 */
const orgLinkRecord = v.object({
  workspace: v.string(),
  clerkOrgId: v.union(v.string(), v.null()),
  jit: v.optional(v.boolean()),
});

export const syncOwners = internalMutation({
  args: { owners: v.array(ownerRecord), orgLinks: v.optional(v.array(orgLinkRecord)) },
  returns: v.object({ created: v.number(), updated: v.number(), deactivated: v.number() }),
  handler: async (ctx, { owners, orgLinks }) => applyOwners(ctx, owners, orgLinks),
});

/** Production path: `npx convex env set WARDEN_OWNERS_JSON "$(cat owners.json)"` then run this. */
export const syncFromEnv = internalMutation({
  args: {},
  returns: v.object({ created: v.number(), updated: v.number(), deactivated: v.number() }),
  handler: async (ctx) => {
    const raw = process.env.WARDEN_OWNERS_JSON;
    if (!raw) throw new Error("WARDEN_OWNERS_JSON is not set");
    const file = parseOwnersJson(raw);
    return applyOwners(ctx, file.owners, file.orgLinks);
  },
});

async function membershipsOf(ctx: MutationCtx, ownerId: Id<"owners">) {
  return await ctx.db
    .query("memberships")
    .withIndex("by_owner", (q) => q.eq("ownerId", ownerId))
    .take(50);
}

async function applyOwners(ctx: MutationCtx, owners: OwnerEntry[], orgLinks: OrgLinkEntry[] = []) {
  let created = 0;
  let updated = 0;
  let deactivated = 0;
  const now = Date.now();
  const listed = new Set(owners.map((o) => o.ownerKey));
  const dropped = (
    await ctx.db
      .query("owners")
      .withIndex("by_managedByFile_active", (q) => q.eq("managedByFile", true).eq("active", true))
      .take(1000)
  ).filter((o) => !listed.has(o.ownerKey));

  // Last-owner guard: every workspace this sync reaches that has an active owner now must still have one after.
  const reached = new Set<Id<"workspaces">>();
  for (const o of owners) {
    const ws = await workspaceBySlug(ctx, o.workspace ?? DEFAULT_WORKSPACE_SLUG);
    if (ws) reached.add(ws._id);
    const person = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", o.ownerKey))
      .unique();
    if (person) for (const m of await membershipsOf(ctx, person._id)) reached.add(m.workspaceId);
  }
  for (const p of dropped) for (const m of await membershipsOf(ctx, p._id)) reached.add(m.workspaceId);
  const guarded: Id<"workspaces">[] = [];
  for (const w of reached) if (await hasActiveOwner(ctx, w)) guarded.push(w);

  for (const o of owners) {
    if (o.passwordHash && !parsePasswordHash(o.passwordHash))
      throw new Error(`owner ${o.ownerKey}: invalid password hash`);
    const workspaceId = await ensureWorkspace(ctx, o.workspace ?? DEFAULT_WORKSPACE_SLUG);
    const existing = await ctx.db
      .query("owners")
      .withIndex("by_ownerKey", (q) => q.eq("ownerKey", o.ownerKey))
      .unique();
    let ownerId;
    if (existing) {
      // The operator changed this person's password or deactivated them: their sessions end.
      const newHash = o.passwordHash !== undefined && o.passwordHash !== existing.passwordHash;
      if (newHash || (existing.active && !o.active))
        await endPersonSessions(ctx, existing._id, o.active ? "password_changed" : "person_inactive");
      await ctx.db.patch("owners", existing._id, {
        passwordHash: o.passwordHash ?? existing.passwordHash,
        clerkUserId: o.clerkUserId ?? existing.clerkUserId,
        email: o.email?.trim().toLowerCase() ?? existing.email,
        active: o.active,
        managedByFile: true,
        updatedAt: now,
      });
      ownerId = existing._id;
      updated++;
    } else {
      ownerId = await ctx.db.insert("owners", {
        ownerKey: o.ownerKey,
        passwordHash: o.passwordHash,
        clerkUserId: o.clerkUserId,
        email: o.email?.trim().toLowerCase(),
        active: o.active,
        managedByFile: true,
        createdAt: now,
        updatedAt: now,
      });
      created++;
    }
    await setMembership(ctx, ownerId, workspaceId, o.role);
    await writeAudit(ctx, {
      workspaceId,
      actorLabel: "owners-sync",
      action: existing ? "owner.update" : "owner.create",
      target: o.ownerKey,
      after: { role: o.role, active: o.active },
    });
  }
  for (const p of dropped) {
    await ctx.db.patch("owners", p._id, { active: false, updatedAt: now });
    await endPersonSessions(ctx, p._id, "person_inactive");
    deactivated++;
  }
  for (const w of guarded) await requireActiveOwner(ctx, w); // throws LAST_OWNER: nothing of this sync is applied
  // Clerk organization links the operator declared (an id linked elsewhere fails the whole sync: ORG_ALREADY_LINKED).
  for (const l of orgLinks) await operatorLink(ctx, await ensureWorkspace(ctx, l.workspace), l.clerkOrgId, l.jit);
  return { created, updated, deactivated };
}
