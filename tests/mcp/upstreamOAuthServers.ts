/**
 * Test-only upstream pair for OAuth: an authorization server built with the MCP SDK's own
 * `mcpAuthRouter` (RFC 8414 metadata, RFC 7591 registration, /authorize, /token with PKCE S256
 * checked by the SDK) over a small in-memory provider with rotating refresh tokens and a "revoke
 * everything" switch, and an MCP resource server that answers 401 + WWW-Authenticate
 * resource_metadata without a valid token, serves RFC 9728 metadata, and runs a real SDK McpServer.
 * Both listen on 127.0.0.1; tests map their https host names there through ./egress.ts.
 * Every request each one receives is recorded.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { mcpAuthRouter } from "@modelcontextprotocol/sdk/server/auth/router.js";
import { InvalidGrantError, InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { OAuthServerProvider } from "@modelcontextprotocol/sdk/server/auth/provider.js";
import type { OAuthClientInformationFull } from "@modelcontextprotocol/sdk/shared/auth.js";

// express ships no types here (the SDK's auth router is built on it); loaded untyped, tests only
const express = createRequire(import.meta.url)("express") as any;

export type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };

export class TestAuthProvider implements OAuthServerProvider {
  clients = new Map<string, OAuthClientInformationFull>();
  codes = new Map<string, { clientId: string; challenge: string; redirectUri: string; resource?: string }>();
  access = new Map<string, { clientId: string; expiresAt: number; resource?: string }>();
  refresh = new Map<string, { clientId: string; resource?: string }>();
  accessTtlSec = 3600;
  issued: { access: string[]; refresh: string[]; codes: string[] } = { access: [], refresh: [], codes: [] };
  grants = { code: 0, refresh: 0 };

  get clientsStore() {
    return {
      getClient: async (id: string) => this.clients.get(id),
      registerClient: async (c: OAuthClientInformationFull) => {
        this.clients.set(c.client_id, c);
        return c;
      },
    };
  }
  async authorize(client: OAuthClientInformationFull, params: any, res: any) {
    const code = `code-${randomUUID()}`;
    this.issued.codes.push(code);
    this.codes.set(code, {
      clientId: client.client_id,
      challenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      resource: params.resource?.href,
    });
    const u = new URL(params.redirectUri);
    u.searchParams.set("code", code);
    if (params.state !== undefined) u.searchParams.set("state", params.state);
    res.redirect(302, u.href);
  }
  async challengeForAuthorizationCode(_client: OAuthClientInformationFull, code: string) {
    const c = this.codes.get(code);
    if (!c) throw new InvalidGrantError("unknown code");
    return c.challenge;
  }
  private issue(clientId: string, resource?: string) {
    const access = `at-${randomUUID()}`;
    const refresh = `rt-${randomUUID()}`;
    this.issued.access.push(access);
    this.issued.refresh.push(refresh);
    this.access.set(access, { clientId, expiresAt: Date.now() + this.accessTtlSec * 1000, resource });
    this.refresh.set(refresh, { clientId, resource });
    return { access_token: access, token_type: "Bearer", expires_in: this.accessTtlSec, refresh_token: refresh };
  }
  async exchangeAuthorizationCode(
    client: OAuthClientInformationFull,
    code: string,
    _v?: string,
    redirectUri?: string,
    resource?: URL,
  ) {
    const c = this.codes.get(code);
    this.codes.delete(code);
    if (!c || c.clientId !== client.client_id || c.redirectUri !== redirectUri || c.resource !== resource?.href)
      throw new InvalidGrantError("bad code");
    this.grants.code++;
    return this.issue(client.client_id, resource?.href);
  }
  async exchangeRefreshToken(client: OAuthClientInformationFull, refreshToken: string, _s?: string[], resource?: URL) {
    const r = this.refresh.get(refreshToken);
    if (!r || r.clientId !== client.client_id || r.resource !== resource?.href)
      throw new InvalidGrantError("refresh refused");
    this.refresh.delete(refreshToken); // rotation: a refresh token is used once
    this.grants.refresh++;
    return this.issue(client.client_id, resource?.href);
  }
  async verifyAccessToken(token: string) {
    const a = this.access.get(token);
    if (!a || a.expiresAt < Date.now()) throw new InvalidTokenError("bad token");
    return {
      token,
      clientId: a.clientId,
      scopes: [],
      expiresAt: Math.floor(a.expiresAt / 1000),
      resource: a.resource ? new URL(a.resource) : undefined,
    };
  }
  /** the upstream side ends every access token early (as after a restart or a key change) */
  expireAccessTokens() {
    this.access.clear();
  }
  /** the person revoked Warden's grant at the AS */
  revokeAll() {
    this.access.clear();
    this.refresh.clear();
  }
}

