/**
 * MCP server health (cron "mcp health", every 5 minutes; see crons.ts). Each enabled server is
 * probed by listing its tools (client.ts:refreshTools — the same guarded connection, and the
 * listing re-pins tool hashes). Status, latency and time are recorded. After N consecutive
 * failures (WARDEN_MCP_HEALTH_FAILURES, default 3) the server is auto-disabled: activity log
 * (private), security event, SyncBoard notification, and an email through Resend when
 * RESEND_API_KEY and WARDEN_ALERT_EMAIL are set. Re-enabling is an owner action (servers:enable).
 * Servers are read in bounded pages of the by_enabled index. Each run also prunes /mcp sessions.
 */
import { v } from "convex/values";
import { internalAction, internalMutation, internalQuery } from "../../_generated/server";
import { internal } from "../../_generated/api";
import type { Id } from "../../_generated/dataModel";
import { recordSecurityEvent } from "../../security/events";
import { logActivity } from "../../agent/activity";
import { resendSendEmail, vendorBase } from "../../channels/vendors";
import { notify } from "../../notifications/notify";

export const DEFAULT_FAILURE_THRESHOLD = 3;
const PAGE_SIZE = 50;
const MAX_PAGES = 40;
const CONCURRENCY = 8;
const EMAIL_TIMEOUT_MS = 10_000;

export function failureThreshold(env: Record<string, string | undefined>): number {
  const n = Number(env.WARDEN_MCP_HEALTH_FAILURES);
  return Number.isInteger(n) && n >= 1 && n <= 20 ? n : DEFAULT_FAILURE_THRESHOLD;
}

export const enabledPage = internalQuery({
  args: { cursor: v.union(v.string(), v.null()) },
  returns: v.object({ ids: v.array(v.id("mcpServers")), isDone: v.boolean(), continueCursor: v.string() }),
  handler: async (ctx, { cursor }) => {
    const page = await ctx.db
      .query("mcpServers")
      .withIndex("by_enabled", (q) => q.eq("enabled", true))
      .paginate({ cursor, numItems: PAGE_SIZE });
    return { ids: page.page.map((s) => s._id), isDone: page.isDone, continueCursor: page.continueCursor };
  },
});

const disabledInfo = v.object({
  disabled: v.boolean(),
  workspaceId: v.optional(v.id("workspaces")),
  name: v.optional(v.string()),
  failures: v.optional(v.number()),
});

export const recordHealth = internalMutation({
  args: {
    serverId: v.id("mcpServers"),
    ok: v.boolean(),
    latencyMs: v.number(),
    code: v.optional(v.string()),
    threshold: v.number(),
  },
  returns: disabledInfo,
  handler: async (ctx, a) => {
    const server = await ctx.db.get("mcpServers", a.serverId);
    if (!server || !server.enabled) return { disabled: false };
    const now = Date.now();
    const latency = Math.max(0, Math.round(a.latencyMs));
    if (a.ok) {
      await ctx.db.patch("mcpServers", server._id, {
        healthStatus: "healthy",
        healthLatencyMs: latency,
        healthCheckedAt: now,
        consecutiveFailures: 0,
      });
      return { disabled: false };
    }
    const failures = server.consecutiveFailures + 1;
    const code = (a.code ?? "UPSTREAM_ERROR").slice(0, 64);
    await ctx.db.patch("mcpServers", server._id, {
      healthStatus: "unhealthy",
      healthLatencyMs: latency,
      healthCheckedAt: now,
      consecutiveFailures: failures,
      lastErrorCode: code,
    });
    if (failures < a.threshold) return { disabled: false };

    const reason = `health: ${failures} consecutive failures (${code})`;
    await ctx.db.patch("mcpServers", server._id, {
      enabled: false,
      status: "disabled",
      disabledReason: reason,
      updatedAt: now,
    });
    await logActivity(ctx, {
      workspaceId: server.workspaceId,
      kind: "mcp.server_auto_disabled",
      code,
      meta: { serverId: server._id, server: server.name, failures, code },
    });
    await recordSecurityEvent(ctx, {
      workspaceId: server.workspaceId,
      code: "MCP_SERVER_DISABLED",
      category: "mcp",
      source: `mcpServer:${server._id}`,
      detail: `server=${server.name} ${reason}`,
    });
    await notify(
      ctx,
      {
        workspaceId: server.workspaceId,
        kind: "mcp_health",
        title: `MCP server "${server.name}" was disabled`,
        body: `It failed ${failures} health checks in a row (last: ${code}). No tool of it can be called until an owner re-enables it.`,
      },
      now,
    );
    return { disabled: true, workspaceId: server.workspaceId, name: server.name, failures };
  },
});

