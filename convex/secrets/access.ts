/**
 * The only place secrets are decrypted for use (rotation re-encrypts in rotation.ts).
 *
 * A skill, channel or MCP server gets only its own secrets: rows are looked up by the owner id the
 * caller names, the ciphertext is bound to that owner id as associated data, and a skill may ask
 * only for names declared in its `secretNames`. Anything else is SECRET_ACCESS_DENIED plus a
 * security event. Decryption runs in an action, after the query has answered, so plaintext is
 * never part of a (cached, reactive) query result.
 */
import { v, type Infer } from "convex/values";
import { internalAction, internalMutation, internalQuery, type ActionCtx, type QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { internal } from "../_generated/api";
import { fail } from "../access/principal";
import { recordSecurityEvent } from "../security/events";
import { decryptSecret, SecretboxError } from "../lib/secretbox";
import {
  KINDS,
  MAX_SECRETS_PER_OWNER,
  findSecret,
  getOwnerDoc,
  identityOf,
  isValidName,
  keyRingOrFail,
  secretTableValidator,
  type SecretTable,
} from "./store";

const denial = v.object({
  ok: v.literal(false),
  workspaceId: v.optional(v.id("workspaces")),
  reason: v.string(),
  names: v.array(v.string()),
});
const granted = v.object({
  ok: v.literal(true),
  workspaceId: v.id("workspaces"),
  rows: v.array(v.object({ name: v.string(), ciphertext: v.string(), keyVersion: v.string() })),
});

export const loadedSecretsValidator = v.union(granted, denial);
/** Ciphertexts a read may open, or why it may not (never plaintext). */
export type LoadedSecrets = Infer<typeof loadedSecretsValidator>;

/**
 * Applies the access rules to `owner` (already read by the caller, e.g. a channel's prepare query)
 * and returns ciphertexts. Open them with `openSecrets` in an action.
 */
export async function loadCiphertexts(
  db: QueryCtx["db"],
  table: SecretTable,
  owner: { _id: string; workspaceId: Id<"workspaces">; secretNames?: string[] } | null,
  names: string[],
): Promise<LoadedSecrets> {
  const valid = [...new Set(names.filter(isValidName))];
  if (!owner) return { ok: false as const, reason: "owner_not_found", names: valid.slice(0, 20) };
  const workspaceId = owner.workspaceId;
  if (names.some((n) => !isValidName(n))) {
    return { ok: false as const, workspaceId, reason: "invalid_name", names: valid.slice(0, 20) };
  }
  if (valid.length > MAX_SECRETS_PER_OWNER) return { ok: false as const, workspaceId, reason: "too_many", names: [] };
  if (table === "skillSecrets") {
    const declared = new Set<string>(owner.secretNames ?? []);
    const undeclared = valid.filter((n) => !declared.has(n));
    if (undeclared.length > 0)
      return { ok: false as const, workspaceId, reason: "undeclared", names: undeclared.slice(0, 20) };
  }
  const rows = [];
  for (const name of valid) {
    const row = await findSecret(db, table, owner._id, name);
    if (!row) continue; // declared but not set: absent from the result
    if (row.workspaceId !== workspaceId)
      return { ok: false as const, workspaceId, reason: "workspace_mismatch", names: [name] };
    rows.push({ name: row.name, ciphertext: row.ciphertext, keyVersion: row.keyVersion });
  }
  return { ok: true as const, workspaceId, rows };
}

/** Applies the access rules and returns ciphertexts (never plaintext). Internal only. */
export const loadForRead = internalQuery({
  args: { table: secretTableValidator, ownerId: v.string(), names: v.array(v.string()) },
  returns: loadedSecretsValidator,
  handler: async (ctx, { table, ownerId, names }) =>
    await loadCiphertexts(ctx.db, table, await getOwnerDoc(ctx.db, table, ownerId), names),
});

/** Security event for a refused or failed read; names only, never values. */
export const logDenial = internalMutation({
  args: {
    table: secretTableValidator,
    ownerId: v.string(),
    workspaceId: v.optional(v.id("workspaces")),
    code: v.union(v.literal("SECRET_ACCESS_DENIED"), v.literal("SECRET_DECRYPT_FAILED")),
    reason: v.string(),
    names: v.array(v.string()),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    await recordSecurityEvent(ctx, {
      workspaceId: a.workspaceId,
      code: a.code,
      category: "secret",
      source: `${KINDS[a.table].label}:${a.ownerId}`,
      detail: `table=${a.table} reason=${a.reason} names=${a.names.filter(isValidName).slice(0, 20).join(",")}`,
    });
    return null;
  },
});

type RunCtx = Pick<ActionCtx, "runQuery" | "runMutation">;

/**
 * Decrypts `names` for the owner row `ownerId` of `table`. Usable from any action or HTTP action
 * (saves an action-to-action hop); the internal actions below are thin wrappers around it.
 * Declared-but-unset names are absent from the result; callers must fail closed on a missing one.
 */
export async function readSecrets(
  ctx: RunCtx,
  table: SecretTable,
  ownerId: string,
  names: string[],
): Promise<Record<string, string>> {
  return await openSecrets(
    ctx,
    table,
    ownerId,
    await ctx.runQuery(internal.secrets.access.loadForRead, { table, ownerId, names }),
  );
}

/**
 * Decrypts what `loadCiphertexts` granted (in an action, so plaintext never sits in a query
 * result); a refusal or a failed decryption is logged and thrown as its code.
 */
export async function openSecrets(
  ctx: RunCtx,
  table: SecretTable,
  ownerId: string,
  res: LoadedSecrets,
): Promise<Record<string, string>> {
  if (!res.ok) {
    await ctx.runMutation(internal.secrets.access.logDenial, {
      table,
      ownerId,
      workspaceId: res.workspaceId,
      code: "SECRET_ACCESS_DENIED",
      reason: res.reason,
      names: res.names,
    });
    fail("SECRET_ACCESS_DENIED");
  }
  if (res.rows.length === 0) return {};
  const ring = keyRingOrFail();
  const out: Record<string, string> = {};
  for (const row of res.rows) {
    try {
      out[row.name] = decryptSecret(row, identityOf(table, ownerId, row.name), ring);
    } catch (e) {
      if (!(e instanceof SecretboxError)) throw e;
      await ctx.runMutation(internal.secrets.access.logDenial, {
        table,
        ownerId,
        workspaceId: res.workspaceId,
        code: "SECRET_DECRYPT_FAILED",
        reason: "decrypt_failed",
        names: [row.name],
      });
      fail("SECRET_DECRYPT_FAILED");
    }
  }
  return out;
}

const plaintextMap = v.record(v.string(), v.string());

export const readSkillSecrets = internalAction({
  args: { skillId: v.id("skillRegistry"), names: v.array(v.string()) },
  returns: plaintextMap,
  handler: (ctx, a): Promise<Record<string, string>> => readSecrets(ctx, "skillSecrets", a.skillId, a.names),
});

export const readChannelSecrets = internalAction({
  args: { channelId: v.id("channelConfig"), names: v.array(v.string()) },
  returns: plaintextMap,
  handler: (ctx, a): Promise<Record<string, string>> => readSecrets(ctx, "channelSecrets", a.channelId, a.names),
});

export const readMcpServerSecrets = internalAction({
  args: { serverId: v.id("mcpServers"), names: v.array(v.string()) },
  returns: plaintextMap,
  handler: (ctx, a): Promise<Record<string, string>> => readSecrets(ctx, "mcpServerSecrets", a.serverId, a.names),
});
