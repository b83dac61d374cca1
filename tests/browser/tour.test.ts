// @vitest-environment node
// Issue 21, the last "done when": every page of SyncBoard (each sidebar entry, the detail pages,
// sign-in, the invitee's set-password page, the OAuth consent page, not-found) and /chat, in the
// light and the dark theme at 1440×900 and 390×844. Each is saved as
// test-output/screenshots/<page>-<theme>-<width>.png and checked with axe-core (no serious or
// critical violation) and, on the phone, for horizontal overflow (nothing wider than the screen).
//
// One runtime, one browser, one page: pages are reached by client-side navigation (the sidebar or
// the page's own links), the theme follows the emulated system preference (no toggle choice is
// stored), and the size changes with the viewport, so each page loads once for its four pictures.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import { api } from "../../convex/_generated/api";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, go, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";

const [OWNER] = OWNERS;
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
type Theme = "light" | "dark";
/** Ordered so that consecutive pictures change one thing at a time. */
const VARIANTS: [typeof DESKTOP, Theme][] = [
  [DESKTOP, "light"],
  [DESKTOP, "dark"],
  [PHONE, "dark"],
  [PHONE, "light"],
];
const CALC = '/skill calculator {"expression":"(2+3)*7/2"}';

/** Under `npm test` (CI=true) every suite runs at once on a small machine: allow for it. */
const SLOW = process.env.CI ? 2 : 1;

