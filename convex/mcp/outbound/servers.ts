/**
 * External MCP servers for SyncBoard. Viewers read; admins register, approve, reject, disable,
 * delete and decide per tool; re-enabling a disabled server is an owner action. Every write is
 * audited. A new server is `pending` and never contacted; approval schedules a tool listing that
 * approves every tool it finds (owners can deny some). Later listings pin each tool by a hash of
 * its description + input schema: a changed tool is `blocked` until re-approved, a new one is
 * `pending`. The auth header value is an MCP server secret (secrets/manage:setMcpServerSecret,
 * name AUTH_HEADER); nothing here returns secrets.
 */
import { v } from "convex/values";
import { pick } from "convex-helpers";
import schema from "../../schema";
import { internalMutation, internalQuery, type MutationCtx } from "../../_generated/server";
import { internal } from "../../_generated/api";
import type { Doc, Id } from "../../_generated/dataModel";
import { viewerQuery, adminMutation, ownerMutation } from "../../access/builders";
import { fail, getOwned, type Principal } from "../../access/principal";
import { writeAudit } from "../../audit/log";
import { recordSecurityEvent } from "../../security/events";
import { toolHintsValidator } from "../tables";
import { checkEgressUrl, validateAllowlistEntry } from "../../lib/egress";
import { MAX_TOOLS_PER_SERVER, SERVER_NAME, TOOL_NAME, canonicalJson, validAuthHeaderName } from "../protocol";
import { isSelfApproval, recordSelfApproval } from "../../workspaces/policy";
import { notify } from "../../notifications/notify";

export const MAX_SERVERS_PER_WORKSPACE = 50;
export const TIMEOUT_MIN_MS = 1_000;
export const TIMEOUT_MAX_MS = 60_000;
export const DEFAULT_TIMEOUT_MS = 15_000;
export const OUTPUT_MIN_BYTES = 1024;
export const OUTPUT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MAX_OUTPUT_BYTES = 50 * 1024;
export const RATE_MAX = 1000;
const MAX_URL_LENGTH = 2048;

/** The server fields SyncBoard sees (an allowlist: workspace, approver and internal flags stay out). */
const VIEW_FIELDS = [
  "name",
  "url",
  "status",
  "enabled",
  "authHeaderName",
  "rateLimitPerMinute",
  "timeoutMs",
  "maxOutputBytes",
  "healthStatus",
  "healthLatencyMs",
  "healthCheckedAt",
  "consecutiveFailures",
  "disabledReason",
  "lastErrorCode",
  "toolsSyncedAt",
  "approvedAt",
  "createdAt",
  "updatedAt",
] as const satisfies (keyof Doc<"mcpServers">)[];

const serverDoc = schema.doc("mcpServers");
const serverView = v.object({
  _id: serverDoc.fields._id,
  _creationTime: serverDoc.fields._creationTime,
  ...pick(serverDoc.fields, [...VIEW_FIELDS]),
});
const toolDoc = schema.doc("mcpTools");

function view(s: Doc<"mcpServers">) {
  return { _id: s._id, _creationTime: s._creationTime, ...pick(s, [...VIEW_FIELDS]) };
}

const summary = (s: Partial<Doc<"mcpServers">>) => ({
  name: s.name,
  url: s.url,
  status: s.status,
  enabled: s.enabled,
  authHeaderName: s.authHeaderName,
  rateLimitPerMinute: s.rateLimitPerMinute,
  timeoutMs: s.timeoutMs,
  maxOutputBytes: s.maxOutputBytes,
});

async function audit(
  ctx: MutationCtx,
  p: Principal,
  action: string,
  target: string,
  before?: unknown,
  after?: unknown,
) {
  await writeAudit(ctx, {
    workspaceId: p.workspaceId,
    actorId: p.ownerId,
    actorLabel: p.ownerKey,
    action,
    target,
    before,
    after,
  });
}

/** The URL an owner typed, through the egress guard with its own host as the only allowed entry. */
export function checkServerUrl(url: string): string {
  if (typeof url !== "string" || url.length === 0 || url.length > MAX_URL_LENGTH) fail("URL_INVALID");
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    fail("URL_INVALID");
  }
  const entry = validateAllowlistEntry(host.replace(/^\[|\]$/g, ""));
  if (!entry.ok) fail(entry.code);
  const checked = checkEgressUrl(url, [entry.value]);
  if (!checked.ok) fail(checked.code);
  return checked.url.href;
}

