// @vitest-environment node
// Issue 21 items 5, 6 and 7 in Chromium: approval as a gate (confirmation with what it allows, a
// code skill's source, the two-person rule refusing the editor), "test this skill" with its log row,
// explained codes in the logs and on the MCP page, channel setup (Telegram secret generation,
// setWebhook command, unreachable-URL warning), the first-run checklist, and /chat showing a
// sentence instead of a code. Screenshots in both themes at 1440×900 and 390×844; axe on each.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";

const [OWNER, ADMIN] = OWNERS;

describe.skipIf(!HAS_CHROMIUM)(
  "SyncBoard: approval gate, setup, test panel, explained errors",
  { timeout: 120_000 },
  () => {
    let env: Env;
    let ctx: BrowserContext;
    let page: Page & { problems: string[] };
    let adamSkill: Id<"skillRegistry">;
    let oliviaSkill: Id<"skillRegistry">;
    let channelId: Id<"channelConfig">;
    let serverId: Id<"mcpServers">;
    const a11y: Record<string, string[]> = {};

    async function audit(name: string, p: Page = page) {
      a11y[name] = serious(await axe(p)).map(
        (x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).join(", ")})`,
      );
    }
    async function nav(p: Page, to: string, heading: string) {
      await p.evaluate((path) => {
        window.history.pushState(null, "", path);
        window.dispatchEvent(new Event("warden:navigate"));
      }, to);
      await p.getByRole("heading", { level: 1, name: heading }).waitFor();
    }

    beforeAll(async () => {
      env = await startEnv();
      await env.rt.engine.callSystem("skills/codeSync:sync", {}); // code skills (word_count, github_repo_info) as pending
      const owner = (await apiAs(env.rt, OWNER)).client;
      const adam = (await apiAs(env.rt, ADMIN)).client;
      await owner.mutation(api.workspaces.policy.setTwoPersonRule, { on: true });
      adamSkill = await adam.mutation(api.skills.registry.create, {
        name: "adam_calc",
        description: "A calculator adam made.",
        type: "template",
        config: { template: "calculator" },
        allowedDomains: [],
      });
      oliviaSkill = await owner.mutation(api.skills.registry.create, {
        name: "olivia_lookup",
        description: "Look up an item in a JSON API.",
        type: "template",
        config: { template: "http_get_json", urlTemplate: "https://api.example.com/items/{id}", jsonPointer: "/name" },
        allowedDomains: ["api.example.com"],
      });
      channelId = await owner.mutation(api.channels.manage.create, {
        platform: "telegram",
        name: "Support bot",
        settings: {},
      });
      serverId = await adam.mutation(api.mcp.outbound.servers.register, {
        name: "weather",
        url: "https://mcp.example.com/mcp",
      });
      ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
      ctx.setDefaultTimeout(15_000);
      await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.rt.url });
      page = await newPage(ctx);
    }, 180_000);

    afterAll(async () => {
      await env?.close();
    });

    afterEach(async (t) => {
      if (t.task.result?.state === "fail") {
        await shot(page, `fail-gate-${t.task.name.slice(0, 30).replace(/\W+/g, "-")}`).catch(() => undefined);
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

    it("overview: the first-run checklist lists what is left, computed on the server", async () => {
      await signIn(page, env.rt.url, OWNER);
      const card = page.getByRole("region", { name: "Finish setting up" });
      await card.waitFor();
      await card.getByRole("link", { name: "Approve a skill" }).waitFor();
      await card.getByRole("link", { name: "Enable a channel" }).waitFor();
      await shot(page, "i21g-overview-checklist-light-1440");
      await audit("overview-checklist");
    });

    it("approve from the detail page: the confirmation shows what will be allowed and who changed it", async () => {
      await nav(page, `/skills/${adamSkill}`, "adam_calc");
      await page.getByRole("button", { name: "Approve adam_calc" }).click();
      const dialog = page.getByRole("dialog", { name: "Approve adam_calc?" });
      await dialog.waitFor();
      await dialog.getByText("No network access").waitFor();
      await dialog.getByText("30 calls per minute (workspace default)").waitFor();
      await dialog.getByText("Two-person rule is on").waitFor();
      await dialog.getByText("adam", { exact: true }).waitFor();
      await shot(page, "i21g-approve-dialog-light-1440");
      await audit("approve-dialog");
      await dialog.getByRole("button", { name: "Approve and allow" }).click();
      await dialog.waitFor({ state: "hidden" });
      await page.getByText("approved", { exact: true }).first().waitFor();
    });

    it("two-person rule: the UI says the editor can't approve, and the server refuses a forced call", async () => {
      await nav(page, `/skills/${oliviaSkill}`, "olivia_lookup");
      await page.getByRole("button", { name: "Approve olivia_lookup" }).click();
      const dialog = page.getByRole("dialog", { name: "Approve olivia_lookup?" });
      await dialog.getByRole("list", { name: "Domains it may contact" }).getByText("api.example.com").waitFor();
      await dialog.getByText("https://api.example.com/items/{id}").waitFor();
      await dialog.getByText("Two-person rule: you can't approve your own change").waitFor();
      expect(await dialog.getByRole("button", { name: "Approve and allow" }).isDisabled()).toBe(true);
      await shot(page, "i21g-approve-self-light-1440");
      await audit("approve-self");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      // A tampered client: the same mutation straight from olivia's token.
      const owner = (await apiAs(env.rt, OWNER)).client;
      expect(await owner.mutation(api.skills.registry.approve, { skillId: oliviaSkill })).toEqual({
        refused: "TWO_PERSON_RULE",
      });
      await page.getByText("Waiting for review").waitFor();
      // adam approves it
      const adam = (await apiAs(env.rt, ADMIN)).client;
      expect(await adam.mutation(api.skills.registry.approve, { skillId: oliviaSkill })).toBeNull();
      // the refusal is in the audit log
      await nav(page, "/logs/audit", "Audit log");
      await page.getByText("skill.approve.refused").first().waitFor();
    });

    it("a code skill's confirmation shows its source", async () => {
      await nav(page, "/skills", "Skills");
      await page.getByRole("link", { name: "word_count" }).click();
      await page.getByRole("heading", { level: 1, name: "word_count" }).waitFor();
      await page.getByRole("button", { name: "Approve word_count" }).click();
      const dialog = page.getByRole("dialog", { name: "Approve word_count?" });
      await dialog.getByText("Source (first approval)").waitFor();
      await expect.poll(() => dialog.getByLabel("Source as deployed").innerText()).toContain("skillMeta");
      await dialog.getByText("Changed by a deploy").waitFor();
      await shot(page, "i21g-approve-code-light-1440");
      await audit("approve-code");
      await dialog.getByRole("button", { name: "Approve and allow" }).click();
      await dialog.waitFor({ state: "hidden" });
    });

    it("test this skill: runs through the checker and shows the log row; a bad input is explained", async () => {
      await nav(page, `/skills/${adamSkill}`, "adam_calc");
      const panel = page.getByRole("region", { name: "Test this skill" });
      await panel.getByLabel("Sample input (JSON)").fill('{"expression":"2 + 3 * 4"}');
      await panel.getByRole("button", { name: "Run test" }).click();
      await panel.getByText("allowed · OK").waitFor();
      await expect.poll(() => panel.getByText("Invocation log row").count()).toBe(1);
      await panel.getByText("14").first().waitFor();
      await shot(page, "i21g-skill-test-light-1440");
      await audit("skill-test");
      await panel.getByLabel("Sample input (JSON)").fill('{"expr":"1"}');
      await panel.getByRole("button", { name: "Run test" }).click();
      await panel.getByText("denied · INPUT_INVALID").waitFor();
      await panel.getByText("What this means").click();
      await panel.getByText(/didn't match the skill's input schema/).waitFor();
      // the invocation log names the tester and explains the denial
      await nav(page, "/logs/invocations", "Invocation log");
      const row = page.locator("table tbody tr").filter({ hasText: "INPUT_INVALID" }).first();
      await row.getByText(/Test by olivia/).waitFor();
      await row.getByText("What this means").click();
      await row.getByText("What to do:").waitFor();
      await shot(page, "i21g-invocations-explained-light-1440");
      await audit("invocations-explained");
    });

    it("MCP: approve through the confirmation (adam registered it; olivia approves)", async () => {
      await nav(page, "/mcp", "MCP servers");
      await page.getByRole("button", { name: "Approve weather" }).click();
      const dialog = page.getByRole("dialog", { name: "Approve MCP server weather?" });
      await dialog.getByText("https://mcp.example.com/mcp").waitFor();
      await dialog.getByText(/first listing after approval approves every tool/).waitFor();
      await shot(page, "i21g-approve-mcp-light-1440");
      await audit("approve-mcp");
      await dialog.getByRole("button", { name: "Approve and connect" }).click();
      await dialog.waitFor({ state: "hidden" });
      // the health check fails (nothing listens there): the detail page explains the last error
      await env.rt.engine.callSystem("mcp/outbound/health:recordHealth", {
        serverId,
        ok: false,
        latencyMs: 120,
        code: "UPSTREAM_ERROR",
        threshold: 3,
      });
      await nav(page, `/mcp/${serverId}`, "weather");
      await page.getByText(/UPSTREAM_ERROR — The remote service answered with an error/).waitFor();
      await shot(page, "i21g-mcp-detail-light-1440");
      await audit("mcp-detail");
    });

    it("Telegram setup: generate the secret token, copy-ready setWebhook, loopback warning", async () => {
      await nav(page, "/channels", "Channels");
      const card = page.getByRole("region", { name: /Support bot/ });
      await card.getByText("Vendors can't reach this URL from the internet").waitFor();
      await card.getByRole("button", { name: "Generate secret token" }).click();
      await card.getByText("Secret token saved").waitFor();
      const cmd = await card.getByLabel("setWebhook command").innerText();
      expect(cmd).toContain(`/webhooks/telegram/${channelId}`);
      expect(cmd).toMatch(/secret_token=[A-Za-z0-9_-]{43}"/);
      expect(cmd).toContain("https://api.telegram.org/bot${TELEGRAM_BOT_TOKEN}/setWebhook");
      // saved as the channel secret (masked)
      await expect.poll(() => card.getByTestId("secret-TELEGRAM_SECRET_TOKEN").textContent()).toMatch(/^••••/);
      await shot(page, "i21g-channels-telegram-light-1440");
      await audit("channels-telegram");
    });

    it("/chat: a refused tool call reads as a sentence, never a code", async () => {
      const c = await env.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      c.setDefaultTimeout(20_000);
      const chat = await newPage(c);
      await chat.goto(`${env.rt.url}/chat`);
      await chat.getByLabel("Message", { exact: true }).fill('/skill adam_calc {"expression":"1+1"}');
      await chat.getByRole("button", { name: "Send" }).click();
      await chat.getByText(/not done\. That tool isn't available in this conversation\./).waitFor();
      const text = await chat.locator("main").innerText();
      expect(text).not.toMatch(/error: [A-Z_]+/);
      expect(text).not.toContain("TOOL_NOT_OFFERED");
      await shot(chat, "i21g-chat-refusal-light-390");
      await audit("chat-refusal-390", chat);
      await c.close();
    });

    it("both themes at both sizes: overview, skill, channels, MCP, owners, logs", async () => {
      for (const scheme of ["dark", "light"] as const) {
        for (const [w, h] of [
          [1440, 900],
          [390, 844],
        ] as const) {
          const cx = await env.browser.newContext({
            viewport: { width: w, height: h },
            colorScheme: scheme,
            ...(w < 500 ? { isMobile: true, hasTouch: true } : {}),
          });
          cx.setDefaultTimeout(15_000);
          const p = await newPage(cx);
          await signIn(p, env.rt.url, OWNER);
          for (const [path, heading, file] of [
            ["/", "Overview", "overview"],
            [`/skills/${adamSkill}`, "adam_calc", "skill"],
            ["/channels", "Channels", "channels"],
            [`/mcp/${serverId}`, "weather", "mcp-detail"],
            ["/owners", "Owners & roles", "owners"],
            ["/logs/invocations", "Invocation log", "invocations"],
            ["/logs/security", "Security events", "security"],
          ] as const) {
            if (scheme === "light" && w === 1440 && file !== "owners" && file !== "security") continue; // taken above
            await nav(p, path, heading);
            await shot(p, `i21g-${file}-${scheme}-${w}`);
            await audit(`${file}-${scheme}-${w}`, p);
            if (w < 500)
              expect(
                await p.evaluate(() => document.documentElement.scrollWidth),
                `${file} ${scheme}`,
              ).toBeLessThanOrEqual(392);
          }
          if (w < 500) {
            await nav(p, "/skills", "Skills");
            await p.getByRole("button", { name: "Approve github_repo_info" }).click();
            const d = p.getByRole("dialog", { name: "Approve github_repo_info?" });
            await d.getByText("api.github.com").first().waitFor();
            await shot(p, `i21g-approve-code-${scheme}-${w}`);
            await audit(`approve-code-${scheme}-${w}`, p);
            await d.getByRole("button", { name: "Cancel" }).click();
          }
          await cx.close();
        }
      }
    });

    it("axe: no serious or critical violations on any touched page in either theme", () => {
      const bad = Object.fromEntries(Object.entries(a11y).filter(([, v]) => v.length > 0));
      expect(bad).toEqual({});
      expect(page.problems.filter((p) => !p.includes("FORBIDDEN"))).toEqual([]);
    });
  },
);
