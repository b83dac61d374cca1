// @vitest-environment node
// The agency boundary in SyncBoard, in real Chromium against the embedded runtime: the grant
// matrix (a change persists), sender policy and a pairing code a Telegram sender redeems, and the
// `ask` round trip — a paired sender's tool call waits in Approvals, an owner approves, the call
// runs and the sender gets the answer. Screenshots at 1440×900 and 390×844, axe on every page.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { APPROVAL_PENDING_TEXT } from "../../convex/agent/model";
import { PAIRED_TEXT } from "../../convex/agency/pairing";
import { DENIED_TEXT } from "../../convex/agency/approvals";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, go, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";

const [OWNER, , VIEWER] = OWNERS;
const TG_SECRET = "tg-agency-secret-token-0123";
const TG_BOT = "123456789:AAagencybrowsertestBOTTOKEN012345";
const CALC = '/skill calculator {"expression":"(2+3)*7/2"}';
const WIDE = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

/** A stand-in for api.telegram.org: records what the bot sends. */
class TelegramMock {
  server!: Server;
  base = "";
  sent: string[] = [];
  async start() {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        try {
          const text = (JSON.parse(body) as { text?: string }).text;
          if (typeof text === "string") this.sent.push(text);
        } catch {
          // not a sendMessage call
        }
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ ok: true, result: { message_id: this.sent.length } }));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop() {
    await new Promise((r) => this.server.close(r));
  }
}

if (!HAS_CHROMIUM)
  console.warn("SKIPPED: /usr/bin/chromium is missing (install Debian's chromium package to run the browser suite)");