function intIn(value: number | undefined, min: number, max: number, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) fail("CONFIG_INVALID", { field });
  return value;
}

function headerName(name: string | undefined | null): string | undefined {
  if (name === undefined || name === null) return undefined;
  if (!validAuthHeaderName(name)) fail("CONFIG_INVALID", { field: "authHeaderName" });
  return name;
}

async function ownedServer(ctx: { db: MutationCtx["db"]; principal: Principal }, serverId: Id<"mcpServers">) {
  return await getOwned(await ctx.db.get("mcpServers", serverId), ctx.principal);
}

// ---------------------------------------------------------------------------------------------
// reads

export const list = viewerQuery({
  args: {},
  returns: v.array(serverView),
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("mcpServers")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", ctx.principal.workspaceId))
      .take(MAX_SERVERS_PER_WORKSPACE);
    return rows.map(view);
  },
});

export const get = viewerQuery({
  args: { serverId: v.id("mcpServers") },
  returns: v.object({ server: serverView, tools: v.array(toolDoc) }),
  handler: async (ctx, { serverId }) => {
    const server = await getOwned(await ctx.db.get("mcpServers", serverId), ctx.principal);
    const tools = await ctx.db
      .query("mcpTools")
      .withIndex("by_server", (q) => q.eq("serverId", serverId))
      .take(MAX_TOOLS_PER_SERVER * 2);
    return { server: view(server), tools };
  },
});

// ---------------------------------------------------------------------------------------------
// writes

export const register = adminMutation({
  args: {
    name: v.string(),
    url: v.string(),
    authHeaderName: v.optional(v.string()),
    rateLimitPerMinute: v.optional(v.number()),
    timeoutMs: v.optional(v.number()),
    maxOutputBytes: v.optional(v.number()),
  },
  returns: v.id("mcpServers"),
  handler: async (ctx, a) => {
    const p = ctx.principal;
    if (!SERVER_NAME.test(a.name)) fail("CONFIG_INVALID", { field: "name" });
    const url = checkServerUrl(a.url);
    const doc = {
      authHeaderName: headerName(a.authHeaderName),
      rateLimitPerMinute: intIn(a.rateLimitPerMinute, 1, RATE_MAX, "rateLimitPerMinute"),
      timeoutMs: intIn(a.timeoutMs, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, "timeoutMs") ?? DEFAULT_TIMEOUT_MS,
      maxOutputBytes:
        intIn(a.maxOutputBytes, OUTPUT_MIN_BYTES, OUTPUT_MAX_BYTES, "maxOutputBytes") ?? DEFAULT_MAX_OUTPUT_BYTES,
    };
    const taken = await ctx.db
      .query("mcpServers")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", p.workspaceId).eq("name", a.name))
      .first();
    if (taken) fail("NAME_TAKEN");
    const count = await ctx.db
      .query("mcpServers")
      .withIndex("by_workspace", (q) => q.eq("workspaceId", p.workspaceId))
      .take(MAX_SERVERS_PER_WORKSPACE);
    if (count.length >= MAX_SERVERS_PER_WORKSPACE) fail("MCP_SERVER_LIMIT_REACHED");
    const now = Date.now();
    const row = {
      workspaceId: p.workspaceId,
      name: a.name,
      url,
      status: "pending" as const,
      enabled: false,
      ...doc,
      healthStatus: "unknown" as const,
      consecutiveFailures: 0,
      registeredBy: p.ownerId,
      createdAt: now,
      updatedAt: now,
    };
    const id = await ctx.db.insert("mcpServers", row);
    await audit(ctx, p, "mcp.server.register", a.name, undefined, summary(row));
    return id;
  },
});

export const update = adminMutation({
  args: {
    serverId: v.id("mcpServers"),
    authHeaderName: v.optional(v.union(v.string(), v.null())),
    rateLimitPerMinute: v.optional(v.union(v.number(), v.null())),
    timeoutMs: v.optional(v.number()),
    maxOutputBytes: v.optional(v.number()),
  },
  returns: v.null(),
  handler: async (ctx, a) => {
    const server = await ownedServer(ctx, a.serverId);
    const patch: Partial<Doc<"mcpServers">> = { updatedAt: Date.now() };
    if (a.authHeaderName !== undefined) patch.authHeaderName = headerName(a.authHeaderName);
    if (a.rateLimitPerMinute !== undefined) {
      patch.rateLimitPerMinute =
        a.rateLimitPerMinute === null ? undefined : intIn(a.rateLimitPerMinute, 1, RATE_MAX, "rateLimitPerMinute");
    }
    if (a.timeoutMs !== undefined) patch.timeoutMs = intIn(a.timeoutMs, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, "timeoutMs");
    if (a.maxOutputBytes !== undefined) {
      patch.maxOutputBytes = intIn(a.maxOutputBytes, OUTPUT_MIN_BYTES, OUTPUT_MAX_BYTES, "maxOutputBytes");
    }
    await ctx.db.patch("mcpServers", server._id, patch);
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.update",
      server.name,
      summary(server),
      summary({ ...server, ...patch }),
    );
    return null;
  },
});

