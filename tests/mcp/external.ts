/**
 * An external MCP server for tests: a real SDK `McpServer` + `StreamableHTTPServerTransport`
 * (Node http) on 127.0.0.1, stateless, JSON or SSE responses. Its tools come from a mutable
 * `state`, so a test can change a description or schema between listings. Every request is
 * recorded (method, url, headers, body).
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** `conn`: which TCP connection carried the request (1, 2, … in accept order). */
export type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; conn: number };
export type ToolExtra = { sendNotification: (n: any) => Promise<void>; signal: AbortSignal };
export type ToolDef = {
  description: string;
  schema: Record<string, z.ZodTypeAny>;
  run: (args: any, extra: ToolExtra) => Promise<CallToolResult> | CallToolResult;
};
export type ExternalState = {
  mode: "json" | "sse";
  tools: Record<string, ToolDef>;
  /** answer every request with this status instead of MCP */
  failWith?: number;
  /** answer every request with a redirect to this URL */
  redirectTo?: string;
  /** act like a stateful server: hand out this session id, accept DELETE to end it */
  sessionId?: string;
  /** answer tools/call requests with this raw handler (bypasses the SDK) */
  rawCall?: (req: http.IncomingMessage, res: http.ServerResponse, body: any) => void;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function defaultTools(): Record<string, ToolDef> {
  return {
    echo: {
      description: "Echo the text back.",
      schema: { text: z.string().max(200) },
      run: ({ text }) => ({ content: [{ type: "text", text: `echo: ${text}` }] }),
    },
    add: {
      description: "Add two numbers.",
      schema: { a: z.number(), b: z.number() },
      run: ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }], structuredContent: { sum: a + b } }),
    },
  };
}

export async function externalServer(state: ExternalState) {
  const requests: Seen[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const connIds = new WeakMap<Socket, number>();
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      void (async () => {
        requests.push({
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: raw,
          conn: connIds.get(req.socket) ?? 0,
        });
        if (state.redirectTo) {
          res.writeHead(302, { location: state.redirectTo });
          res.end();
          return;
        }
        if (state.failWith) {
          res.writeHead(state.failWith, { "content-type": "text/plain" });
          res.end("down");
          return;
        }
        if (state.sessionId && req.method === "DELETE") {
          res.writeHead(200);
          res.end();
          return;
        }
        if (state.sessionId) res.setHeader("mcp-session-id", state.sessionId);
        let body: any;
        try {
          body = raw ? JSON.parse(raw) : undefined;
        } catch {
          res.writeHead(400);
          res.end();
          return;
        }
        if (state.rawCall && body?.method === "tools/call") {
          state.rawCall(req, res, body);
          return;
        }
        const mcp = new McpServer({ name: "external", version: "1.0.0" }, { capabilities: { logging: {} } });
        for (const [name, def] of Object.entries(state.tools)) {
          mcp.registerTool(name, { description: def.description, inputSchema: def.schema }, ((args: any, extra: any) =>
            def.run(args, { sendNotification: extra.sendNotification, signal: extra.signal })) as any);
        }
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: undefined,
          enableJsonResponse: state.mode === "json",
        });
        res.on("close", () => {
          void transport.close().catch(() => undefined);
          void mcp.close().catch(() => undefined);
        });
        await mcp.connect(transport);
        await transport.handleRequest(req, res, body);
      })().catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
  server.on("connection", (s) => {
    connIds.set(s, ++connections);
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    /** tools/call requests seen */
    calls: () => requests.filter((r) => r.body.includes('"tools/call"')),
    /** TCP connections accepted so far */
    connections: () => connections,
    /** TCP connections open right now */
    openSockets: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type External = Awaited<ReturnType<typeof externalServer>>;
