// @vitest-environment node
// SyncBoard and /chat in real Chromium against the embedded runtime: sign-in, skill approval,
// allowlist editing (wildcard refused inline), write-only secrets, rate limits enforced on /chat,
// visitor isolation, viewer read-only (UI and server), MCP Apps sandboxing, screenshots, axe.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { api } from "../../convex/_generated/api";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, go, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";

const [OWNER, , VIEWER] = OWNERS;
/** A fake model key in the server's environment: SyncBoard may say it is set, never show it. */
const MODEL_KEY = "sk-e2e-fake-model-key-4242424242";

if (!HAS_CHROMIUM)
  console.warn("SKIPPED: /usr/bin/chromium is missing (install Debian's chromium package to run the browser suite)");

describe.skipIf(!HAS_CHROMIUM)("SyncBoard + /chat in Chromium", { timeout: 60_000 }, () => {
  let env: Env;
  let ownerCtx: BrowserContext;
  let page: Page & { problems: string[] };
  /** The page whose picture and text are kept when a test fails. */
  let diag: (Page & { problems: string[] }) | null = null;
  const a11y: Record<string, string[]> = {};

  async function audit(name: string) {
    const v = serious(await axe(page));
    a11y[name] = v.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  }

  beforeAll(async () => {
    env = await startEnv({ env: { OPENAI_API_KEY: MODEL_KEY } });
    ownerCtx = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await newPage(ownerCtx);
    ownerCtx.setDefaultTimeout(15_000);
  }, 120_000);

  afterAll(async () => {
    await env?.close();
  });

  // On failure, keep a picture and the visible text of the owner page for diagnosis.
  afterEach(async (ctx) => {
    const p = diag ?? page;
    diag = null;
    if (ctx.task.result?.state === "fail" && p) {
      await shot(p, `fail-${ctx.task.name.slice(0, 40).replace(/\W+/g, "-")}`).catch(() => undefined);
      console.warn(`page problems: ${p.problems.join("\n")}`);
      console.warn(
        `page text at failure:\n${(
          await p
            .locator("body")
            .innerText()
            .catch(() => "")
        ).slice(0, 1500)}`,
      );
    }
  });

  it("serves SyncBoard with a CSP header and shows the sign-in form", async () => {
    const res = await page.goto(`${env.rt.url}/`);
    const csp = res!.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    await page.getByRole("heading", { name: "Sign in to SyncBoard" }).waitFor();
    await shot(page, "00-sign-in");
    await audit("sign-in");
    // A wrong password is refused with the server's code.
    await page.getByLabel("Owner key", { exact: true }).fill(OWNER.ownerKey);
    await page.getByLabel("Password", { exact: true }).fill("not-the-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("SIGNIN_FAILED");
  });

  it("signs in as the owner and shows the overview", async () => {
    await signIn(page, env.rt.url, OWNER);
    await page.getByText("healthy").waitFor();
    await page.getByRole("heading", { name: "Invocations and denials, last 24 hours" }).waitFor();
    // The token lives in sessionStorage, never in localStorage or a cookie.
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem("warden.ownerToken"),
      local: JSON.stringify(localStorage),
      cookie: document.cookie,
    }));
    expect(stored.session).toContain("token");
    expect(stored.local).not.toContain("eyJ");
    expect(stored.cookie).toBe("");
    await shot(page, "01-overview");
    await audit("overview");
  });

  it("creates a webhook skill, approves it, and shows it approved", async () => {
    await go(page, "Skills", "Skills");
    await shot(page, "02-skills-empty");
    await audit("skills-empty");
    await page.getByRole("button", { name: "New skill" }).click();
    await page.getByRole("heading", { level: 1, name: "New skill" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("weather_lookup");
    await page.getByLabel("Type", { exact: true }).selectOption("webhook");
    await expect.poll(() => page.getByLabel("Secret names", { exact: true }).inputValue()).toBe("API_TOKEN");
    await shot(page, "03-skill-new");
    await audit("skill-new");
    await page.getByRole("button", { name: "Create skill" }).click();
    await page.getByRole("heading", { level: 1, name: "weather_lookup" }).waitFor();
    await page.getByText("Waiting for review").waitFor();
    await page.getByRole("button", { name: "Approve weather_lookup" }).click();
    await page
      .getByRole("dialog", { name: "Approve weather_lookup?" })
      .getByRole("button", { name: "Approve and allow" })
      .click(); // the confirmation (issue 21 item 6)
    await page.getByText("approved", { exact: true }).first().waitFor();
    await expect.poll(() => page.getByText("Waiting for review").count()).toBe(0);
  });

  it("adds an allowlist domain, and shows a wildcard refused inline with the server's code", async () => {
    const input = page.getByLabel("Add a domain", { exact: true });
    await input.fill("*.example.com");
    await page.getByRole("button", { name: "Add domain" }).click();
    const err = page.locator(".field-error").filter({ hasText: "*.example.com" });
    await expect.poll(() => err.textContent()).toContain("DOMAIN_INVALID");
    await expect
      .poll(() => page.getByRole("list", { name: "Allowed domains" }).getByText("*.example.com").count())
      .toBe(0);

    await input.fill("status.example.org");
    await page.getByRole("button", { name: "Add domain" }).click();
    await page.getByRole("list", { name: "Allowed domains" }).getByText("status.example.org").waitFor();
    await expect.poll(() => page.locator(".field-error").count()).toBe(0);
    // Widening the allowlist sent the approved skill back to review.
    await page.getByText("Waiting for review").waitFor();
  });

  it("sets a secret and then shows only the mask", async () => {
    const value = "sk-live-SUPERSECRET-9876";
    const row = page.getByRole("form", { name: "Secret API_TOKEN" });
    await row.getByLabel("API_TOKEN", { exact: true }).fill(value);
    await row.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByTestId("secret-API_TOKEN").textContent()).toBe("••••9876");
    await expect.poll(() => row.getByLabel("API_TOKEN", { exact: true }).inputValue()).toBe("");
    const html = await page.content();
    expect(html).not.toContain("SUPERSECRET");
    await shot(page, "04-skill-detail");
    await audit("skill-detail");
    // Approve again for the later viewer check to have an approved + a pending skill.
    await page.getByRole("button", { name: "Approve weather_lookup" }).click();
    await page
      .getByRole("dialog", { name: "Approve weather_lookup?" })
      .getByRole("button", { name: "Approve and allow" })
      .click(); // the confirmation (issue 21 item 6)
    await page.getByText("Waiting for review").waitFor({ state: "detached" });
  });

  it("changes a rate limit (validation inline) and /chat enforces it", async () => {
    await go(page, "Rate limits", "Rate limits");
    const rate = page.locator('input[data-limit="chatPerSession"]');
    const row = page.locator("tr", { has: rate });
    await rate.fill("0");
    await row.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => row.getByRole("alert").textContent()).toContain("CONFIG_INVALID");
    await rate.fill("2");
    await row.getByRole("button", { name: "Save" }).click();
    await row.getByText("custom").waitFor();
    await shot(page, "05-limits");
    await audit("limits");

    const visitor = await env.browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const chat = await newPage(visitor);
    await chat.goto(`${env.rt.url}/chat`);
    const box = chat.getByLabel("Message", { exact: true });
    await box.fill("What can you do?");
    await chat.getByRole("button", { name: "Send" }).click();
    await chat.waitForURL(/\/chat\/.+/);
    // The reply arrives through the subscription (offline model).
    await chat.locator(".msg-assistant[data-status='done']").first().waitFor({ timeout: 20_000 });
    await box.fill("Second message");
    await chat.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => chat.locator(".msg-user").count()).toBe(2);
    await box.fill("Third message");
    await chat.getByRole("button", { name: "Send" }).click();
    const limited = chat.getByTestId("rate-limit");
    await expect.poll(() => limited.textContent()).toMatch(/You can send again in \d+ s/);
    await expect.poll(() => chat.getByRole("button", { name: "Send" }).isDisabled()).toBe(true);
    expect(await box.inputValue()).toBe("Third message");
    await shot(chat, "10-chat-mobile-rate-limited");
    await chat.getByRole("button", { name: "Conversations", exact: true }).click();
    await chat.getByRole("navigation", { name: "Conversations" }).getByRole("link").first().waitFor();
    await shot(chat, "15-chat-mobile-threads");
    await chat.keyboard.press("Escape");
    expect(chat.problems).toEqual([]);
    await visitor.close();
  });

  it("chats as a visitor; a second visitor can't open the first one's thread", async () => {
    const first = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const a = await newPage(first);
    await a.goto(`${env.rt.url}/chat`);
    await a.getByRole("heading", { name: "Ask anything" }).waitFor();
    await shot(a, "11-chat-empty");
    const s = serious(await axe(a));
    a11y["chat-empty"] = s.map((x) => x.id);
    // Counter: 4,000 characters is fine, 4,001 turns red and disables Send.
    const box = a.getByLabel("Message", { exact: true });
    await box.fill("x".repeat(4001));
    await expect.poll(() => a.locator(".counter").getAttribute("class")).toContain("counter-over");
    await expect.poll(() => a.getByRole("button", { name: "Send" }).isDisabled()).toBe(true);
    await shot(a, "12-chat-too-long");
    await box.fill("x".repeat(4000));
    await expect.poll(() => a.getByRole("button", { name: "Send" }).isDisabled()).toBe(false);

    await box.fill("My private question about invoices");
    await a.getByRole("button", { name: "Send" }).click();
    await a.waitForURL(/\/chat\/.+/);
    const threadUrl = a.url();
    await a.locator(".msg-assistant[data-status='done']").first().waitFor({ timeout: 20_000 });
    const reply = await a.locator(".msg-assistant").first().textContent();
    expect(reply).toMatch(/\S/);
    await shot(a, "13-chat-thread");
    a11y["chat-thread"] = serious(await axe(a)).map((x) => x.id);
    // The session token is in localStorage, bound to this browser.
    expect(await a.evaluate(() => localStorage.getItem("warden.chatSession"))).toContain("wcs_");

    const second = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const b = await newPage(second);
    await b.goto(threadUrl);
    await b.getByText("This conversation isn't available").waitFor();
    expect(await b.locator("body").innerText()).not.toContain("invoices");
    expect(await b.locator(".msg").count()).toBe(0);
    await shot(b, "14-chat-other-visitor");
    expect([...a.problems, ...b.problems]).toEqual([]);
    await first.close();
    await second.close();
  });

  it("sets up a channel: webhook URL to paste, setup steps, write-only secrets, enable", async () => {
    await go(page, "Channels", "Channels");
    await page.getByLabel("Platform", { exact: true }).selectOption("telegram");
    await page.getByLabel("Name", { exact: true }).fill("Support bot");
    await page.getByRole("button", { name: "Add channel" }).click();
    const card = page.locator("section.card", { has: page.getByRole("heading", { name: /Support bot/ }) });
    await card.waitFor();
    const url = (await card.locator("code.token-box").textContent()) ?? "";
    expect(url).toMatch(new RegExp(`^${env.rt.siteUrl}/.+`));
    expect(await card.locator("ol.steps li").count()).toBeGreaterThan(0);
    const row = card.getByRole("form", { name: "Secret TELEGRAM_SECRET_TOKEN" });
    await row.getByLabel("TELEGRAM_SECRET_TOKEN").fill("tg-webhook-secret-7788");
    await row.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => card.getByTestId("secret-TELEGRAM_SECRET_TOKEN").textContent()).toBe("••••7788");
    await card.getByRole("button", { name: "Enable" }).click();
    await card.getByText("enabled", { exact: true }).waitFor();
    // The bot token is still missing: the card says so.
    await card.getByText(/Missing secret: TELEGRAM_BOT_TOKEN/).waitFor();
    expect(await page.content()).not.toContain("tg-webhook-secret");
    await shot(page, "23-channels");
    await audit("channels");
  });

  it("approves an MCP server, blocks a changed tool until re-approved, mints a client token shown once", async () => {
    await go(page, "MCP servers", "MCP servers");
    await page.getByLabel("Name", { exact: true }).fill("weather");
    await page.getByLabel("URL", { exact: true }).fill("http://10.0.0.5/mcp");
    await page.getByRole("button", { name: "Register server" }).click();
    await expect
      .poll(() => page.locator(".field-error").first().textContent())
      .toMatch(/PRIVATE_ADDRESS_BLOCKED|SCHEME_NOT_ALLOWED/);
    await page.getByLabel("URL", { exact: true }).fill("https://mcp.example.com/mcp");
    await page.getByRole("button", { name: "Register server" }).click();
    await page.getByRole("button", { name: "Approve weather" }).click();
    await page
      .getByRole("dialog", { name: "Approve MCP server weather?" })
      .getByRole("button", { name: "Approve and connect" })
      .click();
    await page.getByRole("link", { name: "weather" }).click();
    await page.getByRole("heading", { level: 1, name: "weather" }).waitFor();
    const serverId = decodeURIComponent(page.url().split("/mcp/")[1]);

    // Two listings (as the MCP client would store them): the second changes one tool's schema.
    const tools = (h: string, alertsSchema: Record<string, unknown>) => [
      {
        name: "forecast",
        description: "Weather forecast for a city",
        inputSchema: { type: "object", properties: { city: { type: "string" } } },
        hash: "h-forecast-1",
      },
      { name: "alerts", description: "Weather alerts", inputSchema: alertsSchema, hash: h },
    ];
    await env.rt.engine.callSystem("mcp/outbound/servers:storeTools", {
      serverId,
      url: "https://mcp.example.com/mcp",
      tools: tools("h-alerts-1", { type: "object" }),
      skipped: 0,
    });
    await expect
      .poll(() => page.locator("tr", { hasText: "alerts" }).getByText("approved", { exact: true }).count())
      .toBe(1);
    const changed = { type: "object", properties: { region: { type: "string" } } };
    await env.rt.engine.callSystem("mcp/outbound/servers:storeTools", {
      serverId,
      url: "https://mcp.example.com/mcp",
      tools: tools("h-alerts-2", changed),
      skipped: 0,
    });
    const alerts = page.locator("tr", { hasText: "Weather alerts" });
    await alerts.getByText("changed – re-approve").waitFor();
    await page.getByText("Tools changed since approval").waitFor();
    await shot(page, "22-mcp-server-changed-tool");
    await audit("mcp-server");
    await alerts.getByRole("button", { name: "Re-approve tool alerts" }).click();
    // the gate shows what will be pinned: the changed notice and the new schema, before anything is approved
    const gate = page.getByRole("dialog", { name: "Re-approve tool alerts?" });
    await gate.getByText("This tool changed since it was approved").waitFor();
    expect(await gate.locator("pre").textContent()).toContain('"region"');
    expect(await alerts.getByText("changed – re-approve").count()).toBe(1);
    await shot(page, "22b-mcp-tool-gate");
    await gate.getByRole("button", { name: "Re-approve tool" }).click();
    await alerts.getByText("approved", { exact: true }).waitFor();

    await go(page, "MCP servers", "MCP servers");
    await page.getByLabel("Client name", { exact: true }).fill("Claude Desktop");
    await page.getByLabel("Skills it may call", { exact: true }).fill("weather_lookup");
    // gateway mode: pick an approved upstream tool for the token's scope
    await page
      .getByTestId("upstream-scopes")
      .getByLabel(/weather\.forecast/)
      .check();
    await page.getByRole("button", { name: "Mint token" }).click();
    const minted = page.getByTestId("minted-token");
    const token = (await minted.textContent()) ?? "";
    expect(token).toMatch(/^wdn_mcp_/);
    await page.getByText("it won't be shown again").waitFor();
    await page.getByRole("button", { name: "Copy token" }).waitFor();
    await shot(page, "22-mcp-token-once");
    await page.getByRole("button", { name: "I've stored it safely" }).click();
    await expect.poll(() => page.getByTestId("minted-token").count()).toBe(0);
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "MCP servers" }).waitFor();
    await page.getByRole("cell", { name: "Claude Desktop" }).waitFor();
    await page.locator("tr", { hasText: "Claude Desktop" }).getByText("weather_lookup, mcp:weather/forecast").waitFor();
    expect(await page.content()).not.toContain(token);
    await shot(page, "22-mcp");
    await audit("mcp");
  });

  it("adds model providers by env var name: key-looking names refused, 'key set?' shown, never the key", async () => {
    await go(page, "Model providers", "Model providers");
    await page.getByLabel("Label", { exact: true }).fill("OpenAI");
    await page.getByLabel("Key variable name", { exact: true }).fill("sk-proj-1234567890abcdef");
    await page.getByRole("button", { name: "Add provider" }).click();
    await expect.poll(() => page.locator(".field-error").first().textContent()).toContain("never the key itself");
    await page.getByLabel("Key variable name", { exact: true }).fill("OPENAI_API_KEY");
    await page.getByRole("button", { name: "Add provider" }).click();
    const set = page.locator("tr", { hasText: "OPENAI_API_KEY" });
    await set.getByText("yes", { exact: true }).waitFor();
    await page.getByLabel("Label", { exact: true }).fill("Claude");
    await page.getByLabel("Kind", { exact: true }).selectOption("anthropic");
    await page.getByRole("button", { name: "Add provider" }).click();
    await page.locator("tr", { hasText: "ANTHROPIC_API_KEY" }).getByText("not set").waitFor();
    expect(await page.content()).not.toContain(MODEL_KEY);
    await shot(page, "21-providers");
    await audit("providers");
  });

  it("manages owners, publishes an activity entry, filters logs and edits retention", async () => {
    // Owners: invite (one-time set-password link, shown once), the invitee sets her own password, change role, deactivate.
    await go(page, "Owners & roles", "Owners & roles");
    await page.getByLabel("Owner key", { exact: true }).fill("no spaces!");
    await page.getByRole("button", { name: "Invite" }).click();
    await page.getByText("Use 3–64 letters, digits, or . _ @ -").waitFor();
    await page.getByLabel("Owner key", { exact: true }).fill("nina");
    await page.getByLabel("Role", { exact: true }).selectOption("admin");
    await page.getByRole("button", { name: "Invite" }).click();
    const link = (await page.getByTestId("set-password-link").textContent()) ?? "";
    expect(link).toMatch(/\/set-password#code=wsp_[\w-]{43}$/);
    const nina = page.locator("tr", { has: page.getByText("nina", { exact: true }) });
    await nina.getByText("invite pending").waitFor();
    await shot(page, "24a-owners-invite-link");

    // Nina, in her own browser: the link → her own password → signed in; then she changes it under "Your account".
    const ninaCtx = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
    const np = await newPage(ninaCtx);
    await np.goto(link);
    await np.getByRole("heading", { name: "Set your password" }).waitFor();
    expect(np.url()).not.toContain("code=");
    expect(serious(await axe(np))).toEqual([]);
    await np.getByLabel("New password", { exact: true }).fill("nina-chose-this-password");
    await np.getByLabel("Repeat new password", { exact: true }).fill("nina-chose-this-password");
    await np.getByRole("button", { name: "Set password and sign in" }).click();
    await np.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await go(np, "Your account", "Your account");
    await np.getByLabel("Current password", { exact: true }).fill("not-her-password");
    await np.getByLabel("New password", { exact: true }).fill("nina-second-password");
    await np.getByLabel("Repeat new password", { exact: true }).fill("nina-second-password");
    await np.getByRole("button", { name: "Change password" }).click();
    await np.getByText("Your current password isn't right.").waitFor();
    await np.getByLabel("Current password", { exact: true }).fill("nina-chose-this-password");
    await np.getByRole("button", { name: "Change password" }).click();
    await np.getByText("Password changed.").waitFor();
    await shot(np, "24b-account");
    expect(serious(await axe(np))).toEqual([]);
    expect(np.problems).toEqual([]);
    await ninaCtx.close();
    // The link was single use.
    const reuse = await fetch(`${env.rt.siteUrl}/auth/set-password`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: decodeURIComponent(link.split("#code=")[1]), password: "another-long-password" }),
    });
    expect(reuse.status).toBe(400);

    await nina.getByText("password", { exact: true }).waitFor();
    await nina.getByLabel("Role of nina").selectOption("viewer");
    await expect.poll(() => nina.getByLabel("Role of nina").inputValue()).toBe("viewer");
    await nina.getByRole("button", { name: "Deactivate" }).click();
    await nina.getByText("deactivated").waitFor();
    // Your own role can't be changed from here (the server refuses too).
    expect(await page.getByLabel("Role of olivia").isDisabled()).toBe(true);

    // Activity: make a reply entry public; the public feed then shows its template summary only.
    await go(page, "Activity", "Activity");
    const first = page.getByRole("button", { name: /^Make public: / }).first();
    await first.click();
    await page
      .getByRole("button", { name: /^Make private: / })
      .first()
      .waitFor();
    const { ConvexHttpClient } = await import("convex/browser");
    const anon = new ConvexHttpClient(env.rt.url);
    const feed = await anon.query(api.agent.activity.publicFeed, { paginationOpts: { numItems: 10, cursor: null } });
    expect(feed.page.length).toBe(1);
    expect(Object.keys(feed.page[0]).sort()).toEqual(["at", "kind", "summary"]);

    // Security events filtered by code.
    await go(page, "Security events", "Security events");
    await page.getByLabel("Code", { exact: true }).fill("MCP_TOOL_CHANGED");
    await page.getByLabel("Code", { exact: true }).press("Enter");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await page.locator("tbody").getByText("MCP_TOOL_CHANGED").waitFor();
    await page.getByLabel("Code", { exact: true }).fill("");
    await page.getByLabel("Code", { exact: true }).press("Enter");
    await expect.poll(() => page.locator("tbody tr").count()).toBeGreaterThan(1);

    // Retention: invalid value inline, then a valid one saved.
    await go(page, "Retention", "Retention");
    const days = page.getByLabel("Days to keep Audit log");
    const row = page.locator("tr", { has: days });
    await days.fill("0");
    await row.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => row.getByRole("alert").textContent()).toContain("CONFIG_INVALID");
    await days.fill("90");
    await row.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => row.getByRole("alert").count()).toBe(0);
    await expect.poll(() => row.getByText("default").count()).toBe(0);
  });

  it("tours every page as the owner: screenshots, axe, no CSP violations", async () => {
    const pages: [string, string, string][] = [
      ["Agent", "Agent", "20-agent"],
      ["Owners & roles", "Owners & roles", "24-owners"],
      ["Activity", "Activity", "25-activity"],
      ["Conversations", "Conversations", "26-conversations"],
      ["Invocation log", "Invocation log", "27-invocations"],
      ["Security events", "Security events", "28-security-events"],
      ["Audit log", "Audit log", "29-audit"],
      ["Retention", "Retention", "30-retention"],
      ["Overview", "Overview", "31-overview-after"],
    ];
    for (const [label, heading, file] of pages) {
      await go(page, label, heading);
      await shot(page, file);
      await audit(label);
    }
    // A conversation, as the owner sees it.
    await go(page, "Conversations", "Conversations");
    await page.getByRole("link", { name: "My private question about invoices" }).click();
    await page.getByText("Offline model").first().waitFor();
    await shot(page, "26-conversation-detail");
    await audit("conversation-detail");
    await go(page, "Overview", "Overview");

    // The rate-limit hit from /chat is on the overview and in the security events.
    await page.getByText("Public chat messages per session").first().waitFor();

    // Keyboard (fresh tab): the first Tab reaches the skip link, which moves focus to the page content.
    const tab = await newPage(ownerCtx);
    // a new tab of the same browser arrives signed in (the sign-in is shared across tabs)
    await tab.goto(`${env.rt.url}/`);
    await tab.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await tab.keyboard.press("Tab");
    expect(await tab.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await tab.keyboard.press("Enter");
    expect(await tab.evaluate(() => document.activeElement?.id)).toBe("main");
    await tab.close();

    // Phone-sized: the sidebar folds into a menu.
    await page.setViewportSize({ width: 390, height: 844 });
    const menu = page.getByRole("button", { name: "Menu" });
    await menu.click();
    await page
      .getByRole("navigation", { name: "SyncBoard" })
      .getByRole("link", { name: "Skills", exact: true })
      .waitFor();
    await shot(page, "33-overview-phone-menu");
    await menu.click();
    await shot(page, "34-overview-phone");
    await page.setViewportSize({ width: 1280, height: 860 });
    expect(page.problems).toEqual([]);
  });

  it("a viewer sees read-only pages; the server refuses a forced approve", async () => {
    const { client: admin } = await apiAs(env.rt, OWNER);
    const pendingId = await admin.mutation(api.skills.registry.create, {
      name: "pending_calc",
      description: "A calculator nobody approved yet.",
      type: "template",
      config: { template: "calculator" },
      allowedDomains: [],
    });

    const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
    ctx.setDefaultTimeout(15_000);
    const v = await newPage(ctx);
    diag = v;
    await signIn(v, env.rt.url, VIEWER);
    await v.getByText("read-only").waitFor();
    await go(v, "Skills", "Skills");
    const approve = v.getByRole("button", { name: "Approve pending_calc" });
    await approve.waitFor();
    await expect.poll(() => approve.isDisabled()).toBe(true);
    await expect.poll(() => v.getByRole("button", { name: "New skill" }).isDisabled()).toBe(true);
    await shot(v, "40-viewer-skills");
    a11y["viewer-skills"] = serious(await axe(v)).map((x) => x.id);

    // A tampered client: the same call made straight from the page with the viewer's own token.
    const forced = await v.evaluate(
      async ({ url, skillId }) => {
        const token = JSON.parse(sessionStorage.getItem("warden.ownerToken") ?? "{}").token;
        const r = await fetch(`${url}/api/mutation`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify({ path: "skills/registry:approve", format: "convex_encoded_json", args: [{ skillId }] }),
        });
        return { status: r.status, body: await r.json() };
      },
      { url: env.rt.url, skillId: pendingId },
    );
    expect(forced.status).toBe(560);
    expect(forced.body.errorData?.code).toBe("FORBIDDEN");
    const after = await admin.query(api.skills.registry.get, { skillId: pendingId });
    expect(after.status).toBe("pending");

    // Owners-only pages say so instead of failing.
    await go(v, "Owners & roles", "Owners & roles");
    await v.getByText("Only owners can see and manage the member list.").waitFor();
    await shot(v, "41-viewer-owners");
    expect(v.problems.filter((p) => !p.includes("FORBIDDEN"))).toEqual([]);
    await ctx.close();
  });

  it("runs an MCP App's inline script on the site origin's sandbox page, isolated from SyncBoard", async () => {
    const { client } = await apiAs(env.rt, OWNER);
    const ws = await client.query(api.workspaces.manage.current, {});
    // The app: runs inline script and style, reports its size, tries to read the parent page and to
    // fetch (no-cors: without connect-src 'none' this would resolve), and reports both outcomes.
    const script = `
      document.body.dataset.ran = "yes";
      var say = function (m) { parent.postMessage({ type: "notify", payload: { message: m } }, "*"); };
      try { say("parent title: " + parent.document.title); } catch (e) { say("parent blocked"); }
      fetch(${JSON.stringify(`${env.rt.siteUrl}/health`)}, { mode: "no-cors" }).then(
        function () { say("fetch ok"); }, function () { say("fetch blocked"); });
      parent.postMessage({ type: "ui-size-change", payload: { height: 360 } }, "*");`;
    const html = `<!doctype html><html><head><title>app</title><style>h1{color:rgb(1, 2, 3)}</style></head><body><h1 id="app-title">Weather app</h1><script>${script}</script></body></html>`;
    await env.rt.engine.callSystem("security/checker:logResult", {
      entry: {
        workspaceId: ws.workspaceId,
        targetKind: "mcp",
        targetName: "weather/forecast",
        callerKind: "agent",
        code: "OK",
        allowed: true,
        durationMs: 12,
        inputBytes: 2,
        outputBytes: html.length,
        inputPreview: "{}",
        outputPreview: JSON.stringify({
          ui: [{ uri: "ui://weather/forecast", mimeType: "text/html", html }],
          content: [],
        }),
      },
    });
    await go(page, "Invocation log", "Invocation log");
    const before = page.problems.length;
    await page.getByRole("button", { name: "Show app" }).click();
    const frameEl = page.locator("iframe.mcp-app");
    await frameEl.waitFor();
    expect(await frameEl.getAttribute("sandbox")).toBe("allow-scripts");
    expect(await frameEl.getAttribute("srcdoc")).toBeNull();
    const src = (await frameEl.getAttribute("src")) ?? "";
    expect(src).toBe(`${env.rt.siteUrl}/mcp-app-sandbox`);
    expect(new URL(src).origin).not.toBe(new URL(page.url()).origin);

    // The app ran: size message relayed (sandbox page → SyncBoard), notifications shown.
    await expect.poll(() => frameEl.getAttribute("height"), { timeout: 10_000 }).toBe("360");
    const notes = page.getByRole("list", { name: "Messages from the app" });
    await expect.poll(() => notes.innerText(), { timeout: 10_000 }).toContain("fetch blocked");
    const text = await notes.innerText();
    expect(text).toContain("parent blocked");
    expect(text).not.toContain("fetch ok");
    expect(text).not.toContain("parent title");

    const sandbox = page
      .frames()
      .find((f) => f.parentFrame() === page.mainFrame() && f.url().endsWith("/mcp-app-sandbox"))!;
    const app = page.frames().find((f) => f.parentFrame() === sandbox)!;
    expect(app).toBeTruthy();
    expect(await app.evaluate(() => document.body.dataset.ran)).toBe("yes");
    expect(await app.evaluate(() => getComputedStyle(document.getElementById("app-title")!).color)).toBe(
      "rgb(1, 2, 3)",
    );
    // Opaque origins all the way up: neither the app nor the sandbox page can reach SyncBoard.
    expect(await app.evaluate(() => window.origin)).toBe("null");
    expect(await sandbox.evaluate(() => window.origin)).toBe("null");
    for (const f of [app, sandbox]) {
      expect(
        await f.evaluate(() => {
          try {
            return String((window.top as Window).document.title);
          } catch {
            return "blocked";
          }
        }),
      ).toBe("blocked");
    }
    // The HTML lives only in the frames, never in SyncBoard's own DOM.
    expect(await page.evaluate(() => document.getElementById("app-title"))).toBeNull();
    expect(await page.evaluate(() => document.documentElement.outerHTML)).not.toContain("Weather app");
    // The only refusal was the app's own fetch (SyncBoard's CSP did not block the frame, script or style).
    expect(
      page.problems
        .slice(before)
        .filter((p) => !(p.startsWith("csp: ") && p.includes("/health") && /connect/i.test(p))),
    ).toEqual([]);

    // Messages from the frame are accepted, messages from anyone else (this page, the nested app
    // posting to the top directly) are ignored.
    await app.evaluate(() => parent.postMessage({ type: "ui-size-change", payload: { height: 420 } }, "*"));
    await expect.poll(() => frameEl.getAttribute("height")).toBe("420");
    await page.evaluate(() => window.postMessage({ type: "ui-size-change", payload: { height: 900 } }, "*"));
    await app.evaluate(() =>
      (window.top as Window).postMessage({ type: "ui-size-change", payload: { height: 800 } }, "*"),
    );
    await page.waitForTimeout(300);
    expect(await frameEl.getAttribute("height")).toBe("420");
    await shot(page, "32-mcp-app");
  });

  it("has no serious or critical axe violations on any page", () => {
    const bad = Object.entries(a11y).filter(([, v]) => v.length > 0);
    expect(bad).toEqual([]);
  });
});