/** With the workspace's two-person rule on, whoever registered the server cannot approve it (refusal returned and recorded, see workspaces/policy). */
export const approve = adminMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.union(v.null(), v.object({ refused: v.literal("TWO_PERSON_RULE") })),
  handler: async (ctx, { serverId }) => {
    const server = await ownedServer(ctx, serverId);
    if (server.status === "approved") return null;
    // A disabled server comes back only through `enable` (an owner action).
    if (server.status === "disabled") fail("MCP_SERVER_DISABLED");
    if (await isSelfApproval(ctx, ctx.principal, server.registeredBy)) {
      await recordSelfApproval(ctx, ctx.principal, "mcp.server.approve", server.name, "mcp");
      return { refused: "TWO_PERSON_RULE" as const };
    }
    const now = Date.now();
    await ctx.db.patch("mcpServers", serverId, {
      status: "approved",
      enabled: true,
      autoApproveTools: true,
      approvedBy: ctx.principal.ownerId,
      approvedAt: now,
      consecutiveFailures: 0,
      healthStatus: "unknown",
      disabledReason: undefined,
      updatedAt: now,
    });
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.approve",
      server.name,
      { status: server.status },
      { status: "approved", enabled: true },
    );
    await ctx.scheduler.runAfter(0, internal.mcp.outbound.client.refreshTools, { serverId });
    return null;
  },
});

export const reject = adminMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const server = await ownedServer(ctx, serverId);
    if (server.status === "rejected") return null;
    await ctx.db.patch("mcpServers", serverId, {
      status: "rejected",
      enabled: false,
      autoApproveTools: false,
      updatedAt: Date.now(),
    });
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.reject",
      server.name,
      { status: server.status, enabled: server.enabled },
      { status: "rejected", enabled: false },
    );
    return null;
  },
});

export const disable = adminMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const server = await ownedServer(ctx, serverId);
    if (server.status === "disabled") return null;
    if (server.status !== "approved") fail("MCP_SERVER_NOT_APPROVED");
    await ctx.db.patch("mcpServers", serverId, {
      status: "disabled",
      enabled: false,
      disabledReason: "manual",
      updatedAt: Date.now(),
    });
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.disable",
      server.name,
      { status: server.status, enabled: server.enabled },
      { status: "disabled", enabled: false },
    );
    return null;
  },
});

/** Re-enabling (after a manual or health auto-disable) is an owner action. */
export const enable = ownerMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const server = await ownedServer(ctx, serverId);
    if (server.status === "approved" && server.enabled) return null;
    if (server.status !== "disabled" && server.status !== "approved") fail("MCP_SERVER_NOT_APPROVED");
    await ctx.db.patch("mcpServers", serverId, {
      status: "approved",
      enabled: true,
      disabledReason: undefined,
      consecutiveFailures: 0,
      healthStatus: "unknown",
      updatedAt: Date.now(),
    });
    await audit(
      ctx,
      ctx.principal,
      "mcp.server.enable",
      server.name,
      { status: server.status, enabled: server.enabled, disabledReason: server.disabledReason },
      { status: "approved", enabled: true },
    );
    await ctx.scheduler.runAfter(0, internal.mcp.outbound.client.refreshTools, { serverId });
    return null;
  },
});

export const remove = adminMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const server = await ownedServer(ctx, serverId);
    const tools = await ctx.db
      .query("mcpTools")
      .withIndex("by_server", (q) => q.eq("serverId", serverId))
      .take(MAX_TOOLS_PER_SERVER * 4);
    for (const t of tools) await ctx.db.delete("mcpTools", t._id);
    await ctx.db.delete("mcpServers", serverId);
    await ctx.scheduler.runAfter(0, internal.secrets.manage.purgeOwnerSecrets, {
      table: "mcpServerSecrets",
      ownerId: serverId,
    });
    await ctx.scheduler.runAfter(0, internal.mcp.outbound.upstreamAuth.purgeServer, { serverId });
    await audit(ctx, ctx.principal, "mcp.server.delete", server.name, summary(server), undefined);
    return null;
  },
});