describe.skipIf(!HAS_CHROMIUM)("SyncBoard: tool access, approvals, pairing", { timeout: 90_000 }, () => {
  const tg = new TelegramMock();
  let env: Env;
  let ctx: BrowserContext;
  let page: Page & { problems: string[] };
  let channelId: Id<"channelConfig">;
  let update = 5000;
  const a11y: Record<string, string[]> = {};

  async function audit(name: string, p: Page = page) {
    a11y[name] = serious(await axe(p)).map(
      (x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).join(", ")})`,
    );
  }
  /** Screenshot + axe at desktop and phone size. */
  async function both(name: string) {
    await shot(page, `agency-${name}-1440`);
    await audit(`${name}-1440`);
    await page.setViewportSize(PHONE);
    await shot(page, `agency-${name}-390`);
    // nothing may stick out sideways on a phone
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await audit(`${name}-390`);
    await page.setViewportSize(WIDE);
  }
  /** A Telegram update from chat 4242, signed with the channel's secret token, as Telegram posts it. */
  async function telegramSays(text: string) {
    const body = JSON.stringify({
      update_id: ++update,
      message: {
        message_id: update,
        date: Math.floor(Date.now() / 1000),
        from: { id: 4242, is_bot: false, first_name: "Ann", username: "ann" },
        chat: { id: 4242, type: "private" },
        text,
      },
    });
    const res = await fetch(`${env.rt.siteUrl}/webhooks/telegram/${channelId}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET },
      body,
    });
    expect(res.status).toBe(200);
  }
  const lastSent = () => tg.sent.at(-1) ?? "";

  beforeAll(async () => {
    await tg.start();
    env = await startEnv({ env: { WARDEN_TELEGRAM_API_BASE: `${tg.base}/telegram` } });
    // Seed through the public API as the owner: an approved calculator the agent may use, and an enabled Telegram channel.
    const { client } = await apiAs(env.rt, OWNER);
    const skillId = await client.mutation(api.skills.registry.create, {
      name: "calculator",
      description: "Adds, multiplies and divides numbers.",
      type: "template",
      config: { template: "calculator" },
      allowedDomains: [],
    } as never);
    await client.mutation(api.skills.registry.approve, { skillId });
    const cfg = await client.query(api.agent.config.get, {});
    await client.mutation(api.agent.config.update, { enabledSkillIds: [...cfg.enabledSkillIds, skillId] });
    channelId = await client.mutation(api.channels.manage.create, {
      platform: "telegram",
      name: "Support bot",
      settings: { botUsername: "warden_support_bot" },
    });
    await client.mutation(api.secrets.manage.setChannelSecret, {
      channelId,
      name: "TELEGRAM_SECRET_TOKEN",
      value: TG_SECRET,
    });
    await client.mutation(api.secrets.manage.setChannelSecret, {
      channelId,
      name: "TELEGRAM_BOT_TOKEN",
      value: TG_BOT,
    });
    await client.mutation(api.channels.manage.enable, { channelId });

    ctx = await env.browser.newContext({ viewport: WIDE });
    ctx.setDefaultTimeout(15_000);
    page = await newPage(ctx);
    await signIn(page, env.rt.url, OWNER);
  }, 150_000);

  afterAll(async () => {
    await env?.close();
    await tg.stop();
  });

  afterEach(async (t) => {
    if (t.task.result?.state === "fail" && page) {
      await shot(page, `agency-fail-${t.task.name.slice(0, 40).replace(/\W+/g, "-")}`).catch(() => undefined);
      console.warn(`page problems: ${page.problems.join("\n")}\nsent: ${JSON.stringify(tg.sent)}`);
      console.warn(
        `page text at failure:\n${(
          await page
            .locator("body")
            .innerText()
            .catch(() => "")
        ).slice(0, 2000)}`,
      );
    }
  });

  it("grant matrix: shows defaults, an owner changes a cell and confirms a risk class, and both persist", async () => {
    await go(page, "Tool access", "Tool access");
    const row = page.locator("tr[data-tool='calculator']");
    const web = row.getByLabel("calculator: Web visitors (/chat)", { exact: true });
    const paired = row.getByLabel("calculator: Paired channel senders", { exact: true });
    await expect.poll(() => web.inputValue()).toBe("deny");
    expect(await paired.inputValue()).toBe("ask");
    expect(await row.getByLabel("calculator: Owners (linked channel identity)", { exact: true }).inputValue()).toBe(
      "allow",
    );
    expect(await row.getByText("set by an owner").count()).toBe(0);
    // the audience key is a tooltip, not text
    expect(await page.locator("th[title='pairedSender']").textContent()).toContain("Paired channel senders");
    expect(await page.locator("main").innerText()).not.toMatch(/skill:calculator|pairedSender/);
    await row.getByText("default", { exact: true }).first().waitFor();
    await shot(page, "agency-tool-access-defaults-1440");

    await row.getByLabel("calculator: Unknown channel senders", { exact: true }).selectOption("ask");
    await row.getByText("Saved for unknown channel senders.").waitFor();
    await row.getByRole("button", { name: "Confirm the risk class of calculator" }).click();
    await row.getByText("confirmed", { exact: true }).waitFor();

    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Tool access" }).waitFor();
    const after = page.locator("tr[data-tool='calculator']");
    await expect
      .poll(() => after.getByLabel("calculator: Unknown channel senders", { exact: true }).inputValue())
      .toBe("ask");
    expect(await after.getByText("set by an owner").count()).toBe(1);
    expect(await after.getByText("confirmed", { exact: true }).count()).toBe(1);
    expect(await after.getByLabel("Risk class of calculator", { exact: true }).inputValue()).toBe("local");
    await both("tool-access");
  });

  it("channel: an owner requires pairing, generates a code once, the sender pairs with /pair CODE and shows as paired", async () => {
    await go(page, "Channels", "Channels");
    const card = page.locator("section.card", { has: page.getByRole("heading", { name: /Support bot/ }) });
    await card.getByLabel("Unknown senders", { exact: true }).selectOption("pairing");
    // the hint follows the stored policy: the server has it before the stranger writes
    await card.getByText("Unknown senders are asked to pair first", { exact: false }).waitFor();
    // a stranger is now asked to pair and never reaches the agent
    await telegramSays("hello");
    await expect.poll(lastSent, { timeout: 20_000 }).toContain("/pair CODE");

    await card.getByRole("button", { name: "Generate pairing code" }).click();
    const command = (await card.getByTestId("pairing-command").textContent()) ?? "";
    expect(command).toMatch(/^\/pair [A-Z2-9]{10}$/);
    await card.getByText(/Valid until \d\d:\d\d \(15 minutes\), for one use/).waitFor();
    await shot(page, "agency-pairing-code-1440");
    await audit("pairing-code");

    await telegramSays(command);
    await expect.poll(lastSent, { timeout: 20_000 }).toBe(PAIRED_TEXT);
    await card.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => card.getByTestId("pairing-command").count()).toBe(0);

    await card.locator("summary", { hasText: "Settings and users" }).click();
    const sender = card.locator("tr", { hasText: "Ann" });
    await sender.getByText("paired", { exact: true }).waitFor();
    await sender.getByRole("button", { name: /^Unpair / }).waitFor();
    await both("channels");
  });

  it("ask round trip: a paired sender's call waits in Approvals; the owner approves; it runs and the sender gets the answer", async () => {
    await telegramSays(CALC);
    await expect.poll(lastSent, { timeout: 20_000 }).toBe(APPROVAL_PENDING_TEXT);
    // the navigation shows one call waiting
    await expect.poll(() => page.getByTestId("pending-count").textContent(), { timeout: 15_000 }).toBe("1");

    await go(page, "Approvals", "Approvals");
    const item = page.locator("li[data-approval='calculator']");
    await item.getByText("A paired channel sender", { exact: true }).waitFor();
    await item.getByText(/The grant for paired channel senders says "ask an owner"/).waitFor();
    expect(await item.innerText()).toContain("(2+3)*7/2");
    await item.getByText(/^in 2[34] h$/).waitFor();
    await both("approvals-pending");

    await item.getByRole("button", { name: "Approve calculator" }).click();
    const confirm = item.getByRole("group", { name: "Confirm running calculator" });
    expect(await confirm.innerText()).toContain("(2+3)*7/2");
    await shot(page, "agency-approvals-confirm-1440");
    await audit("approvals-confirm");
    await confirm.getByRole("button", { name: "Yes, run it" }).click();
    await expect.poll(() => page.locator("li[data-approval]").count()).toBe(0);
    await page.getByText("Nothing waiting").waitFor();
    await expect.poll(() => page.getByTestId("pending-count").count()).toBe(0);

    // the requester's channel got the result
    await expect.poll(lastSent, { timeout: 20_000 }).toContain("17.5");
    expect(lastSent()).toContain("The owner approved calculator");

    // the decided tab has it
    await page.getByRole("button", { name: "Decided" }).click();
    const done = page.locator("tr[data-approval='calculator']");
    await done.getByText("Approved and ran").waitFor();
    await both("approvals-decided");

    // and the requester's thread, as the owner sees it
    await go(page, "Conversations", "Conversations");
    await page.locator("main table a").first().click();
    await page.getByText(/The owner approved calculator\. Result: .*17\.5/).waitFor();
    await shot(page, "agency-conversation-1440");
    await audit("conversation");
    expect(page.problems).toEqual([]);
  });

  it("deny: one click, the sender gets a polite refusal and the call is listed as denied", async () => {
    await telegramSays('/skill calculator {"expression":"6*7"}');
    await expect.poll(lastSent, { timeout: 20_000 }).toBe(APPROVAL_PENDING_TEXT);
    await go(page, "Approvals", "Approvals");
    const item = page.locator("li[data-approval='calculator']");
    await item.getByText("6*7").waitFor();
    await item.getByRole("button", { name: "Deny calculator" }).click();
    await page.getByText("Nothing waiting").waitFor();
    await expect.poll(lastSent, { timeout: 20_000 }).toBe(DENIED_TEXT);
    await page.getByRole("button", { name: "Decided" }).click();
    await page.getByLabel("Outcome", { exact: true }).selectOption("denied");
    await page.locator("tr[data-approval='calculator']").getByText("Denied", { exact: true }).waitFor();
    expect(await page.locator("tr[data-approval='calculator']").innerText()).toContain("6*7");
  });

  it("a viewer sees tool access and sender settings read-only, and no approval inbox", async () => {
    const vctx = await env.browser.newContext({ viewport: WIDE });
    vctx.setDefaultTimeout(15_000);
    const v = await newPage(vctx);
    await signIn(v, env.rt.url, VIEWER);
    await go(v, "Tool access", "Tool access");
    await v.getByText("Only owners can change tool access").waitFor();
    await v.locator("tr[data-tool='calculator']").getByText("Ask an owner").first().waitFor();
    expect(await v.locator("main select").count()).toBe(0);
    await shot(v, "agency-viewer-tool-access-1440");
    await audit("viewer-tool-access", v);
    await go(v, "Approvals", "Approvals");
    await v.getByText("Only admins and owners can see the approval inbox.").waitFor();
    await go(v, "Channels", "Channels");
    await v.getByText("Pairing required", { exact: true }).waitFor();
    await expect.poll(() => v.getByRole("button", { name: "Generate pairing code" }).isDisabled()).toBe(true);
    expect(v.problems).toEqual([]);
    await vctx.close();
  });

  it("has no serious or critical axe violations", () => {
    expect(Object.entries(a11y).filter(([, x]) => x.length > 0)).toEqual([]);
  });
});
