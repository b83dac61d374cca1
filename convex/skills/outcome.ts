/** What an executor hands back to the checker. Output travels as JSON text (any JSON is allowed). */
import { v } from "convex/values";

export const runOutcomeValidator = v.union(
  v.object({ ok: v.literal(true), outputJson: v.string(), bytes: v.number() }),
  v.object({ ok: v.literal(false), code: v.string(), host: v.optional(v.string()) }),
);

export type RunOutcome = { ok: true; outputJson: string; bytes: number } | { ok: false; code: string; host?: string };

export function okJson(output: unknown): { ok: true; outputJson: string; bytes: number } {
  const outputJson = JSON.stringify(output ?? null) ?? "null";
  return { ok: true, outputJson, bytes: new TextEncoder().encode(outputJson).length };
}