/** Re-list the tools now (the health cron does it every run). */
export const refresh = adminMutation({
  args: { serverId: v.id("mcpServers") },
  returns: v.null(),
  handler: async (ctx, { serverId }) => {
    const server = await ownedServer(ctx, serverId);
    if (server.status !== "approved" && server.status !== "disabled") fail("MCP_SERVER_NOT_APPROVED");
    await ctx.scheduler.runAfter(0, internal.mcp.outbound.client.refreshTools, { serverId });
    await audit(ctx, ctx.principal, "mcp.server.refresh", server.name);
    return null;
  },
});

/** Per-tool decision: approve pins the tool's current hash; deny blocks it for good. */
export const setToolStatus = adminMutation({
  args: { toolId: v.id("mcpTools"), status: v.union(v.literal("approved"), v.literal("denied")) },
  returns: v.null(),
  handler: async (ctx, { toolId, status }) => {
    const tool = await getOwned(await ctx.db.get("mcpTools", toolId), ctx.principal);
    const server = await ctx.db.get("mcpServers", tool.serverId);
    const patch =
      status === "approved"
        ? { status, approvedHash: tool.hash, updatedAt: Date.now() }
        : { status, updatedAt: Date.now() };
    await ctx.db.patch("mcpTools", toolId, patch);
    await audit(
      ctx,
      ctx.principal,
      status === "approved" ? "mcp.tool.approve" : "mcp.tool.deny",
      `${server?.name ?? "?"}/${tool.name}`,
      { status: tool.status, hash: tool.hash.slice(0, 16), approvedHash: tool.approvedHash?.slice(0, 16) },
      { status, approvedHash: status === "approved" ? tool.hash.slice(0, 16) : tool.approvedHash?.slice(0, 16) },
    );
    return null;
  },
});

// ---------------------------------------------------------------------------------------------
// internal: used by the Node actions in client.ts and by health.ts

const connectionInfoValidator = v.object({
  workspaceId: v.id("workspaces"),
  name: v.string(),
  url: v.string(),
  status: v.string(),
  enabled: v.boolean(),
  authHeaderName: v.optional(v.string()),
  timeoutMs: v.number(),
  maxOutputBytes: v.number(),
});

export const connectionInfo = internalQuery({
  args: { serverId: v.id("mcpServers") },
  returns: v.union(connectionInfoValidator, v.null()),
  handler: async (ctx, { serverId }) => {
    const s = await ctx.db.get("mcpServers", serverId);
    if (!s) return null;
    return {
      workspaceId: s.workspaceId,
      name: s.name,
      url: s.url,
      status: s.status,
      enabled: s.enabled,
      authHeaderName: s.authHeaderName,
      timeoutMs: s.timeoutMs,
      maxOutputBytes: s.maxOutputBytes,
    };
  },
});

const listedTool = v.object({
  name: v.string(),
  description: v.string(),
  inputSchema: v.any(),
  hash: v.string(),
  hints: v.optional(toolHintsValidator),
});

function sameStored(
  row: Pick<Doc<"mcpTools">, "description" | "inputSchema">,
  t: { description: string; inputSchema: unknown },
): boolean {
  return (
    canonicalJson({ d: row.description, s: row.inputSchema ?? null }) ===
    canonicalJson({ d: t.description, s: t.inputSchema ?? null })
  );
}

/**
 * Stores a listing. First listing after approval: every tool approved (denied ones stay denied).
 * Otherwise: unchanged tools keep their state; an approved tool whose hash changed is blocked
 * (security event MCP_TOOL_CHANGED + notification); new tools arrive pending; vanished tools are
 * removed (a tool that comes back is pending again).
 */
