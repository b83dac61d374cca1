/**
 * Warden as an MCP server: `POST /mcp` (Streamable HTTP, JSON responses) and the RFC 9728
 * protected-resource metadata. Default runtime (HTTP actions cannot be "use node"); uses the SDK's
 * web-standard transport only — never server/streamableHttp.js, express or server/auth/router.js.
 *
 * Per request, in order: method (GET/DELETE → 405 `Allow: POST`: no standalone SSE stream, no
 * session DELETE) → Origin (present and not configured → 403) → body cap (endpoint(): 413) →
 * bearer token, audience, per-client limit, session (sessions.ts:admit) → a fresh stateless
 * transport + McpServer exposing the token's scoped, approved skills. Tool calls run through the
 * security checker (invokeSkill) with caller {kind: "mcp-client", id: tokenId}. The inbound token
 * is stripped from the request the transport sees and never reaches a tool or an upstream server.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { endpoint } from "../access/http";
import { allowedOrigins, errorResponse, jsonResponse } from "../lib/httpSecurity";
import { parseStoredSchema } from "../lib/jsonSchema";
import { randomToken, sha256Hex } from "../lib/tokens";
import type { RouteSpec } from "../routes";
import {
  MCP_PATH,
  PRM_PATH,
  SESSION_ID_PREFIX,
  inspectMessages,
  isClientTokenShape,
  isSessionIdShape,
  mcpResourceUrl,
  parseBearer,
  protectedResourceMetadata,
  skillResultToMcp,
  wwwAuthenticate,
} from "./protocol";

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
};

function buildServer(ctx: ActionCtx, a: Admitted, ip: string): McpServer {
  const mcp = new McpServer(SERVER_INFO, {
    capabilities: { tools: {} },
    jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
  });
  const scopes = new Set(a.scopes);
  mcp.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: a.tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: parseStoredSchema(t.inputSchema) as { type: "object"; [k: string]: unknown },
    })),
  }));
  mcp.server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const name = req.params.name;
    if (!scopes.has(name)) {
      await ctx.runMutation(internal.mcp.sessions.logScopeDenial, {
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
      input: req.params.arguments ?? {},
      caller: { kind: "mcp-client", id: a.tokenId },
    });
    return skillResultToMcp(r);
  });
  return mcp;
}

function refusal(r: { status: number; code: string; retryAfterMs?: number }, resource: string): Response {
  const headers: Record<string, string> = {};
  if (r.status === 401) headers["WWW-Authenticate"] = wwwAuthenticate(resource);
  if (r.retryAfterMs !== undefined && (r.status === 429 || r.status === 503)) {
    headers["Retry-After"] = String(Math.max(1, Math.ceil(r.retryAfterMs / 1000)));
  }
  return errorResponse(r.code, r.status, headers);
}

/** POST /mcp (GET and DELETE answer 405). */
export const mcpEndpoint = endpoint("mcp-client", async (ctx, { req, body, ip }) => {
  if (req.method !== "POST") return errorResponse("METHOD_NOT_ALLOWED", 405, { Allow: "POST" });
  const resource = mcpResourceUrl(process.env);
  if (!resource) return errorResponse("INTERNAL", 500);

  // The MCP transport spec: a present Origin that is not ours is refused (DNS rebinding).
  const origin = req.headers.get("origin");
  if (origin !== null && !allowedOrigins(process.env).includes(origin.replace(/\/+$/, ""))) {
    await ctx.runMutation(internal.mcp.sessions.logRejection, {
      code: "ORIGIN_NOT_ALLOWED",
      ip,
      detail: `mcp: origin=${origin.slice(0, 100)}`,
    });
    return errorResponse("ORIGIN_NOT_ALLOWED", 403);
  }

  const token = parseBearer(req.headers.get("authorization"));
  const tokenHash = token !== null && isClientTokenShape(token) ? await sha256Hex(token) : undefined;
  const msg = inspectMessages(body);
  const presented = req.headers.get("mcp-session-id");
  const sessionIdHash = presented === null ? undefined : isSessionIdShape(presented) ? await sha256Hex(presented) : "";
  const newSessionId = msg.initialize ? randomToken(SESSION_ID_PREFIX, 32) : undefined;
  const newSessionIdHash = newSessionId ? await sha256Hex(newSessionId) : undefined;

  const admitted = await ctx.runMutation(internal.mcp.sessions.admit, {
    tokenHash,
    audience: resource,
    ip,
    initialize: msg.initialize,
    sessionIdHash,
    newSessionIdHash,
    wantTools: msg.methods.includes("tools/list"),
  });
  if (!admitted.ok) return refusal(admitted, resource);

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
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  let res: Response;
  try {
    await server.connect(transport);
    res = await transport.handleRequest(inner, { authInfo });
  } finally {
    await server.close().catch(() => undefined);
  }
  if (newSessionId && newSessionIdHash) {
    if (res.status !== 200) {
      await ctx.runMutation(internal.mcp.sessions.discardSession, { sessionIdHash: newSessionIdHash });
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
  return jsonResponse(protectedResourceMetadata(resource), 200, { "Cache-Control": "public, max-age=300" });
});

export const mcpRoutes: RouteSpec[] = [
  { path: MCP_PATH, method: "POST", handler: mcpEndpoint },
  { path: MCP_PATH, method: "GET", handler: mcpEndpoint },
  { path: MCP_PATH, method: "DELETE", handler: mcpEndpoint },
  { path: PRM_PATH, method: "GET", handler: protectedResource },
  { path: `${PRM_PATH}${MCP_PATH}`, method: "GET", handler: protectedResource },
];