describe.skipIf(!HAS_CHROMIUM)(
  "SyncBoard tour: every page, both themes, desktop and phone; axe on each",
  { timeout: 60_000 * SLOW },
  () => {
    let env: Env;
    let ctx: BrowserContext;
    let page: Page & { problems: string[] };
    let inviteCode = "";
    const covered: string[] = [];

    /**
     * The four pictures of the page on screen, axe on each, and the phone overflow check. Returns the
     * problems as "<picture>: <rule> (<impact>): <help> → <targets>" lines.
     */
    async function capture(name: string): Promise<string[]> {
      const out: string[] = [];
      for (const [size, theme] of VARIANTS) {
        await page.setViewportSize(size);
        await page.mouse.move(size.width - 1, size.height - 1); // no hover left over from the last click
        await page.emulateMedia({ colorScheme: theme });
        await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
        // two frames: the new layout and colours are painted before the picture
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        const file = `${name}-${theme}-${size.width}`;
        await shot(page, file);
        for (const v of serious(await axe(page))) {
          out.push(`${file}: ${v.id} (${v.impact}): ${v.help} → ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        }
        if (size === PHONE) {
          const wide = await page.evaluate(() => {
            const w = document.documentElement.clientWidth;
            // the outermost elements that stick out, leaving out what scrolls inside its own box (tables)
            const clipped = (e: Element) => {
              for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
                if (getComputedStyle(a).overflowX !== "visible") return true;
              return false;
            };
            const sticks = (e: Element) =>
              e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== "fixed" && !clipped(e);
            const over = [...document.querySelectorAll("body *")]
              .filter((e) => sticks(e) && !(e.parentElement && sticks(e.parentElement)))
              .slice(0, 5)
              .map(
                (e) =>
                  `${e.tagName.toLowerCase()}${typeof e.className === "string" && e.className.trim() ? `.${e.className.trim().split(/\s+/).join(".")}` : ""} “${(e.textContent ?? "").trim().slice(0, 40)}”`,
              );
            return { scroll: document.documentElement.scrollWidth, w, over };
          });
          if (wide.scroll > wide.w + 1)
            out.push(`${file}: wider than the screen (${wide.scroll}px > ${wide.w}px): ${wide.over.join(", ")}`);
        }
      }
      await page.setViewportSize(DESKTOP);
      await page.emulateMedia({ colorScheme: "light" });
      covered.push(name);
      return out;
    }

    /** Client-side navigation to a path the sidebar has no entry for (the router listens for this event). */
    async function open(path: string, heading: string | RegExp) {
      await page.evaluate((to) => {
        window.history.pushState(null, "", to);
        window.dispatchEvent(new Event("warden:navigate"));
      }, path);
      await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    }

    beforeAll(async () => {
      env = await startEnv();
      const { client } = await apiAs(env.rt, OWNER);
      // Enough that no page is empty: the same public API the other browser tests seed through.
      await client.mutation(api.agent.config.update, { name: "Juniper" });
      const calc = await client.mutation(api.skills.registry.create, {
        name: "calculator",
        description: "Adds, multiplies and divides numbers.",
        type: "template",
        config: { template: "calculator" },
        allowedDomains: [],
      } as never);
      await client.mutation(api.skills.registry.approve, { skillId: calc });
      const cfg = await client.query(api.agent.config.get, {});
      await client.mutation(api.agent.config.update, { enabledSkillIds: [...cfg.enabledSkillIds, calc] });
      // A web visitor's calculator call waits for an owner: the Approvals inbox has an item.
      await client.mutation(api.agency.grants.set, {
        toolRef: "skill:calculator",
        audience: "webVisitor",
        policy: "ask",
      });
      await client.mutation(api.skills.registry.create, {
        name: "world_clock",
        description: "The time in a time zone.",
        type: "template",
        config: { template: "time_in_zone" },
        allowedDomains: [],
      } as never); // left waiting for review
      const serverId = await client.mutation(api.mcp.outbound.servers.register, {
        name: "weather",
        url: "https://mcp.example.com/mcp",
      });
      await client.mutation(api.mcp.outbound.servers.approve, { serverId });
      await env.rt.engine.callSystem("mcp/outbound/servers:storeTools", {
        serverId,
        url: "https://mcp.example.com/mcp",
        tools: [
          {
            name: "forecast",
            description: "Weather forecast for a city",
            inputSchema: { type: "object", properties: { city: { type: "string" } } },
            hash: "h-forecast-1",
          },
          {
            name: "alerts",
            description: "Weather alerts for a region",
            inputSchema: { type: "object", properties: { region: { type: "string" } } },
            hash: "h-alerts-1",
          },
        ],
        skipped: 0,
      });
      const { tokenId } = await client.mutation(api.mcp.inbound.tokens.mint, {
        name: "reporting-bot",
        toolScopes: ["calculator"],
        expiresInDays: 30,
      });
      await client.mutation(api.channels.manage.create, {
        platform: "telegram",
        name: "Support bot",
        settings: { botUsername: "warden_support_bot" },
      });
      await client.mutation(api.agent.providers.create, {
        label: "OpenAI",
        kind: "openai",
        apiKeyEnvVar: "OPENAI_API_KEY",
      });
      inviteCode = (await client.mutation(api.owners.manage.invite, { ownerKey: "nina", role: "admin" })).code ?? "";
      const ws = await client.query(api.workspaces.manage.current, {});
      const entry = (allowed: boolean, code: string, callerKind: string, callerId?: string) => ({
        workspaceId: ws.workspaceId,
        targetKind: "skill" as const,
        skillId: calc,
        targetName: "calculator",
        callerKind,
        callerId,
        code,
        allowed,
        durationMs: 3,
        inputBytes: 12,
        outputBytes: allowed ? 4 : 0,
        inputPreview: '{"expression":"2+2"}',
        outputPreview: allowed ? "4" : "",
      });
      for (let i = 0; i < 4; i++)
        await env.rt.engine.callSystem("security/checker:logResult", { entry: entry(true, "OK", "owner") });
      for (let i = 0; i < 3; i++)
        await env.rt.engine.callSystem("security/checker:logResult", {
          entry: entry(false, "SKILL_NOT_APPROVED", "mcp-client", tokenId),
        });

      ctx = await env.browser.newContext({ viewport: DESKTOP, colorScheme: "light", reducedMotion: "reduce" });
      ctx.setDefaultTimeout(15_000 * SLOW);
      page = await newPage(ctx);
    }, 150_000 * SLOW);

    afterAll(async () => {
      if (covered.length)
        console.info(`tour: ${covered.length} pages × ${VARIANTS.length} pictures: ${covered.join(", ")}`);
      await env?.close();
    });

    afterEach(async (t) => {
      if (t.task.result?.state === "fail" && page) {
        await shot(page, `fail-tour-${t.task.name.slice(0, 30).replace(/\W+/g, "-")}`).catch(() => undefined);
        console.warn(`page problems: ${page.problems.join("\n")}`);
        console.warn(
          `page text at failure:\n${(
            await page
              .locator("body")
              .innerText()
              .catch(() => "")
          ).slice(0, 1500)}`,
        );
      }
    });

    it("public pages: sign-in, set-password, /chat (empty and a thread)", async () => {
      await page.goto(`${env.rt.url}/`);
      await page.getByRole("heading", { name: "Sign in to SyncBoard" }).waitFor();
      const bad = await capture("signin");

      await page.goto(`${env.rt.url}/set-password#code=${inviteCode}`);
      await page.getByRole("heading", { name: "Set your password" }).waitFor();
      bad.push(...(await capture("set-password")));

      await page.goto(`${env.rt.url}/chat`);
      await page.getByRole("heading", { name: "Ask anything" }).waitFor();
      bad.push(...(await capture("chat")));
      const box = page.getByLabel("Message", { exact: true });
      await box.fill("What can you do?");
      await page.getByRole("button", { name: "Send" }).click();
      await page.waitForURL(/\/chat\/.+/);
      await page.locator(".msg-assistant[data-status='done']").first().waitFor({ timeout: 20_000 });
      await box.fill(CALC); // waits for an owner's approval (the grant says "ask")
      await page.getByRole("button", { name: "Send" }).click();
      await expect.poll(() => page.locator(".msg-assistant[data-status='done']").count(), { timeout: 20_000 }).toBe(2);
      bad.push(...(await capture("chat-thread")));
      expect(bad).toEqual([]);
    });

    it("overview (with the first-run checklist) after signing in", async () => {
      await signIn(page, env.rt.url, OWNER);
      await page.getByRole("heading", { name: "Finish setting up" }).waitFor();
      await page.getByRole("heading", { name: /^Invocations and denials/ }).waitFor();
      expect(await capture("overview")).toEqual([]);
    });

    it("monitor: approvals, activity, conversations (list and one), the three logs", async () => {
      const bad: string[] = [];
      await go(page, "Approvals", "Approvals");
      await page.locator("li[data-approval='calculator']").first().waitFor();
      bad.push(...(await capture("approvals")));
      await go(page, "Activity", "Activity");
      bad.push(...(await capture("activity")));
      await go(page, "Conversations", "Conversations");
      const first = page.locator("table tbody tr a").first();
      await first.waitFor();
      bad.push(...(await capture("conversations")));
      await first.click();
      await page.getByRole("link", { name: "← Conversations" }).waitFor();
      await page.locator("main ul.list-plain li").first().waitFor();
      bad.push(...(await capture("conversation")));
      await go(page, "Invocation log", "Invocation log");
      await page.locator("table tbody tr").first().waitFor();
      bad.push(...(await capture("invocations")));
      await go(page, "Security events", "Security events");
      await page.locator("table tbody tr").first().waitFor();
      bad.push(...(await capture("security")));
      await go(page, "Audit log", "Audit log");
      await page.locator("table tbody tr").first().waitFor();
      bad.push(...(await capture("audit")));
      expect(bad).toEqual([]);
    });

    it("agent: agent, providers, skills (list, new, one), MCP servers (list, one), channels, tool access", async () => {
      const bad: string[] = [];
      await go(page, "Agent", "Agent");
      bad.push(...(await capture("agent")));
      await go(page, "Model providers", "Model providers");
      await page.locator("tr", { hasText: "OPENAI_API_KEY" }).waitFor();
      bad.push(...(await capture("providers")));
      await go(page, "Skills", "Skills");
      await page.getByRole("link", { name: "world_clock" }).waitFor();
      bad.push(...(await capture("skills")));
      await page.getByRole("button", { name: "New skill" }).click();
      await page.getByRole("heading", { level: 1, name: "New skill" }).waitFor();
      bad.push(...(await capture("skill-new")));
      await go(page, "Skills", "Skills");
      await page.getByRole("link", { name: "calculator" }).first().click();
      await page.getByRole("heading", { level: 1, name: "calculator" }).waitFor();
      bad.push(...(await capture("skill")));
      await go(page, "MCP servers", "MCP servers");
      await page.getByRole("cell", { name: "reporting-bot" }).waitFor();
      bad.push(...(await capture("mcp")));
      await page.getByRole("link", { name: "weather", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "weather" }).waitFor();
      await page.locator("tr", { hasText: "Weather alerts" }).waitFor();
      bad.push(...(await capture("mcp-server")));
      await go(page, "Channels", "Channels");
      await page.getByRole("heading", { name: /Support bot/ }).waitFor();
      bad.push(...(await capture("channels")));
      await go(page, "Tool access", "Tool access");
      bad.push(...(await capture("tool-access")));
      expect(bad).toEqual([]);
    });

    it("settings: rate limits, owners, your account, runners, retention", async () => {
      const bad: string[] = [];
      await go(page, "Rate limits", "Rate limits");
      await page.locator("table tbody tr").first().waitFor();
      bad.push(...(await capture("limits")));
      await go(page, "Owners & roles", "Owners & roles");
      await page.getByText("invite pending").waitFor();
      bad.push(...(await capture("owners")));
      await go(page, "Your account", "Your account");
      bad.push(...(await capture("account")));
      await go(page, "Runners", "Runners");
      bad.push(...(await capture("runners")));
      await go(page, "Retention", "Retention");
      bad.push(...(await capture("retention")));
      expect(bad).toEqual([]);
    });

    it("the OAuth consent page (a real request from a registered client) and not-found", async () => {
      const reg = await fetch(`${env.rt.siteUrl}/oauth/register`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          client_name: "Tour client",
          redirect_uris: ["http://127.0.0.1:9/callback"],
          token_endpoint_auth_method: "none",
        }),
      });
      expect(reg.status).toBe(201);
      const { client_id } = (await reg.json()) as { client_id: string };
      const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url");
      const q = new URLSearchParams({
        response_type: "code",
        client_id,
        redirect_uri: "http://127.0.0.1:9/callback",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state: "tour",
      });
      const auth = await fetch(`${env.rt.siteUrl}/oauth/authorize?${q}`, { redirect: "manual" });
      const consent = new URL(auth.headers.get("location") ?? "");
      expect(consent.pathname).toBe("/oauth/consent");
      await open(consent.pathname + consent.search, "Authorize an MCP client");
      await page.getByText("“Tour client” wants access").waitFor();
      const bad = await capture("oauth-consent");
      await open("/no/such/page", "Page not found");
      bad.push(...(await capture("not-found")));
      expect(bad).toEqual([]);
      expect(page.problems.filter((p) => !p.includes("FORBIDDEN"))).toEqual([]);
    });
  },
);
