/**
 * The checker's shared pipeline: caller and result shapes, input measuring, the precheck runner
 * and its logged denials, deadlines, limits, and delivering an allowed result (redacted, logged,
 * large outputs to storage). Used by the entry points in checkerSkill.ts and checkerMcp.ts.
 */
import { v, convexToJson, type Value } from "convex/values";
import type { ActionCtx, MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { enforceLimit, type LimitResult } from "../limits/enforce";
import { MINUTE } from "../lib/time";
import { MAX_INPUT_BYTES } from "../lib/jsonSchema";
import { preview, redactValue, utf8Length, type JsonValue } from "../lib/redact";
import { writeInvocationLog, PREVIEW_BYTES, type InvocationLogEntry } from "./checkerLog";
import { codeValidator, type Code } from "../lib/codes";
import { invocationLogFields } from "./tables";

/** Extra time the executor gets beyond the skill's own timeout before the checker gives up on it. */
export const EXECUTOR_GRACE_MS = 1500;
/** Codes that mean "this request tried to leave the allowlist": always security events with the host. */
export const EGRESS_CODES = new Set(["DOMAIN_NOT_ALLOWED", "PRIVATE_ADDRESS_BLOCKED", "REDIRECT_BLOCKED"]);

/**
 * Who asks. Agent calls also carry the run's audience and taint (derived from the thread by
 * agent/context, never from the model) and, when re-run after an owner's decision, the approval id.
 */
export const callerValidator = v.object({
  kind: v.string(),
  id: v.optional(v.string()),
  audience: v.optional(v.string()),
  tainted: v.optional(v.boolean()),
  approvalId: v.optional(v.string()),
});
export const checkResultValidator = v.union(
  v.object({ ok: v.literal(true), output: v.any() }),
  v.object({ ok: v.literal(false), code: v.string(), retryAfterMs: v.optional(v.number()) }),
);
export type CheckResult = { ok: true; output: unknown } | { ok: false; code: Code; retryAfterMs?: number };
export type Caller = { kind: string; id?: string; audience?: string; tainted?: boolean; approvalId?: string };

/** An invocation-log row as the checker hands it to logResult: the table's fields less `at`, with a typed code. */
const { at: _at, code: _code, ...entryFields } = invocationLogFields;
export const logEntryValidator = v.object({ ...entryFields, code: v.union(codeValidator, v.literal("OK")) });

// ---------------------------------------------------------------------------------------------
// shared helpers

export function jsonOf(value: unknown): string | null {
  try {
    const s = JSON.stringify(value ?? null);
    return s === undefined ? null : s;
  } catch {
    return null;
  }
}

export function sourceOf(caller: Caller): string {
  return caller.id ? `${caller.kind}:${caller.id}` : caller.kind;
}

export function denial(code: Code, retryAfterMs?: number): CheckResult {
  return retryAfterMs === undefined ? { ok: false, code } : { ok: false, code, retryAfterMs };
}

/** Resolves with the promise, or with "TIMEOUT" once `ms` pass. A late rejection is swallowed. */
export async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | "TIMEOUT"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([
      p,
      new Promise<"TIMEOUT">((resolve) => {
        timer = setTimeout(() => resolve("TIMEOUT"), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * The target's own limit (its per-minute rate, when set, wins over the workspace's named limit),
 * then the global one; the first denial wins and only admitted calls reach the global bucket.
 */
export async function targetThenGlobalLimit(
  ctx: MutationCtx,
  a: {
    workspaceId: Id<"workspaces">;
    name: "skillPerSkill" | "mcpPerServer";
    key: string;
    category: string;
    source: string;
    ratePerMinute?: number;
  },
): Promise<LimitResult> {
  const own = await enforceLimit(ctx, {
    workspaceId: a.workspaceId,
    name: a.name,
    key: a.key,
    category: a.category,
    source: a.source,
    override: a.ratePerMinute !== undefined ? { rate: a.ratePerMinute, periodMs: MINUTE } : undefined,
  });
  if (!own.ok) return own;
  return await enforceLimit(ctx, {
    workspaceId: a.workspaceId,
    name: "globalInvocations",
    key: "global",
    category: a.category,
    source: a.source,
  });
}

/** A Convex value as is; anything Convex cannot carry (e.g. `$`-keys from an API) as its JSON text. */
export function deliverable(value: JsonValue): unknown {
  try {
    convexToJson(value as Value);
    return value;
  } catch {
    return JSON.stringify(value);
  }
}

/** Outputs larger than this go to file storage; the log keeps the reference and a preview. */
export const LARGE_OUTPUT_BYTES = 4 * 1024;

/** Stores a (redacted) output in file storage when it is large; undefined when it fits the log. */
export async function storeLargeOutput(ctx: ActionCtx, redacted: unknown): Promise<Id<"_storage"> | undefined> {
  const json = jsonOf(redacted);
  if (json === null || utf8Length(json) <= LARGE_OUTPUT_BYTES) return undefined;
  return await ctx.storage.store(new Blob([json], { type: "application/json" }));
}

/**
 * Steps 9–10 for an allowed call: redact, log (preview; large outputs to file storage), deliver.
 * An invocation that cannot be logged does not deliver its output.
 */
export async function deliverAllowed(
  ctx: ActionCtx,
  entry: Omit<InvocationLogEntry, "code" | "allowed" | "outputPreview" | "outputStorageId">,
  output: unknown,
): Promise<CheckResult> {
  const redacted = redactValue(output, []);
  const logged = await logFromAction(ctx, {
    ...entry,
    code: "OK",
    allowed: true,
    outputPreview: preview(redacted, [], PREVIEW_BYTES),
    outputStorageId: await storeLargeOutput(ctx, redacted),
  });
  return logged ? { ok: true, output: deliverable(redacted) } : denial("INTERNAL");
}

export async function logFromAction(ctx: ActionCtx, entry: InvocationLogEntry, detail?: string): Promise<boolean> {
  try {
    await ctx.runMutation(internal.security.checker.logResult, { entry, detail });
    return true;
  } catch {
    return false;
  }
}

export type LogBase = Pick<
  InvocationLogEntry,
  "workspaceId" | "targetKind" | "targetName" | "callerKind" | "callerId" | "inputBytes" | "inputPreview"
>;
export type PrecheckDenied = { ok: false; code: Code; retryAfterMs?: number };

/** Size, validity and log preview of a call's input; the same for skills and MCP tools. */
export function measureInput(input: unknown): { inputBytes: number; inputTooLarge: boolean; inputPreview: string } {
  const inputJson = jsonOf(input);
  const inputBytes = inputJson === null ? 0 : utf8Length(inputJson);
  const inputTooLarge = inputJson === null || inputBytes > MAX_INPUT_BYTES;
  return {
    inputBytes,
    inputTooLarge,
    inputPreview: preview(inputTooLarge ? "[input too large]" : input, [], PREVIEW_BYTES),
  };
}

/**
 * Runs a precheck mutation (which logs its own denials). If it throws, the checker could not
 * decide: deny (fail closed) and try to record it.
 */
export async function runPrecheck<T extends { ok: true }>(
  ctx: ActionCtx,
  base: LogBase,
  startedAt: number,
  precheck: () => Promise<T | PrecheckDenied>,
): Promise<T | PrecheckDenied> {
  try {
    return await precheck();
  } catch {
    await logFromAction(ctx, {
      ...base,
      code: "INTERNAL",
      allowed: false,
      durationMs: Date.now() - startedAt,
      outputBytes: 0,
    });
    return { ok: false, code: "INTERNAL" };
  }
}

/** A precheck's denial: logged (with its security event) in the precheck's own transaction. */
export async function denyInPrecheck(
  ctx: MutationCtx,
  entry: Omit<InvocationLogEntry, "code" | "allowed" | "durationMs" | "outputBytes">,
  startedAt: number,
  source: string,
  code: Code,
  retryAfterMs?: number,
  securityEvent = true,
): Promise<PrecheckDenied> {
  await writeInvocationLog(
    ctx,
    { ...entry, code, allowed: false, durationMs: Date.now() - startedAt, outputBytes: 0 },
    { source, securityEvent },
  );
  return { ok: false as const, code, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
