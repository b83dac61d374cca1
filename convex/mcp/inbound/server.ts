/**
 * Warden as an MCP server: `/mcp` (Streamable HTTP, JSON responses) and the RFC 9728
 * protected-resource metadata. Default runtime (HTTP actions cannot be "use node"); uses the SDK's
 * web-standard transport only — never server/streamableHttp.js, express or server/auth/router.js.
 *
 * Per request, in order: method (GET → 405 `Allow: POST, DELETE`: no standalone SSE stream) →
 * Origin (present and not configured → 403) → body cap (endpoint(): 413) → bearer token,
 * audience, per-client limit, session (sessions.ts:admit) → then one of: `DELETE` ends the
 * caller's own session; a request of the stateless revision (MCP-Protocol-Version ≥ 2026-07-28,
 * no Mcp-Session-Id) is answered here (server/discover, ping, tools/list, tools/call); anything
 * else goes to a fresh stateless SDK transport + low-level Server. Both eras list the token's
 * scoped, approved skills and call them through the security checker (invokeSkill) with caller
 * {kind: "mcp-client", id: tokenId}. Gateway mode: upstream MCP tools in the token's scope
 * (`mcp:<server>/<tool>`, listed as `<server>.<tool>`) are called through the checker's
 * callMcpTool with the same caller. The inbound token is stripped from the request the transport
 * sees and never reaches a tool or an upstream server.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ActionCtx } from "../../_generated/server";
import { internal } from "../../_generated/api";
import type { Id } from "../../_generated/dataModel";
import { endpoint } from "../../access/http";
import { allowedOrigins, errorResponse, jsonResponse } from "../../lib/httpSecurity";
import { parseStoredSchema } from "../../lib/jsonSchema";
import { randomToken, sha256Hex } from "../../lib/tokens";
import { isOAuthShape, issuerUrl } from "../../lib/oauth";
import type { RouteSpec } from "../../routes";
import {
  MCP_PATH,
  PRM_PATH,
  SERVER_INFO_META,
  SESSION_ID_PREFIX,
  STATELESS_VERSIONS,
  inspectMessages,
  isStatelessRevision,
  parseStatelessRequest,
  type StatelessRequest,
  isClientTokenShape,
  isSessionIdShape,
  mcpResourceUrl,
  parseBearer,
  protectedResourceMetadata,
  skillResultToMcp,
  upstreamResultToMcp,
  parseUpstreamScope,
  wwwAuthenticate,
} from "../protocol";

const SERVER_INFO = { name: "warden", version: "1.0.0" };
/** Request headers the transport may see; Authorization and cookies stay out. */
const FORWARDED_HEADERS = ["content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"];

type Admitted = {
  ok: true;
  workspaceId: Id<"workspaces">;
  tokenId: Id<"mcpClientTokens">;
  prefix: string;
  scopes: string[];
  expiresAt: number;
  tools: Array<{ name: string; description: string; inputSchema: unknown }>;
  /** upstream tools in scope, by exposed name */
  upstream: Array<{ name: string; serverId: Id<"mcpServers">; tool: string }>;
};

/** The token's scoped, approved skills as MCP tools (both eras). */
function listedTools(a: Admitted) {
  return a.tools.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: parseStoredSchema(t.inputSchema) as { type: "object"; [k: string]: unknown },
  }));
}

/** tools/call (both eras): out of scope → tool error + security event; else the checker. */
async function callTool(ctx: ActionCtx, a: Admitted, ip: string, name: string, args: unknown) {
  const caller = { kind: "mcp-client", id: a.tokenId };
  const up = a.upstream.find((u) => u.name === name);
  if (up) {
    // the checker decides again: workspace, approval, pinned hash, limits, egress, redaction, log
    const r = await ctx.runAction(internal.security.checker.callMcpTool, {
      workspaceId: a.workspaceId,
      serverId: up.serverId,
      toolName: up.tool,
      input: args ?? {},
      caller,
    });
    return upstreamResultToMcp(r);
  }
  // a skill scope (an upstream scope's raw text is not a callable name)
  if (!a.scopes.includes(name) || parseUpstreamScope(name) !== null) {
    await ctx.runMutation(internal.mcp.inbound.sessions.logScopeDenial, {
      workspaceId: a.workspaceId,
      tokenId: a.tokenId,
      prefix: a.prefix,
      tool: name,
      ip,
    });
    return skillResultToMcp({ ok: false, code: "MCP_TOOL_OUT_OF_SCOPE" });
  }
  const r = await ctx.runAction(internal.security.checker.invokeSkill, {
    workspaceId: a.workspaceId,
    skillName: name,
    input: args ?? {},
    caller,
  });
  return skillResultToMcp(r);
}