async function listen(server: http.Server) {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

export async function authServer(issuer: string) {
  const provider = new TestAuthProvider();
  const requests: Seen[] = [];
  const app = express();
  app.set("trust proxy", false);
  app.use((req: any, res: any, next: () => void) => {
    // the body as the SDK's handlers parsed it (recorded once the answer is sent)
    res.on("finish", () =>
      requests.push({
        method: req.method,
        url: req.originalUrl.split("?")[0],
        headers: req.headers,
        body: JSON.stringify((req as any).body ?? {}),
      }),
    );
    next();
  });
  const off = { rateLimit: false as const };
  app.use(
    mcpAuthRouter({
      provider,
      issuerUrl: new URL(issuer),
      scopesSupported: ["mcp:tools"],
      authorizationOptions: off,
      clientRegistrationOptions: off,
      revocationOptions: off,
      tokenOptions: off,
    }),
  );
  const server = http.createServer(app);
  const port = await listen(server);
  return { provider, requests, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function protectedMcpServer(opts: {
  url: string;
  issuer: string;
  provider: TestAuthProvider;
  advertise?: string[];
}) {
  const requests: Seen[] = [];
  const mcpUrl = new URL(opts.url);
  const prmPath = `/.well-known/oauth-protected-resource${mcpUrl.pathname}`;
  const prmUrl = `${mcpUrl.origin}${prmPath}`;
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      void (async () => {
        requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: raw });
        if (req.method === "GET" && req.url === prmPath) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              resource: opts.url,
              authorization_servers: opts.advertise ?? [opts.issuer],
              scopes_supported: ["mcp:tools"],
            }),
          );
          return;
        }
        if (req.url !== mcpUrl.pathname) {
          res.writeHead(404);
          res.end();
          return;
        }
        const auth = req.headers.authorization ?? "";
        const token = /^Bearer (.+)$/i.exec(auth)?.[1];
        let ok = false;
        if (token) {
          try {
            const info = await opts.provider.verifyAccessToken(token);
            ok = info.resource?.href === opts.url; // audience-bound
          } catch {
            ok = false;
          }
        }
        if (!ok) {
          res.writeHead(401, {
            "www-authenticate": `Bearer error="invalid_token", resource_metadata="${prmUrl}"`,
            "content-type": "application/json",
          });
          res.end(JSON.stringify({ error: "invalid_token" }));
          return;
        }
        const mcp = new McpServer({ name: "oauth-upstream", version: "1.0.0" });
        mcp.registerTool(
          "echo",
          { description: "Echo the text back.", inputSchema: { text: z.string().max(200) } },
          async ({ text }) => ({
            content: [{ type: "text", text: `echo: ${text}` }],
          }),
        );
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: undefined,
          enableJsonResponse: true,
        });
        res.on("close", () => {
          void transport.close().catch(() => undefined);
          void mcp.close().catch(() => undefined);
        });
        await mcp.connect(transport);
        await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
      })().catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
  const port = await listen(server);
  return { requests, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
