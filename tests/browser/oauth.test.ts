// @vitest-environment node
// Issue 19 done-when: the MCP SDK client connects to /mcp of the embedded runtime with only its URL —
// discovery → dynamic registration → consent in SyncBoard (real Chromium; a signed-in owner picks a
// skill and clicks Approve) → token → tools/list → tools/call. Then the grant is listed on the MCP
// page next to static tokens and revoking it there ends the client's access at once.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { MemoryOAuthProvider } from "../mcp/oauthClient";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, go, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";

const [OWNER] = OWNERS;

/** The MCP client's loopback redirect target (RFC 8252): hands the code to the test. */
class Callback {
  server!: Server;
  url = "";
  private waiting: ((q: URLSearchParams) => void) | null = null;
  next(): Promise<URLSearchParams> {
    return new Promise((r) => (this.waiting = r));
  }
  async start() {
    this.server = createServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://127.0.0.1").searchParams;
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>Done</title><h1>You can close this window</h1>");
      this.waiting?.(q);
      this.waiting = null;
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback`;
  }
  async stop() {
    await new Promise((r) => this.server.close(r));
  }
}

if (!HAS_CHROMIUM)
  console.warn("SKIPPED: /usr/bin/chromium is missing (install Debian's chromium package to run the browser suite)");

describe.skipIf(!HAS_CHROMIUM)("MCP OAuth: SDK client + consent in SyncBoard", { timeout: 120_000 }, () => {
  const cb = new Callback();
  let env: Env;
  let ctx: BrowserContext;
  let page: Page & { problems: string[] };

  beforeAll(async () => {
    await cb.start();
    env = await startEnv();
    const { client } = await apiAs(env.rt, OWNER);
    for (const [name, template] of [
      ["calc", "calculator"],
      ["clock", "time_in_zone"],
    ]) {
      const id: Id<"skillRegistry"> = await client.mutation(api.skills.registry.create, {
        name,
        description: `${name} skill`,
        type: "template",
        config: { template },
        allowedDomains: [],
      } as any);
      await client.mutation(api.skills.registry.approve, { skillId: id });
    }
    ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await newPage(ctx);
    await signIn(page, env.rt.url, OWNER);
  });

  afterAll(async () => {
    await ctx?.close().catch(() => undefined);
    await env?.close();
    await cb.stop();
  });

  it("connects with only the URL: discovery → registration → Approve → token → tools/list → tools/call; revoked from the MCP page", async () => {
    const mcpUrl = new URL(`${env.rt.siteUrl}/mcp`);
    const provider = new MemoryOAuthProvider(cb.url, "Chromium E2E client");
    const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await expect(new Client({ name: "e2e", version: "1.0.0" }).connect(first)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    expect(provider.info?.client_id).toMatch(/^wdn_oc_/);
    const authUrl = provider.authorizationUrl!;
    expect(authUrl.origin).toBe(env.rt.siteUrl);

    // The person's browser: /oauth/authorize → SyncBoard's consent page (already signed in).
    const code = cb.next();
    await page.goto(authUrl.toString());
    await page.getByRole("heading", { level: 1, name: "Authorize an MCP client" }).waitFor();
    expect(new URL(page.url()).origin).toBe(env.rt.url);
    await page.getByText("“Chromium E2E client” wants access").waitFor();
    await page.getByText("a program on this computer").waitFor();
    await page.getByTestId("consent-skills").getByRole("checkbox").first().waitFor();
    await page
      .getByTestId("consent-skills")
      .locator("label", { hasText: "calc" })
      .first()
      .getByRole("checkbox")
      .check();
    await shot(page, "40-oauth-consent");
    expect(serious(await axe(page))).toEqual([]);
    await page.getByRole("button", { name: "Approve", exact: true }).click();
    const q = await code;
    expect(q.get("state")).toBe("state-123");
    expect(q.get("iss")).toBe(env.rt.siteUrl);
    await page.getByRole("heading", { name: "You can close this window" }).waitFor();

    // Back in the MCP client: exchange the code, connect, list and call.
    await first.finishAuth(q.get("code")!);
    expect(provider.saved?.access_token).toMatch(/^wdn_oat_/);
    const client = new Client({ name: "e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["calc"]);
    const r = await client.callTool({ name: "calc", arguments: { expression: "6*7" } });
    expect(r.isError).toBeFalsy();
    expect(JSON.stringify(r.content)).toContain("42");
    await client.close();

    // SyncBoard lists the grant next to static tokens, with copyable client snippets; revoke it there.
    await page.goto(`${env.rt.url}/`);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await go(page, "MCP servers", "MCP servers");
    await page
      .getByTestId("snippet-claude-code")
      .getByText(`claude mcp add --transport http warden ${mcpUrl.href}`)
      .waitFor();
    const row = page.locator("tr", { hasText: "Chromium E2E client" });
    await row.getByText("active").waitFor();
    await shot(page, "41-mcp-oauth-clients");
    expect(serious(await axe(page))).toEqual([]);
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByText("revoked by an owner").waitFor();
    const after = await fetch(mcpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${provider.saved!.access_token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(after.status).toBe(401);
    expect(page.problems).toEqual([]);
  });
});
