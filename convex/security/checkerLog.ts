/**
 * Writing check results: one invocationLog row per result (allowed or denied) and a security
 * event for denials. Used only by checker.ts. The hourly invocationSummary is maintained off
 * this path by the rollup in logs/summaries.ts, so an allowed call writes no summary row.
 */
import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { recordSecurityEvent } from "./events";
import type { Code } from "../lib/codes";

/** Previews stay at or under 1 KB including the truncation suffix. */
export const PREVIEW_BYTES = 990;

export type TargetKind = "skill" | "mcp" | "webhook";

export type InvocationLogEntry = {
  workspaceId: Id<"workspaces">;
  targetKind: TargetKind;
  skillId?: Id<"skillRegistry">;
  mcpServerId?: Id<"mcpServers">;
  channelId?: Id<"channelConfig">;
  targetName: string;
  callerKind: string;
  callerId?: string;
  /** "OK" or a catalogue code */
  code: Code | "OK";
  allowed: boolean;
  durationMs: number;
  inputBytes: number;
  outputBytes: number;
  inputPreview?: string;
  outputPreview?: string;
  outputStorageId?: Id<"_storage">;
};

/** Codes whose security event is already written elsewhere (enforceLimit logs its own denials). */
const EVENT_WRITTEN_ELSEWHERE = new Set(["RATE_LIMITED", "LIMIT_UNAVAILABLE"]);

function clip(s: string | undefined, n: number): string | undefined {
  return s === undefined ? undefined : s.slice(0, n);
}

export async function writeInvocationLog(
  ctx: MutationCtx,
  e: InvocationLogEntry,
  opts: { source?: string; detail?: string; securityEvent?: boolean } = {},
): Promise<void> {
  const at = Date.now();
  const durationMs = Math.max(0, Math.round(e.durationMs));
  await ctx.db.insert("invocationLog", {
    workspaceId: e.workspaceId,
    targetKind: e.targetKind,
    skillId: e.skillId,
    mcpServerId: e.mcpServerId,
    channelId: e.channelId,
    targetName: e.targetName.slice(0, 200),
    callerKind: e.callerKind.slice(0, 40),
    callerId: clip(e.callerId, 100),
    code: e.code,
    allowed: e.allowed,
    durationMs,
    inputBytes: e.inputBytes,
    outputBytes: e.outputBytes,
    inputPreview: clip(e.inputPreview, 1024),
    outputPreview: clip(e.outputPreview, 1024),
    outputStorageId: e.outputStorageId,
    at,
  });

  if (!e.allowed && e.code !== "OK" && opts.securityEvent !== false && !EVENT_WRITTEN_ELSEWHERE.has(e.code)) {
    await recordSecurityEvent(ctx, {
      workspaceId: e.workspaceId,
      code: e.code,
      category: e.targetKind,
      source: opts.source ?? (e.callerId ? `${e.callerKind}:${e.callerId}` : e.callerKind),
      detail: opts.detail ?? `${e.targetKind}=${e.targetName}`,
    });
  }
}
