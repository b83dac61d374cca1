// @vitest-environment node
// Issue 21 items 1, 2, 3 and 9 in Chromium: log search / range / filters / export, drill-down from
// the overview, attribution (token names, no internal ids or keys), abuse notification with its
// action, dark mode (system + toggle), unique card headings, viewer forms read-only, /chat agent
// name. Screenshots of every touched page in both themes at 1440×900 and 390×844; axe on each.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, go, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";

const [OWNER, , VIEWER] = OWNERS;

describe.skipIf(!HAS_CHROMIUM)(
  "SyncBoard: investigate, follow, attribute; themes and polish",
  { timeout: 90_000 },
  () => {
    let env: Env;
    let ctx: BrowserContext;
    let page: Page & { problems: string[] };
    let tokenId: Id<"mcpClientTokens">;
    const a11y: Record<string, string[]> = {};

    async function audit(name: string, p: Page = page) {
      a11y[name] = serious(await axe(p)).map(
        (x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).join(", ")})`,
      );
    }

    beforeAll(async () => {
      env = await startEnv();
      const { client } = await apiAs(env.rt, OWNER);
      const ws = await client.query(api.workspaces.manage.current, {});
      await client.mutation(api.agent.config.update, { name: "Juniper" });
      const skillId = await client.mutation(api.skills.registry.create, {
        name: "calc_tool",
        description: "A calculator.",
        type: "template",
        config: { template: "calculator" },
        allowedDomains: [],
      });
      tokenId = (
        await client.mutation(api.mcp.inbound.tokens.mint, { name: "reporting-bot", toolScopes: [], expiresInDays: 30 })
      ).tokenId;
      const entry = (allowed: boolean, code: string, callerKind: string, callerId?: string) => ({
        workspaceId: ws.workspaceId,
        targetKind: "skill" as const,
        skillId,
        targetName: "calc_tool",
        callerKind,
        callerId,
        code,
        allowed,
        durationMs: 3,
        inputBytes: 12,
        outputBytes: allowed ? 4 : 0,
        inputPreview: '{"expr":"2+2"}',
        outputPreview: allowed ? "4" : "",
      });
      for (let i = 0; i < 3; i++)
        await env.rt.engine.callSystem("security/checker:logResult", { entry: entry(true, "OK", "owner") });
      // 11 refusals from one MCP client: past the abuse threshold → one ABUSE_ALERT + a notification naming it.
      for (let i = 0; i < 11; i++)
        await env.rt.engine.callSystem("security/checker:logResult", {
          entry: entry(false, "SKILL_NOT_APPROVED", "mcp-client", tokenId),
        });
      ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
      ctx.setDefaultTimeout(15_000);
      page = await newPage(ctx);
    }, 150_000);

    afterAll(async () => {
      await env?.close();
    });

    afterEach(async (t) => {
      if (t.task.result?.state === "fail") {
        await shot(page, `fail-investigate-${t.task.name.slice(0, 30).replace(/\W+/g, "-")}`).catch(() => undefined);
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

    it("overview: range picker drives the chart and totals; every card has its own heading id", async () => {
      await signIn(page, env.rt.url, OWNER);
      await page.getByRole("heading", { name: "Invocations and denials, last 24 hours" }).waitFor();
      const dupes = await page.evaluate(() => {
        const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
        return ids.filter((id, i) => ids.indexOf(id) !== i);
      });
      expect(dupes).toEqual([]);
      // Each card is announced with its own title.
      const names = await page
        .locator("section.card[aria-labelledby]")
        .evaluateAll((els) => els.map((e) => document.getElementById(e.getAttribute("aria-labelledby")!)?.textContent));
      expect(new Set(names).size).toBe(names.length);
      await page.getByLabel("Time range").selectOption("7d");
      await page.getByRole("heading", { name: "Invocations and denials, last 7 days" }).waitFor();
      expect(page.url()).toContain("range=7d");
      await expect.poll(() => page.getByRole("link", { name: /^Denied by the checker: 11\./ }).count()).toBe(1);
      await page.getByLabel("Time range").selectOption("custom");
      await page.getByLabel("From").waitFor();
      await page.getByLabel("Time range").selectOption("24h");
      await page.getByRole("heading", { name: "Invocations and denials, last 24 hours" }).waitFor();
    });

    it("abuse notification names the MCP client and offers to revoke its token", async () => {
      const note = page.locator("li").filter({ hasText: "Repeated denials from one source" });
      await note.getByRole("link", { name: "MCP client “reporting-bot”", exact: true }).waitFor();
      // no internal ids in the notification
      expect(await note.innerText()).not.toMatch(/[a-z0-9]{28,}/);
      await shot(page, "i21-overview-light-1440");
      await audit("overview-light");
    });

    it("drill-down: the denied stat opens the filtered invocation log, with attribution", async () => {
      await page.getByRole("link", { name: /^Denied by the checker: 11\./ }).click();
      await page.getByRole("heading", { level: 1, name: "Invocation log" }).waitFor();
      expect(page.url()).toMatch(/denied=1/);
      const rows = page.locator("table tbody tr");
      await expect.poll(() => rows.count()).toBe(11);
      await rows.first().getByRole("link", { name: "MCP client “reporting-bot”", exact: true }).waitFor();
      await rows.first().getByRole("link", { name: "calc_tool" }).waitFor(); // the skill's page
      expect(await page.locator("main").innerText()).not.toContain("mcp-client:");
      // Search + code group narrow the list; the chips say what is applied.
      await page.getByRole("button", { name: "All", exact: true }).click();
      await expect.poll(() => rows.count()).toBe(14);
      await page.getByLabel("Code group").selectOption("ok");
      await expect.poll(() => rows.count()).toBe(3);
      await page.getByText("Code group:").waitFor();
      await page.getByRole("button", { name: "Clear all" }).click();
      await page.getByLabel("Search", { exact: true }).fill("SKILL_NOT_APPROVED");
      await expect.poll(() => rows.count()).toBe(11);
      await page.getByLabel("Time range").selectOption("1h");
      await expect.poll(() => rows.count()).toBe(11);
      await shot(page, "i21-invocations-light-1440");
      await audit("invocations-light");
    });

    it("exports the filtered invocation log as CSV and JSON lines", async () => {
      const [csv] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export CSV" }).click(),
      ]);
      const text = readFileSync((await csv.path())!, "utf8");
      const lines = text.trim().split(/\r\n/);
      expect(lines[0]).toContain("caller");
      expect(lines).toHaveLength(12);
      expect(text).toContain("reporting-bot");
      const [jl] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export JSON lines" }).click(),
      ]);
      const objs = readFileSync((await jl.path())!, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(objs).toHaveLength(11);
      expect(objs.every((o) => o.code === "SKILL_NOT_APPROVED")).toBe(true);
    });

    it("security events show the source by name and link to the source's other events", async () => {
      await go(page, "Security events", "Security events");
      const rows = page.locator("table tbody tr");
      await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(11);
      await rows.first().getByRole("link", { name: "MCP client “reporting-bot”", exact: true }).click();
      await expect.poll(() => page.url()).toContain("source=");
      await page.getByText("Showing events from").waitFor();
      await expect.poll(() => rows.count()).toBe(12); // 11 denials + the alert
      await page.getByLabel("Code group").selectOption("limits");
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().getByText("ABUSE_ALERT").waitFor();
      await shot(page, "i21-security-light-1440");
      await audit("security-light");
    });

    it("revokes the token from the overview notification; the audit log names it", async () => {
      await go(page, "Overview", "Overview");
      const note = page.locator("li").filter({ hasText: "Repeated denials from one source" });
      await note.getByRole("button", { name: "Revoke token: MCP client “reporting-bot”" }).click();
      await note.getByRole("button", { name: "Yes, revoke token" }).click();
      await note.getByText("token revoked").waitFor();
      const { client } = await apiAs(env.rt, OWNER);
      const toks = await client.query(api.mcp.inbound.tokens.list, {});
      expect(JSON.stringify(toks)).toContain("revoked");
      await go(page, "Audit log", "Audit log");
      await page.getByLabel("Action").fill("mcp.token");
      await page.getByLabel("Action").press("Enter");
      const rows = page.locator("table tbody tr");
      await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2); // mint + revoke
      await page.getByText("mcp.token.revoke").waitFor();
      await shot(page, "i21-audit-light-1440");
      await audit("audit-light");
    });

    it("activity and conversations have the same investigation bar", async () => {
      await go(page, "Activity", "Activity");
      await page.getByRole("search", { name: "Filter this log" }).waitFor();
      await page.getByLabel("Kind").waitFor();
      await shot(page, "i21-activity-light-1440");
      await audit("activity-light");
      await go(page, "Conversations", "Conversations");
      await page.getByRole("search", { name: "Filter this log" }).waitFor();
      await page.getByLabel("Source").selectOption("web");
      await shot(page, "i21-conversations-light-1440");
      await audit("conversations-light");
    });

    it("dark mode: the toggle switches, the system preference is followed, axe passes in both", async () => {
      await page.getByRole("button", { name: "Dark mode" }).click();
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
      for (const [label, heading, file] of [
        ["Overview", "Overview", "overview"],
        ["Invocation log", "Invocation log", "invocations"],
        ["Security events", "Security events", "security"],
        ["Audit log", "Audit log", "audit"],
        ["Activity", "Activity", "activity"],
        ["Conversations", "Conversations", "conversations"],
        ["Rate limits", "Rate limits", "limits"],
        ["Agent", "Agent", "agent"],
      ] as const) {
        await go(page, label, heading);
        await shot(page, `i21-${file}-dark-1440`);
        await audit(`${file}-dark`);
      }
      await page.getByRole("button", { name: "Dark mode" }).click();
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
      await page.evaluate(() => localStorage.removeItem("warden.theme"));

      // A phone that prefers dark: no toggle needed.
      const phone = await env.browser.newContext({
        viewport: { width: 390, height: 844 },
        colorScheme: "dark",
        isMobile: true,
        hasTouch: true,
      });
      phone.setDefaultTimeout(15_000);
      const p = await newPage(phone);
      await signIn(p, env.rt.url, OWNER);
      expect(await p.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
      for (const [path, heading, file] of [
        ["/", "Overview", "overview"],
        ["/logs/invocations", "Invocation log", "invocations"],
        ["/logs/security", "Security events", "security"],
        ["/logs/audit", "Audit log", "audit"],
        ["/activity", "Activity", "activity"],
        ["/conversations", "Conversations", "conversations"],
      ] as const) {
        await p.evaluate((to) => {
          window.history.pushState(null, "", to);
          window.dispatchEvent(new Event("warden:navigate"));
        }, path);
        await p.getByRole("heading", { level: 1, name: heading }).waitFor();
        await shot(p, `i21-${file}-dark-390`);
        await audit(`${file}-dark-390`, p);
        // nothing wider than the screen
        expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(392);
      }
      await phone.close();
      const light = await env.browser.newContext({
        viewport: { width: 390, height: 844 },
        colorScheme: "light",
        isMobile: true,
        hasTouch: true,
      });
      light.setDefaultTimeout(15_000);
      const l = await newPage(light);
      await signIn(l, env.rt.url, OWNER);
      for (const [path, heading, file] of [
        ["/", "Overview", "overview"],
        ["/logs/invocations", "Invocation log", "invocations"],
        ["/logs/security", "Security events", "security"],
        ["/logs/audit", "Audit log", "audit"],
      ] as const) {
        await l.evaluate((to) => {
          window.history.pushState(null, "", to);
          window.dispatchEvent(new Event("warden:navigate"));
        }, path);
        await l.getByRole("heading", { level: 1, name: heading }).waitFor();
        await shot(l, `i21-${file}-light-390`);
        await audit(`${file}-light-390`, l);
        expect(await l.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(392);
      }
      await light.close();
    });

    it("viewers see admin forms read-only: no dead submit buttons, no create forms", async () => {
      const vctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
      vctx.setDefaultTimeout(15_000);
      const v = await newPage(vctx);
      await signIn(v, env.rt.url, VIEWER);
      await go(v, "Agent", "Agent");
      await v.getByText("Only owners can change the agent.").waitFor();
      expect(await v.getByRole("button", { name: /^Save/ }).count()).toBe(0);
      await go(v, "Rate limits", "Rate limits");
      await v.getByRole("heading", { level: 1, name: "Rate limits" }).waitFor();
      await v.locator("table tbody tr").first().waitFor();
      expect(await v.getByRole("button", { name: "Save" }).count()).toBe(0);
      // human names, the internal key only as a tooltip
      expect(await v.locator("main").innerText()).not.toContain("chatPerSession");
      await go(v, "Model providers", "Model providers");
      expect(await v.getByRole("heading", { name: "Add a provider" }).count()).toBe(0);
      await go(v, "Channels", "Channels");
      expect(await v.getByRole("heading", { name: "Add a channel" }).count()).toBe(0);
      await go(v, "Invocation log", "Invocation log");
      await v.locator("table tbody tr").first().waitFor();
      await shot(v, "i21-viewer-invocations-light-1440");
      await audit("viewer-invocations", v);
      await vctx.close();
    });

    it("/chat shows the agent's name and a labelled conversations button", async () => {
      const c = await env.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      c.setDefaultTimeout(15_000);
      const chat = await newPage(c);
      await chat.goto(`${env.rt.url}/chat`);
      await chat.getByText("with Juniper").waitFor();
      await chat.getByRole("button", { name: "Conversations", exact: true }).waitFor();
      await shot(chat, "i21-chat-light-390");
      await audit("chat-light-390", chat);
      await chat.getByRole("button", { name: "Conversations", exact: true }).click();
      await chat.getByRole("button", { name: "Dark mode" }).click();
      await chat.getByRole("button", { name: "Close" }).click();
      await shot(chat, "i21-chat-dark-390");
      await audit("chat-dark-390", chat);
      await c.close();
      const d = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: "dark" });
      const desk = await newPage(d);
      await desk.goto(`${env.rt.url}/chat`);
      await desk.getByTestId("agent-name").getByText("Juniper").waitFor();
      await shot(desk, "i21-chat-dark-1440");
      await audit("chat-dark-1440", desk);
      await d.close();
    });

    it("axe: no serious or critical violations on any page in either theme", () => {
      const bad = Object.fromEntries(Object.entries(a11y).filter(([, v]) => v.length > 0));
      expect(bad).toEqual({});
      expect(page.problems.filter((p) => !p.includes("FORBIDDEN"))).toEqual([]);
    });
  },
);
