/** MCP tool calls through the checker (the MCP client is a test stub with the same contract). */
import { beforeEach, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { checkerT, admin, approvedSkill, calculator, invoke, logs, events, type Admin, type CT } from "./helpers";
import { stub } from "./fixtures/mcpClientStub";

const mcpT = () => checkerT({ "./mcp/outbound/client.ts": () => import("./fixtures/mcpClientStub") });

const SCHEMA = {
  type: "object",
  properties: { q: { type: "string", maxLength: 20 } },
  required: ["q"],
  additionalProperties: false,
};

async function server(
  t: CT,
  a: Admin,
  o: {
    status?: "pending" | "approved" | "rejected" | "disabled";
    enabled?: boolean;
    rateLimitPerMinute?: number;
    timeoutMs?: number;
    maxOutputBytes?: number;
  } = {},
) {
  return await t.run(async (ctx) => {
    const serverId = await ctx.db.insert("mcpServers", {
      workspaceId: a.workspaceId,
      name: "docs",
      url: "https://mcp.example.com/mcp",
      status: o.status ?? "approved",
      enabled: o.enabled ?? true,
      rateLimitPerMinute: o.rateLimitPerMinute,
      timeoutMs: o.timeoutMs ?? 5000,
      maxOutputBytes: o.maxOutputBytes ?? 50 * 1024,
      healthStatus: "healthy",
      consecutiveFailures: 0,
      createdAt: 0,
      updatedAt: 0,
    });
    const tool = (
      name: string,
      status: "approved" | "pending" | "denied",
      hash = "h1",
      approvedHash: string | undefined = "h1",
      inputSchema: unknown = SCHEMA,
    ) =>
      ctx.db.insert("mcpTools", {
        workspaceId: a.workspaceId,
        serverId,
        name,
        description: name,
        inputSchema,
        hash,
        approvedHash,
        status,
        updatedAt: 0,
      });
    await tool("search", "approved");
    await tool("pending_tool", "pending", "h1", undefined);
    await tool("changed", "approved", "h2", "h1");
    await tool(
      "text_schema",
      "approved",
      "h1",
      "h1",
      JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...SCHEMA }),
    );
    return serverId;
  });
}

const call = (t: CT, a: Admin, serverId: Id<"mcpServers">, toolName: string, input: unknown) =>
  t.action(internal.security.checker.callMcpTool, {
    workspaceId: a.workspaceId,
    serverId,
    toolName,
    input,
    caller: { kind: "mcp-client", id: "tok_1" },
  });

beforeEach(() => {
  stub.calls.length = 0;
  stub.respond = (x) => ({ ok: true, output: { echo: x.input }, bytes: JSON.stringify({ echo: x.input }).length });
});

