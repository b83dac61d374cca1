/**
 * The approval inbox: calls the agent made on someone's behalf that need an owner's decision.
 * Approve → the stored call runs again through the checker (with this approval id, nothing else
 * changes), and the requester gets the result in their thread / channel. Deny or expiry → a polite
 * refusal. Every decision is audited. Admins and owners see the inbox; only owners decide.
 */
import { v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { internalAction, internalMutation, internalQuery } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { adminQuery, ownerMutation } from "../access/builders";
import { fail, getOwned } from "../access/principal";
import { writeAudit } from "../audit/log";
import { appendAssistantNote } from "../chat/turns";
import { clampPage } from "../lib/pagination";
import { audienceValidator, approvalStatusValidator } from "./tables";
import { pick } from "convex-helpers";
import schema from "../schema";

export const DENIED_TEXT = "The owner declined that request, so I can't do it.";
export const EXPIRED_TEXT =
  "That request needed the owner's approval and expired without a decision, so I can't do it.";
export const APPROVED_FAILED_TEXT = "The owner approved that request, but it could not be completed";
const MAX_RESULT_CHARS = 3_000;

const VIEW_FIELDS: (
  | "toolLabel"
  | "targetKind"
  | "inputPreview"
  | "audience"
  | "reason"
  | "status"
  | "createdAt"
  | "expiresAt"
  | "decidedAt"
  | "resultCode"
)[] = [
  "toolLabel",
  "targetKind",
  "inputPreview",
  "audience",
  "reason",
  "status",
  "createdAt",
  "expiresAt",
  "decidedAt",
  "resultCode",
];
/** What owners see of an approval: never the stored input, the thread or who decided. */
const approvalView = v.object({
  _id: v.id("toolApprovals"),
  ...pick(schema.tables.toolApprovals.validator.fields, VIEW_FIELDS),
});

/** Pending first (newest first), or decided ones with `status`. */
export const list = adminQuery({
  args: { status: v.optional(approvalStatusValidator), paginationOpts: paginationOptsValidator },
  returns: v.object({ page: v.array(approvalView), isDone: v.boolean(), continueCursor: v.string() }),
  handler: async (ctx, { status, paginationOpts }) => {
    const r = await ctx.db
      .query("toolApprovals")
      .withIndex("by_workspace_status", (q) =>
        q.eq("workspaceId", ctx.principal.workspaceId).eq("status", status ?? "pending"),
      )
      .order("desc")
      .paginate(clampPage(paginationOpts));
    return {
      page: r.page.map((a) => ({ ...pick(a, VIEW_FIELDS), _id: a._id })),
      isDone: r.isDone,
      continueCursor: r.continueCursor,
    };
  },
});

export const decide = ownerMutation({
  args: { approvalId: v.id("toolApprovals"), approve: v.boolean() },
  returns: v.null(),
  handler: async (ctx, { approvalId, approve }) => {
    const row = await getOwned(await ctx.db.get("toolApprovals", approvalId), ctx.principal);
    if (row.status !== "pending") fail("APPROVAL_DECIDED");
    const now = Date.now();
    if (row.expiresAt <= now) fail("APPROVAL_EXPIRED");
    await ctx.db.patch("toolApprovals", row._id, {
      status: approve ? "approved" : "denied",
      decidedBy: ctx.principal.ownerId,
      decidedAt: now,
    });
    await writeAudit(ctx, {
      workspaceId: ctx.principal.workspaceId,
      actorId: ctx.principal.ownerId,
      actorLabel: ctx.principal.ownerKey,
      action: approve ? "toolApproval.approve" : "toolApproval.deny",
      target: row._id,
      after: { tool: row.toolLabel, audience: row.audience, reason: row.reason },
    });
    if (approve) {
      await ctx.scheduler.runAfter(0, internal.agency.approvals.execute, { approvalId: row._id });
    } else {
      await answer(ctx, row.threadId, DENIED_TEXT);
      await ctx.db.patch("toolApprovals", row._id, { resultCode: "DENIED" });
    }
    return null;
  },
});

async function answer(
  ctx: Parameters<typeof appendAssistantNote>[0],
  threadId: Id<"threads">,
  text: string,
  toolOutput = false,
) {
  const thread = await ctx.db.get("threads", threadId);
  if (!thread) return;
  const id = await appendAssistantNote(ctx, thread, text);
  // a tool's output is untrusted content for the runs that still see it
  if (toolOutput)
    await ctx.db.patch("threads", thread._id, { taintedAt: (await ctx.db.get("messages", id))!.createdAt });
}

const EXPIRE_BATCH = 100;

/** Cron: undecided calls past their TTL expire with a refusal (bounded batch, continues itself). */
export const expireDue = internalMutation({
  args: {},
  returns: v.object({ expired: v.number() }),
  handler: async (ctx) => {
    const due = await ctx.db
      .query("toolApprovals")
      .withIndex("by_status_expires", (q) => q.eq("status", "pending").lte("expiresAt", Date.now()))
      .take(EXPIRE_BATCH);
    for (const row of due) {
      await ctx.db.patch("toolApprovals", row._id, { status: "expired", resultCode: "EXPIRED" });
      await answer(ctx, row.threadId, EXPIRED_TEXT);
    }
    if (due.length === EXPIRE_BATCH) await ctx.scheduler.runAfter(0, internal.agency.approvals.expireDue, {});
    return { expired: due.length };
  },
});

export const forExecution = internalQuery({
  args: { approvalId: v.id("toolApprovals") },
  returns: v.union(
    v.null(),
    v.object({
      workspaceId: v.id("workspaces"),
      threadId: v.id("threads"),
      targetKind: v.union(v.literal("skill"), v.literal("mcp")),
      skillName: v.optional(v.string()),
      serverId: v.optional(v.id("mcpServers")),
      toolName: v.optional(v.string()),
      inputJson: v.string(),
      audience: audienceValidator,
      toolLabel: v.string(),
    }),
  ),
  handler: async (ctx, { approvalId }) => {
    const a = await ctx.db.get("toolApprovals", approvalId);
    if (!a || a.status !== "approved") return null;
    return {
      workspaceId: a.workspaceId,
      threadId: a.threadId,
      targetKind: a.targetKind,
      skillName: a.skillName,
      serverId: a.serverId,
      toolName: a.toolName,
      inputJson: a.inputJson,
      audience: a.audience,
      toolLabel: a.toolLabel,
    };
  },
});

/** Runs the approved call through the checker (all its steps, with this approval id) and answers. */
export const execute = internalAction({
  args: { approvalId: v.id("toolApprovals") },
  returns: v.null(),
  handler: async (ctx, { approvalId }) => {
    const a = await ctx.runQuery(internal.agency.approvals.forExecution, { approvalId });
    if (!a) return null;
    const caller = { kind: "agent", id: a.threadId, audience: a.audience, tainted: true, approvalId };
    const input = JSON.parse(a.inputJson) as unknown;
    let r: { ok: true; output: unknown } | { ok: false; code: string };
    try {
      r =
        a.targetKind === "skill" && a.skillName !== undefined
          ? await ctx.runAction(internal.security.checker.invokeSkill, {
              workspaceId: a.workspaceId,
              skillName: a.skillName,
              input,
              caller,
            })
          : a.serverId !== undefined && a.toolName !== undefined
            ? await ctx.runAction(internal.security.checker.callMcpTool, {
                workspaceId: a.workspaceId,
                serverId: a.serverId,
                toolName: a.toolName,
                input,
                caller,
              })
            : { ok: false, code: "INTERNAL" };
    } catch {
      r = { ok: false, code: "INTERNAL" };
    }
    await ctx.runMutation(internal.agency.approvals.deliver, {
      approvalId,
      ok: r.ok,
      code: r.ok ? "OK" : r.code,
      output: r.ok ? resultText(r.output) : undefined,
    });
    return null;
  },
});

function resultText(output: unknown): string {
  let s: string;
  try {
    s = typeof output === "string" ? output : (JSON.stringify(output) ?? "null");
  } catch {
    s = "[unreadable result]";
  }
  return s.length > MAX_RESULT_CHARS ? `${s.slice(0, MAX_RESULT_CHARS)}…` : s;
}

export const deliver = internalMutation({
  args: { approvalId: v.id("toolApprovals"), ok: v.boolean(), code: v.string(), output: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, { approvalId, ok, code, output }) => {
    const row = await ctx.db.get("toolApprovals", approvalId);
    if (!row) return null;
    await ctx.db.patch("toolApprovals", row._id, { resultCode: code });
    const text = ok
      ? `The owner approved ${row.toolLabel}. Result: ${output ?? ""}`
      : `${APPROVED_FAILED_TEXT} (${code}).`;
    await answer(ctx, row.threadId, text, ok);
    return null;
  },
});
