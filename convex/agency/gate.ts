/**
 * The agency gate inside the checker's precheck transaction: for an agent call, the audience's
 * grant and the taint rule decide deny / ask / run. An `ask` records the pending call (once per
 * thread, tool and input) and notifies owners; a call carrying an approval id runs only if that
 * approval is for exactly this thread, tool and input, approved and unused.
 */
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import {
  AUDIENCES,
  APPROVAL_TTL_MS,
  canonicalJson,
  decide,
  policyFor,
  type Audience,
  type RiskClass,
} from "../lib/agency";
import { utf8Length } from "../lib/redact";
import { queueReply } from "../channels/delivery";
import { notify } from "../notifications/notify";
import type { Code } from "../lib/codes";

export const MAX_APPROVAL_INPUT_BYTES = 16 * 1024;
/** Open approvals per thread: one requester cannot flood the owners' inbox. */
export const MAX_PENDING_PER_THREAD = 5;
/** Owners' own linked channel identities that hear about a new approval (no input, just the tool). */
const MAX_OWNER_CHANNELS_NOTIFIED = 5;
export const approvalNotice = (tool: string) =>
  `Approval needed: the agent wants to use ${tool}. Approve or deny it in SyncBoard → Approvals.`;

export type AgencyCaller = { kind: string; id?: string; audience?: string; tainted?: boolean; approvalId?: string };

export async function grantFor(
  ctx: QueryCtx,
  workspaceId: Id<"workspaces">,
  toolRef: string,
): Promise<Doc<"toolGrants"> | null> {
  return await ctx.db
    .query("toolGrants")
    .withIndex("by_workspace_tool", (q) => q.eq("workspaceId", workspaceId).eq("toolRef", toolRef))
    .unique();
}

export type GateTarget = {
  workspaceId: Id<"workspaces">;
  toolRef: string;
  toolLabel: string;
  targetKind: "skill" | "mcp";
  skillName?: string;
  serverId?: Id<"mcpServers">;
  toolName?: string;
  input: unknown;
  inputPreview: string;
  defaultRisk: RiskClass;
};

export type GateResult = { ok: true } | { ok: false; code: Code; securityEvent: boolean };

function isAudience(a: unknown): a is Audience {
  return typeof a === "string" && (AUDIENCES as readonly string[]).includes(a);
}

/** Only agent calls pass this gate; other callers (MCP clients, scoped by token) are not audiences. */
export async function agencyGate(ctx: MutationCtx, caller: AgencyCaller, t: GateTarget): Promise<GateResult> {
  if (caller.kind !== "agent") return { ok: true };
  const deny = (code: Code, securityEvent = true): GateResult => ({ ok: false, code, securityEvent });
  if (!isAudience(caller.audience)) return deny("TOOL_NOT_GRANTED");
  const threadId = caller.id ? ctx.db.normalizeId("threads", caller.id) : null;
  const thread = threadId ? await ctx.db.get("threads", threadId) : null;
  const inputJson = canonicalJson(t.input);

  if (caller.approvalId !== undefined) {
    const id = ctx.db.normalizeId("toolApprovals", caller.approvalId);
    const row = id ? await ctx.db.get("toolApprovals", id) : null;
    if (
      !row ||
      row.workspaceId !== t.workspaceId ||
      row.status !== "approved" ||
      row.toolRef !== t.toolRef ||
      row.inputJson !== inputJson ||
      !thread ||
      row.threadId !== thread._id ||
      row.expiresAt < Date.now()
    ) {
      return deny("APPROVAL_INVALID");
    }
    await ctx.db.patch("toolApprovals", row._id, { status: "executed" });
    return { ok: true };
  }

  const grant = await grantFor(ctx, t.workspaceId, t.toolRef);
  const decision = decide(
    policyFor(grant, caller.audience),
    grant?.riskClass ?? t.defaultRisk,
    caller.tainted !== false,
  );
  if (decision.run) return { ok: true };
  if (!decision.ask) return deny("TOOL_NOT_GRANTED");
  // an approval needs a real thread of this workspace to answer in
  if (!thread || thread.workspaceId !== t.workspaceId) return deny("TOOL_NOT_GRANTED");
  if (utf8Length(inputJson) > MAX_APPROVAL_INPUT_BYTES) return deny("INPUT_INVALID", false);

  const pending = await ctx.db
    .query("toolApprovals")
    .withIndex("by_thread", (q) => q.eq("threadId", thread._id))
    .order("desc")
    .take(20);
  const open = pending.filter((p) => p.status === "pending");
  const same = open.find((p) => p.toolRef === t.toolRef && p.inputJson === inputJson);
  if (!same && open.length >= MAX_PENDING_PER_THREAD) return deny("APPROVAL_QUEUE_FULL");
  if (!same) {
    const now = Date.now();
    const approvalId = await ctx.db.insert("toolApprovals", {
      workspaceId: t.workspaceId,
      threadId: thread._id,
      toolRef: t.toolRef,
      toolLabel: t.toolLabel.slice(0, 200),
      targetKind: t.targetKind,
      skillName: t.skillName,
      serverId: t.serverId,
      toolName: t.toolName,
      inputJson,
      inputPreview: t.inputPreview.slice(0, 1024),
      audience: caller.audience,
      reason: decision.reason,
      status: "pending",
      createdAt: now,
      expiresAt: now + APPROVAL_TTL_MS,
    });
    void approvalId; // expiry: the "tool approval expiry" cron (agency/approvals:expireDue)
    await notify(
      ctx,
      {
        workspaceId: t.workspaceId,
        kind: "tool_approval",
        title: `Approval needed: ${t.toolLabel.slice(0, 80)}`,
        body:
          decision.reason === "tainted_side_effect"
            ? "A tool with side effects was requested after untrusted content entered the conversation. Approve or deny it in the Approvals inbox."
            : "A tool that needs your approval for this audience was requested. Approve or deny it in the Approvals inbox.",
      },
      now,
    );
    const owners = await ctx.db
      .query("channelUsers")
      .withIndex("by_workspace_trust", (q) => q.eq("workspaceId", t.workspaceId).eq("trust", "owner"))
      .take(MAX_OWNER_CHANNELS_NOTIFIED);
    for (const o of owners) if (!o.blocked) await queueReply(ctx, o._id, approvalNotice(t.toolLabel.slice(0, 80)));
  }
  return deny("APPROVAL_REQUIRED", false);
}