// Only what is implemented: tools, and no list-changed notifications (nothing could carry them).
const CAPABILITIES = { tools: {} };

function buildServer(ctx: ActionCtx, a: Admitted, ip: string): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: CAPABILITIES,
    jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
  });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listedTools(a) }));
  server.setRequestHandler(
    CallToolRequestSchema,
    async (req) => await callTool(ctx, a, ip, req.params.name, req.params.arguments),
  );
  return server;
}

function rpcJson(status: number, message: Record<string, unknown>): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", ...message }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** One request of the stateless revision, already admitted (token, audience, per-client limit). */
async function serveStateless(ctx: ActionCtx, a: Admitted, ip: string, r: StatelessRequest): Promise<Response> {
  if (!r.ok)
    return rpcJson(r.status, {
      id: r.id,
      error: { code: r.code, message: r.message, ...(r.data ? { data: r.data } : {}) },
    });
  if (r.notification) return new Response(null, { status: 202 });
  const meta = { [SERVER_INFO_META]: SERVER_INFO };
  const ok = (result: Record<string, unknown>) =>
    rpcJson(200, { id: r.id, result: { resultType: "complete", ...result, _meta: meta } });
  switch (r.method) {
    case "server/discover":
      return ok({
        supportedVersions: [...STATELESS_VERSIONS],
        capabilities: CAPABILITIES,
        ttlMs: 0,
        cacheScope: "private",
      });
    case "ping":
      return ok({});
    case "tools/list":
      // per token: never cacheable across clients
      return ok({ tools: listedTools(a), ttlMs: 0, cacheScope: "private" });
    case "tools/call": {
      const name = r.params.name;
      const args = r.params.arguments;
      if (
        typeof name !== "string" ||
        (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args)))
      ) {
        return rpcJson(200, { id: r.id, error: { code: -32602, message: "Invalid params" } });
      }
      return ok(await callTool(ctx, a, ip, name, args));
    }
    default:
      return rpcJson(200, { id: r.id, error: { code: -32601, message: "Method not found" } });
  }
}

function refusal(r: { status: number; code: string; retryAfterMs?: number }, resource: string): Response {
  const headers: Record<string, string> = {};
  if (r.status === 401) headers["WWW-Authenticate"] = wwwAuthenticate(resource);
  if (r.retryAfterMs !== undefined && (r.status === 429 || r.status === 503)) {
    headers["Retry-After"] = String(Math.max(1, Math.ceil(r.retryAfterMs / 1000)));
  }
  return errorResponse(r.code, r.status, headers);
}