export const storeTools = internalMutation({
  args: { serverId: v.id("mcpServers"), url: v.string(), tools: v.array(listedTool), skipped: v.number() },
  returns: v.object({
    stored: v.boolean(),
    approved: v.number(),
    pending: v.number(),
    blocked: v.number(),
    removed: v.number(),
  }),
  handler: async (ctx, a) => {
    const none = { stored: false, approved: 0, pending: 0, blocked: 0, removed: 0 };
    const server = await ctx.db.get("mcpServers", a.serverId);
    if (!server || server.url !== a.url) return none;
    if (server.status !== "approved" && server.status !== "disabled") return none;
    const auto = server.autoApproveTools === true;
    const now = Date.now();
    const existing = await ctx.db
      .query("mcpTools")
      .withIndex("by_server", (q) => q.eq("serverId", a.serverId))
      .take(MAX_TOOLS_PER_SERVER * 4);
    const byName = new Map(existing.map((t) => [t.name, t]));
    const counts = { approved: 0, pending: 0, blocked: 0, removed: 0 };
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const t of a.tools.slice(0, MAX_TOOLS_PER_SERVER)) {
      if (!TOOL_NAME.test(t.name) || seen.has(t.name)) continue;
      seen.add(t.name);
      const row = byName.get(t.name);
      if (!row) {
        const status = auto ? "approved" : "pending";
        await ctx.db.insert("mcpTools", {
          workspaceId: server.workspaceId,
          serverId: server._id,
          name: t.name,
          description: t.description,
          inputSchema: t.inputSchema,
          hash: t.hash,
          ...(auto ? { approvedHash: t.hash } : {}),
          ...(t.hints ? { hints: t.hints } : {}),
          status,
          updatedAt: now,
        });
        counts[status]++;
        continue;
      }
      const patch: Partial<Doc<"mcpTools">> = {};
      // hints only suggest a risk class (never trusted, not pinned): kept current
      if (canonicalJson(row.hints ?? null) !== canonicalJson(t.hints ?? null)) patch.hints = t.hints;
      let approvedHash = row.approvedHash;
      if (row.hash !== t.hash) {
        if (sameStored(row, t)) {
          // Same stored text, other hash: a pin made before hashes covered the stored (redacted,
          // capped) text. Nothing the model sees changed, so it is re-pinned without review.
          if (row.approvedHash === row.hash) approvedHash = t.hash;
          Object.assign(patch, { hash: t.hash, approvedHash, updatedAt: now });
        } else {
          Object.assign(patch, {
            description: t.description,
            inputSchema: t.inputSchema,
            hash: t.hash,
            updatedAt: now,
          });
        }
      }
      let status = row.status;
      if (auto && row.status !== "denied") {
        status = "approved";
        Object.assign(patch, { status, approvedHash: t.hash, updatedAt: now });
      } else if (row.status === "approved" && approvedHash !== t.hash) {
        status = "blocked";
        Object.assign(patch, { status, updatedAt: now });
        changed.push(t.name);
      }
      if (Object.keys(patch).length > 0) await ctx.db.patch("mcpTools", row._id, patch);
      if (status === "approved" || status === "pending" || status === "blocked") counts[status]++;
    }
    for (const row of existing) {
      if (!seen.has(row.name)) {
        await ctx.db.delete("mcpTools", row._id);
        counts.removed++;
      }
    }
    for (const name of changed.slice(0, 20)) {
      await recordSecurityEvent(ctx, {
        workspaceId: server.workspaceId,
        code: "MCP_TOOL_CHANGED",
        category: "mcp",
        source: `mcpServer:${server._id}`,
        detail: `server=${server.name} tool=${name.slice(0, 128)}`,
      });
    }
    if (changed.length > 0) {
      await notify(
        ctx,
        {
          workspaceId: server.workspaceId,
          kind: "mcp_tool_changed",
          title: `MCP server "${server.name}" changed ${changed.length} tool(s)`,
          body: `Blocked until re-approved: ${changed.slice(0, 10).join(", ")}${changed.length > 10 ? ", …" : ""}. Review the new description and schema before approving.`,
        },
        now,
      );
    }
    await ctx.db.patch("mcpServers", server._id, {
      toolsSyncedAt: now,
      lastErrorCode: a.skipped > 0 ? "CONFIG_INVALID" : undefined,
      ...(auto ? { autoApproveTools: false } : {}),
      updatedAt: now,
    });
    return { stored: true, ...counts };
  },
});

export const recordListFailure = internalMutation({
  args: { serverId: v.id("mcpServers"), code: v.string() },
  returns: v.null(),
  handler: async (ctx, { serverId, code }) => {
    const server = await ctx.db.get("mcpServers", serverId);
    if (server) await ctx.db.patch("mcpServers", serverId, { lastErrorCode: code.slice(0, 64), updatedAt: Date.now() });
    return null;
  },
});