describe("MCP security", () => {
  test("server must be approved before tool use (pending, rejected, other workspace)", async () => {
    const t = mcpT();
    const a = await admin(t);
    const b = await admin(t, "ws-b");
    for (const status of ["pending", "rejected"] as const) {
      const id = await server(t, a, { status });
      expect(await call(t, a, id, "search", { q: "x" })).toEqual({ ok: false, code: "MCP_SERVER_NOT_APPROVED" });
    }
    const foreign = await server(t, b);
    expect(await call(t, a, foreign, "search", { q: "x" })).toEqual({ ok: false, code: "MCP_SERVER_NOT_APPROVED" });
    expect(stub.calls).toHaveLength(0);
  });

  test("disabled servers (auto-disabled or by an owner) are refused", async () => {
    const t = mcpT();
    const a = await admin(t);
    const off = await server(t, a, { enabled: false });
    const disabled = await server(t, a, { status: "disabled" });
    expect(await call(t, a, off, "search", { q: "x" })).toEqual({ ok: false, code: "MCP_SERVER_DISABLED" });
    expect(await call(t, a, disabled, "search", { q: "x" })).toEqual({ ok: false, code: "MCP_SERVER_DISABLED" });
    expect(stub.calls).toHaveLength(0);
  });

  test("tools must be approved and unchanged since approval", async () => {
    const t = mcpT();
    const a = await admin(t);
    const id = await server(t, a);
    expect(await call(t, a, id, "pending_tool", { q: "x" })).toEqual({ ok: false, code: "MCP_TOOL_NOT_APPROVED" });
    expect(await call(t, a, id, "unknown", { q: "x" })).toEqual({ ok: false, code: "MCP_TOOL_NOT_APPROVED" });
    expect(await call(t, a, id, "changed", { q: "x" })).toEqual({ ok: false, code: "MCP_TOOL_CHANGED" });
    expect(stub.calls).toHaveLength(0);
  });

  test("MCP tool call inputs validated against the stored schema (object or JSON text)", async () => {
    const t = mcpT();
    const a = await admin(t);
    const id = await server(t, a);
    expect(await call(t, a, id, "search", { q: 1 })).toEqual({ ok: false, code: "INPUT_INVALID" });
    expect(await call(t, a, id, "search", { q: "x", more: 1 })).toEqual({ ok: false, code: "INPUT_INVALID" });
    expect(await call(t, a, id, "text_schema", { q: "y".repeat(21) })).toEqual({ ok: false, code: "INPUT_INVALID" });
    expect(await call(t, a, id, "text_schema", { q: "fine" })).toMatchObject({ ok: true });
    expect(stub.calls).toHaveLength(1);
  });

  test("per-server rate limit (server override, then workspace mcpPerServer)", async () => {
    const t = mcpT();
    const a = await admin(t);
    const limited = await server(t, a, { rateLimitPerMinute: 2 });
    const other = await server(t, a);
    expect(await call(t, a, limited, "search", { q: "1" })).toMatchObject({ ok: true });
    expect(await call(t, a, limited, "search", { q: "2" })).toMatchObject({ ok: true });
    expect(await call(t, a, limited, "search", { q: "3" })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    await a.as.mutation(api.limits.manage.set, { name: "mcpPerServer", rate: 1, periodMs: 60_000 });
    expect(await call(t, a, other, "search", { q: "1" })).toMatchObject({ ok: true });
    expect(await call(t, a, other, "search", { q: "2" })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  test("the global limit is shared by skills and MCP tools", async () => {
    const t = mcpT();
    const a = await admin(t);
    const id = await server(t, a);
    await approvedSkill(a, calculator());
    await a.as.mutation(api.limits.manage.set, { name: "globalInvocations", rate: 2, periodMs: 60_000 });
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: true });
    expect(await call(t, a, id, "search", { q: "1" })).toMatchObject({ ok: true });
    expect(await call(t, a, id, "search", { q: "2" })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  test("calls are logged to invocationLog as server/tool; output redacted; limits passed to the client", async () => {
    stub.respond = () => ({
      ok: true,
      output: { text: "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here" },
      bytes: 60,
    });
    const t = mcpT();
    const a = await admin(t);
    const id = await server(t, a, { timeoutMs: 1234, maxOutputBytes: 4096 });
    const r = await call(t, a, id, "search", { q: "hello" });
    expect(r).toEqual({ ok: true, output: { text: "token [REDACTED] here" } });
    expect(stub.calls[0]).toMatchObject({
      toolName: "search",
      input: { q: "hello" },
      timeoutMs: 1234,
      maxOutputBytes: 4096,
    });
    await call(t, a, id, "changed", {});
    const rows = await logs(t);
    expect(rows.map((x) => [x.targetKind, x.targetName, x.code, x.allowed, x.callerKind, x.callerId])).toEqual([
      ["mcp", "docs/search", "OK", true, "mcp-client", "tok_1"],
      ["mcp", "docs/changed", "MCP_TOOL_CHANGED", false, "mcp-client", "tok_1"],
    ]);
    expect(rows[0].mcpServerId).toBe(id);
    expect(rows[0].outputPreview).not.toContain("ghp_");
    expect((await events(t)).map((e) => [e.code, e.category])).toEqual([["MCP_TOOL_CHANGED", "mcp"]]);
  });

  test("logged previews are redacted and truncated to 1 KB", async () => {
    stub.respond = () => ({ ok: true, output: { text: "q".repeat(20_000) }, bytes: 20_012 });
    const t = mcpT();
    const a = await admin(t);
    const id = await server(t, a);
    expect(await call(t, a, id, "search", { q: "long" })).toMatchObject({ ok: true });
    const [row] = await logs(t);
    expect(row.outputBytes).toBeGreaterThanOrEqual(20_000);
    expect(new TextEncoder().encode(row.outputPreview ?? "").length).toBeLessThanOrEqual(1024);
    expect(row.outputPreview).toMatch(/truncated \d+ bytes/);
  });

  test("output size, client-reported egress denials and timeouts are enforced and logged", async () => {
    const t = mcpT();
    const a = await admin(t);
    const id = await server(t, a, { maxOutputBytes: 100, timeoutMs: 150 });
    stub.respond = () => ({ ok: true, output: { text: "z".repeat(500) }, bytes: 510 });
    expect(await call(t, a, id, "search", { q: "a" })).toEqual({ ok: false, code: "OUTPUT_TOO_LARGE" });
    stub.respond = () => ({ ok: false, code: "DOMAIN_NOT_ALLOWED" });
    expect(await call(t, a, id, "search", { q: "a" })).toEqual({ ok: false, code: "DOMAIN_NOT_ALLOWED" });
    stub.respond = () => new Promise(() => undefined);
    expect(await call(t, a, id, "search", { q: "a" })).toEqual({ ok: false, code: "TIMEOUT" });
    expect((await logs(t)).map((x) => x.code)).toEqual(["OUTPUT_TOO_LARGE", "DOMAIN_NOT_ALLOWED", "TIMEOUT"]);
    expect((await events(t)).map((x) => x.code)).toEqual(["OUTPUT_TOO_LARGE", "DOMAIN_NOT_ALLOWED", "TIMEOUT"]);
  });
});
