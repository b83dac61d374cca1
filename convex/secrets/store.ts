/**
 * Shared plumbing for the three secret tables. No Convex functions live here; manage.ts,
 * access.ts and rotation.ts are the only modules that use it.
 */
import { v } from "convex/values";
import type { Doc, Id, TableNames } from "../_generated/dataModel";
import { fail } from "../access/principal";
import { decryptSecret, usableKeyRing, SecretboxError, type KeyRing, type SecretIdentity } from "../lib/secretbox";
import type { MutationCtx } from "../_generated/server";

export const SECRET_TABLES = ["skillSecrets", "channelSecrets", "mcpServerSecrets"] as const;
export type SecretTable = (typeof SECRET_TABLES)[number];
export const secretTableValidator = v.union(
  v.literal("skillSecrets"),
  v.literal("channelSecrets"),
  v.literal("mcpServerSecrets"),
);

type Kind = {
  ownerTable: TableNames;
  ownerField: "skillId" | "channelId" | "serverId";
  nameIndex: string;
  /** prefix used in audit targets and security-event sources */
  label: string;
};

export const KINDS: Record<SecretTable, Kind> = {
  skillSecrets: { ownerTable: "skillRegistry", ownerField: "skillId", nameIndex: "by_skill_name", label: "skill" },
  channelSecrets: {
    ownerTable: "channelConfig",
    ownerField: "channelId",
    nameIndex: "by_channel_name",
    label: "channel",
  },
  mcpServerSecrets: {
    ownerTable: "mcpServers",
    ownerField: "serverId",
    nameIndex: "by_server_name",
    label: "mcpServer",
  },
};

export type SecretRow = Doc<"skillSecrets"> | Doc<"channelSecrets"> | Doc<"mcpServerSecrets">;

export const NAME_RE = /^[A-Za-z0-9_]{1,64}$/;
export const MAX_VALUE_BYTES = 8192;
/** Per skill / channel / server; keeps every listing a single bounded read. */
export const MAX_SECRETS_PER_OWNER = 50;

/** Names are identifiers; "__…" is refused so a name can never collide with object internals. */
export function isValidName(name: unknown): name is string {
  return typeof name === "string" && NAME_RE.test(name) && !name.startsWith("__");
}

export function validateValue(value: unknown): void {
  if (typeof value !== "string") fail("ARGS_INVALID", { field: "value" });
  const bytes = new TextEncoder().encode(value).length;
  if (bytes < 1 || bytes > MAX_VALUE_BYTES) fail("ARGS_INVALID", { field: "value" });
}

/** The associated data bound into every ciphertext: which table, which owner row, which name. */
export function identityOf(table: SecretTable, ownerId: string, name: string): SecretIdentity {
  return { table, ownerId, name };
}

export function ownerIdOf(table: SecretTable, row: SecretRow): string {
  return (row as Record<string, unknown>)[KINDS[table].ownerField] as string;
}

/**
 * The key ring from the deployment env, or SECRET_KEY_UNAVAILABLE (never the parse message). Outside
 * a test run a missing, malformed or published key (docs, tests, anything in this repository) is
 * refused here, on every secret read, write and rotation.
 */
export function keyRingOrFail(): KeyRing {
  try {
    return usableKeyRing(process.env);
  } catch (e) {
    if (e instanceof SecretboxError) fail("SECRET_KEY_UNAVAILABLE");
    throw e;
  }
}

export async function findSecret(
  db: any,
  table: SecretTable,
  ownerId: string,
  name: string,
): Promise<SecretRow | null> {
  const k = KINDS[table];
  return await db
    .query(table)
    .withIndex(k.nameIndex, (q: any) => q.eq(k.ownerField, ownerId).eq("name", name))
    .unique();
}

/** All secrets of one owner row, bounded by the per-owner cap (+1 to detect overflow). */
export async function listSecrets(db: any, table: SecretTable, ownerId: string): Promise<SecretRow[]> {
  const k = KINDS[table];
  return await db
    .query(table)
    .withIndex(k.nameIndex, (q: any) => q.eq(k.ownerField, ownerId))
    .take(MAX_SECRETS_PER_OWNER + 1);
}

export async function getOwnerDoc(
  db: any,
  table: SecretTable,
  ownerId: string,
): Promise<{ _id: string; workspaceId: Id<"workspaces"> } | null> {
  const id = db.normalizeId(KINDS[table].ownerTable, ownerId);
  return id ? await db.get(id) : null;
}

/**
 * Upserts one sealed MCP server secret (written by the MCP domain's OAuth flow). Only this domain
 * inserts into the secret tables; the caller passes an already sealed value.
 */
export async function putMcpServerSecret(
  ctx: MutationCtx,
  server: { _id: Id<"mcpServers">; workspaceId: Id<"workspaces"> },
  name: string,
  value: { ciphertext: string; keyVersion: string; last4: string },
): Promise<void> {
  const existing = await findSecret(ctx.db, "mcpServerSecrets", server._id, name);
  const now = Date.now();
  if (existing) {
    await ctx.db.patch("mcpServerSecrets", existing._id as Id<"mcpServerSecrets">, { ...value, updatedAt: now });
    return;
  }
  const all = await listSecrets(ctx.db, "mcpServerSecrets", server._id);
  if (all.length >= MAX_SECRETS_PER_OWNER) fail("SECRET_LIMIT_REACHED");
  await ctx.db.insert("mcpServerSecrets", {
    workspaceId: server.workspaceId,
    serverId: server._id,
    name,
    ...value,
    createdAt: now,
    updatedAt: now,
  });
}

/** Opens a short-lived value sealed with the key ring under `identity` (e.g. an OAuth PKCE verifier). */
export function openSealed(sealed: { ciphertext: string; keyVersion: string }, identity: SecretIdentity): string {
  return decryptSecret(sealed, identity, keyRingOrFail());
}