/** POST and DELETE /mcp (GET answers 405). */
export const mcpEndpoint = endpoint("mcp-client", async (ctx, { req, body, ip }) => {
  if (req.method !== "POST" && req.method !== "DELETE")
    return errorResponse("METHOD_NOT_ALLOWED", 405, { Allow: "POST, DELETE" });
  const resource = mcpResourceUrl(process.env);
  if (!resource) return errorResponse("INTERNAL", 500);

  // The MCP transport spec: a present Origin that is not ours is refused (DNS rebinding).
  const origin = req.headers.get("origin");
  if (origin !== null && !allowedOrigins(process.env).includes(origin.replace(/\/+$/, ""))) {
    await ctx.runMutation(internal.mcp.inbound.sessions.logRejection, {
      code: "ORIGIN_NOT_ALLOWED",
      ip,
      detail: `mcp: origin=${origin.slice(0, 100)}`,
    });
    return errorResponse("ORIGIN_NOT_ALLOWED", 403);
  }

  const token = parseBearer(req.headers.get("authorization"));
  const tokenHash = token !== null && isClientTokenShape(token) ? await sha256Hex(token) : undefined;
  const accessTokenHash = token !== null && isOAuthShape("access", token) ? await sha256Hex(token) : undefined;
  const presented = req.headers.get("mcp-session-id");
  const sessionIdHash = presented === null ? undefined : isSessionIdShape(presented) ? await sha256Hex(presented) : "";
  const version = req.headers.get("mcp-protocol-version");
  const del = req.method === "DELETE";
  // The stateless revision has no sessions: such a request never names one.
  const stateless = !del && presented === null && isStatelessRevision(version);
  const msg = del || stateless ? { initialize: false, methods: [] as string[] } : inspectMessages(body);
  // Parsed before admission, answered after it: nothing is said to an unauthenticated caller.
  const call = stateless ? parseStatelessRequest(body, version, req.headers.get("mcp-method")) : null;
  const wantTools = call ? call.ok && call.method === "tools/list" : msg.methods.includes("tools/list");
  const newSessionId = msg.initialize ? randomToken(SESSION_ID_PREFIX, 32) : undefined;
  const newSessionIdHash = newSessionId ? await sha256Hex(newSessionId) : undefined;

  const admitted = await ctx.runMutation(internal.mcp.inbound.sessions.admit, {
    tokenHash,
    accessTokenHash,
    audience: resource,
    ip,
    mode: del ? "end" : stateless ? "stateless" : msg.initialize ? "initialize" : "session",
    sessionIdHash,
    newSessionIdHash,
    wantTools,
  });
  if (!admitted.ok) return refusal(admitted, resource);
  if (del) return new Response(null, { status: 204 });
  if (call) return await serveStateless(ctx, admitted, ip, call);

  const headers = new Headers();
  for (const h of FORWARDED_HEADERS) {
    const value = req.headers.get(h);
    if (value !== null) headers.set(h, value);
  }
  const inner = new Request(req.url, { method: "POST", headers, body });
  const authInfo: AuthInfo = {
    token: admitted.prefix, // the raw token stays here; tools see only its prefix
    clientId: admitted.tokenId,
    scopes: admitted.scopes,
    expiresAt: Math.floor(admitted.expiresAt / 1000),
    resource: new URL(resource),
  };
  const server = buildServer(ctx, admitted, ip);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  let res: Response;
  try {
    await server.connect(transport);
    res = await transport.handleRequest(inner, { authInfo });
  } finally {
    await server.close().catch(() => undefined);
  }
  if (newSessionId && newSessionIdHash) {
    if (res.status !== 200) {
      await ctx.runMutation(internal.mcp.inbound.sessions.discardSession, { sessionIdHash: newSessionIdHash });
      return res;
    }
    const out = new Headers(res.headers);
    out.set("Mcp-Session-Id", newSessionId);
    // Browser clients on a configured origin may read the session id.
    if (origin !== null) out.set("Access-Control-Expose-Headers", "Mcp-Session-Id");
    return new Response(res.body, { status: res.status, headers: out });
  }
  return res;
});

/** RFC 9728 protected-resource metadata for /mcp (public). */
export const protectedResource = endpoint("none", async () => {
  const resource = mcpResourceUrl(process.env);
  if (!resource) return errorResponse("NOT_FOUND", 404);
  return jsonResponse(protectedResourceMetadata(resource, issuerUrl(process.env)), 200, {
    "Cache-Control": "public, max-age=300",
  });
});

export const mcpRoutes: RouteSpec[] = [
  { path: MCP_PATH, method: "POST", handler: mcpEndpoint },
  { path: MCP_PATH, method: "GET", handler: mcpEndpoint },
  { path: MCP_PATH, method: "DELETE", handler: mcpEndpoint },
  { path: PRM_PATH, method: "GET", handler: protectedResource },
  { path: `${PRM_PATH}${MCP_PATH}`, method: "GET", handler: protectedResource },
];
