import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";

const SECRET_KEY = /secret|password|token|apikey|api_key|authorization|ciphertext|private/i;

/** Shallow summary of a document for the audit log: no secret-looking fields, long values cut. */
export function auditSummary(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "object") return typeof value === "string" ? value.slice(0, 200) : value;
  if (Array.isArray(value)) return value.slice(0, 20).map((x) => (typeof x === "object" ? "[object]" : x));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith("_")) continue;
    if (SECRET_KEY.test(k)) {
      out[k] = "[REDACTED]";
      continue;
    }
    if (v === null || typeof v !== "object") out[k] = typeof v === "string" ? v.slice(0, 200) : v;
    else out[k] = Array.isArray(v) ? `[${v.length} items]` : "[object]";
  }
  return out;
}

export async function writeAudit(
  ctx: MutationCtx,
  e: {
    workspaceId: Id<"workspaces">;
    actorId?: Id<"owners">;
    actorLabel: string;
    action: string;
    target?: string;
    before?: unknown;
    after?: unknown;
  },
): Promise<void> {
  await ctx.db.insert("auditLog", {
    workspaceId: e.workspaceId,
    actorId: e.actorId,
    actorLabel: e.actorLabel,
    action: e.action,
    target: e.target,
    before: auditSummary(e.before),
    after: auditSummary(e.after),
    at: Date.now(),
  });
}
