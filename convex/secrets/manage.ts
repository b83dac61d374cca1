/**
 * Owner-facing secret management. Write-only: values go in, only "••••"+last4 comes out.
 * Owners set and delete; admins may see the masked list. Every write is audited by name.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx, type QueryCtx } from "../_generated/server";
import { adminQuery, ownerMutation } from "../access/builders";
import { fail, getOwned, type Principal } from "../access/principal";
import { writeAudit } from "../audit/log";
import { encryptSecret, maskFromLast4 } from "../lib/secretbox";
import {
  KINDS,
  MAX_SECRETS_PER_OWNER,
  findSecret,
  getOwnerDoc,
  identityOf,
  isValidName,
  keyRingOrFail,
  listSecrets,
  validateValue,
  secretTableValidator,
  type SecretRow,
  type SecretTable,
} from "./store";

const maskedSecret = v.object({
  name: v.string(),
  masked: v.string(),
  keyVersion: v.string(),
  updatedAt: v.number(),
});

function toMasked(row: SecretRow) {
  return { name: row.name, masked: maskFromLast4(row.last4), keyVersion: row.keyVersion, updatedAt: row.updatedAt };
}

async function ownedTarget(ctx: { db: any; principal: Principal }, table: SecretTable, ownerId: string) {
  return await getOwned(await getOwnerDoc(ctx.db, table, ownerId), ctx.principal);
}

async function setSecret(
  ctx: MutationCtx & { principal: Principal },
  table: SecretTable,
  ownerId: string,
  name: string,
  value: string,
) {
  const owner = await ownedTarget(ctx, table, ownerId);
  if (!isValidName(name)) fail("ARGS_INVALID", { field: "name" });
  validateValue(value);
  const ring = keyRingOrFail();
  const sealed = encryptSecret(value, identityOf(table, ownerId, name), ring);
  const existing = await findSecret(ctx.db, table, ownerId, name);
  const now = Date.now();
  if (existing) {
    await ctx.db.patch(table, existing._id, { ...sealed, updatedAt: now });
  } else {
    const all = await listSecrets(ctx.db, table, ownerId);
    if (all.length >= MAX_SECRETS_PER_OWNER) fail("SECRET_LIMIT_REACHED");
    await ctx.db.insert(table, {
      workspaceId: owner.workspaceId,
      [KINDS[table].ownerField]: ownerId,
      name,
      ...sealed,
      createdAt: now,
      updatedAt: now,
    } as any);
  }
  await writeAudit(ctx, {
    workspaceId: ctx.principal.workspaceId,
    actorId: ctx.principal.ownerId,
    actorLabel: ctx.principal.ownerKey,
    action: existing ? "secret.replace" : "secret.set",
    target: `${KINDS[table].label}:${ownerId}/${name}`,
    before: existing ? { name, keyVersion: existing.keyVersion } : undefined,
    after: { name, keyVersion: sealed.keyVersion },
  });
  return { name, masked: maskFromLast4(sealed.last4), keyVersion: sealed.keyVersion, updatedAt: now };
}

async function deleteSecret(
  ctx: MutationCtx & { principal: Principal },
  table: SecretTable,
  ownerId: string,
  name: string,
) {
  await ownedTarget(ctx, table, ownerId);
  if (!isValidName(name)) fail("ARGS_INVALID", { field: "name" });
  const existing = await findSecret(ctx.db, table, ownerId, name);
  if (!existing) fail("NOT_FOUND");
  await ctx.db.delete(table, existing._id);
  await writeAudit(ctx, {
    workspaceId: ctx.principal.workspaceId,
    actorId: ctx.principal.ownerId,
    actorLabel: ctx.principal.ownerKey,
    action: "secret.delete",
    target: `${KINDS[table].label}:${ownerId}/${name}`,
    before: { name, keyVersion: existing.keyVersion },
  });
  return null;
}

async function listMasked(ctx: QueryCtx & { principal: Principal }, table: SecretTable, ownerId: string) {
  await ownedTarget(ctx, table, ownerId);
  const rows = await listSecrets(ctx.db, table, ownerId);
  return rows
    .slice(0, MAX_SECRETS_PER_OWNER)
    .map(toMasked)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// skills

export const setSkillSecret = ownerMutation({
  args: { skillId: v.id("skillRegistry"), name: v.string(), value: v.string() },
  returns: maskedSecret,
  handler: (ctx, a) => setSecret(ctx, "skillSecrets", a.skillId, a.name, a.value),
});
export const deleteSkillSecret = ownerMutation({
  args: { skillId: v.id("skillRegistry"), name: v.string() },
  returns: v.null(),
  handler: (ctx, a) => deleteSecret(ctx, "skillSecrets", a.skillId, a.name),
});
export const listSkillSecrets = adminQuery({
  args: { skillId: v.id("skillRegistry") },
  returns: v.array(maskedSecret),
  handler: (ctx, a) => listMasked(ctx, "skillSecrets", a.skillId),
});

// channels

export const setChannelSecret = ownerMutation({
  args: { channelId: v.id("channelConfig"), name: v.string(), value: v.string() },
  returns: maskedSecret,
  handler: (ctx, a) => setSecret(ctx, "channelSecrets", a.channelId, a.name, a.value),
});
export const deleteChannelSecret = ownerMutation({
  args: { channelId: v.id("channelConfig"), name: v.string() },
  returns: v.null(),
  handler: (ctx, a) => deleteSecret(ctx, "channelSecrets", a.channelId, a.name),
});
export const listChannelSecrets = adminQuery({
  args: { channelId: v.id("channelConfig") },
  returns: v.array(maskedSecret),
  handler: (ctx, a) => listMasked(ctx, "channelSecrets", a.channelId),
});

// MCP servers

export const setMcpServerSecret = ownerMutation({
  args: { serverId: v.id("mcpServers"), name: v.string(), value: v.string() },
  returns: maskedSecret,
  handler: (ctx, a) => setSecret(ctx, "mcpServerSecrets", a.serverId, a.name, a.value),
});
export const deleteMcpServerSecret = ownerMutation({
  args: { serverId: v.id("mcpServers"), name: v.string() },
  returns: v.null(),
  handler: (ctx, a) => deleteSecret(ctx, "mcpServerSecrets", a.serverId, a.name),
});
export const listMcpServerSecrets = adminQuery({
  args: { serverId: v.id("mcpServers") },
  returns: v.array(maskedSecret),
  handler: (ctx, a) => listMasked(ctx, "mcpServerSecrets", a.serverId),
});

/**
 * For other domains deleting a skill, channel or MCP server: removes that row's secrets.
 * The caller audits the deletion it is part of.
 */
export const purgeOwnerSecrets = internalMutation({
  args: { table: secretTableValidator, ownerId: v.string() },
  returns: v.object({ deleted: v.number() }),
  handler: async (ctx, { table, ownerId }) => {
    const rows = await listSecrets(ctx.db, table, ownerId);
    for (const row of rows) await ctx.db.delete(table, row._id);
    return { deleted: rows.length };
  },
});