/** Email to WARDEN_ALERT_EMAIL through Resend; only when configured. No redirects, abort timer. */
async function sendAlertEmail(name: string, failures: number): Promise<"sent" | "skipped" | "failed"> {
  const apiKey = process.env.RESEND_API_KEY;
  const to = process.env.WARDEN_ALERT_EMAIL;
  if (!apiKey || !to) return "skipped";
  const base = vendorBase("resend", process.env);
  if (!base) return "failed";
  const from = (process.env.WARDEN_ALERT_FROM ?? "").trim() || "Warden <onboarding@resend.dev>";
  const req = resendSendEmail(base, apiKey, {
    from,
    to,
    subject: `Warden: MCP server "${name}" was disabled`,
    text: `The MCP server "${name}" failed ${failures} health checks in a row and was disabled automatically.\n\nNo tool of it can be called until an owner re-enables it in SyncBoard.`,
  });
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "manual",
      signal: AbortSignal.timeout(EMAIL_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.ok ? "sent" : "failed";
  } catch {
    return "failed";
  }
}

const checkAllResult = v.object({
  checked: v.number(),
  healthy: v.number(),
  failed: v.number(),
  disabled: v.number(),
  emails: v.number(),
});

export const checkAll = internalAction({
  args: {},
  returns: checkAllResult,
  handler: async (ctx) => {
    await ctx.runMutation(internal.mcp.inbound.sessions.pruneSessions, {});
    await ctx.runMutation(internal.mcp.inbound.oauth.pruneOAuth, {});
    const threshold = failureThreshold(process.env);
    const out = { checked: 0, healthy: 0, failed: 0, disabled: 0, emails: 0 };
    const probe = async (serverId: Id<"mcpServers">) => {
      let r: { ok: boolean; code?: string; latencyMs: number };
      try {
        r = await ctx.runAction(internal.mcp.outbound.client.refreshTools, { serverId });
      } catch {
        r = { ok: false, code: "INTERNAL", latencyMs: 0 };
      }
      if (!r.ok && r.code === "MCP_SERVER_NOT_APPROVED") return; // changed under us; not a health signal
      // An OAuth server waiting for an owner's Connect (or whose grant was just revoked, which already
      // disabled it) is not unhealthy: probing it sends nothing, so it is not counted.
      if (!r.ok && (r.code === "MCP_OAUTH_REQUIRED" || r.code === "MCP_OAUTH_REVOKED")) return;
      out.checked++;
      if (r.ok) out.healthy++;
      else out.failed++;
      const rec = await ctx.runMutation(internal.mcp.outbound.health.recordHealth, {
        serverId,
        ok: r.ok,
        latencyMs: r.latencyMs,
        code: r.code,
        threshold,
      });
      if (rec.disabled) {
        out.disabled++;
        if ((await sendAlertEmail(rec.name ?? "?", rec.failures ?? threshold)) === "sent") out.emails++;
      }
    };
    let cursor: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res: { ids: Id<"mcpServers">[]; isDone: boolean; continueCursor: string } = await ctx.runQuery(
        internal.mcp.outbound.health.enabledPage,
        { cursor },
      );
      for (let i = 0; i < res.ids.length; i += CONCURRENCY) {
        await Promise.all(res.ids.slice(i, i + CONCURRENCY).map(probe));
      }
      if (res.isDone) break;
      cursor = res.continueCursor;
    }
    return out;
  },
});
