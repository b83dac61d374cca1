// @vitest-environment node
// Issue 21 items 8 and 10 in Chromium: a streamed reply shows in /chat while the provider is still
// sending (a mock OpenAI-compatible SSE server on loopback, the real AI SDK path); save toasts;
// the unread-notification badge in the navigation; sign-in shared across tabs of one browser
// (a new tab is signed in, sign-out in one tab signs out all). Screenshots + axe.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BrowserContext, Page } from "playwright-core";
import { api } from "../../convex/_generated/api";
import { HAS_CHROMIUM, OWNERS, apiAs, axe, go, newPage, serious, shot, signIn, startEnv, type Env } from "./harness";
import { replyChat } from "../agent/chatMock";

const [OWNER] = OWNERS;
const KEY = "browser-stream-key-3c9d1f";
const ANSWER = "Streaming works: this answer arrives a few words at a time, while the model is still writing it.";

describe.skipIf(!HAS_CHROMIUM)(
  "live state: streamed replies, toasts, badge, shared sign-in",
  { timeout: 90_000 },
  () => {
    let env: Env;
    let llm: Server;
    let release: () => void = () => undefined;
    let ctx: BrowserContext;
    let page: Page & { problems: string[] };
    const a11y: Record<string, string[]> = {};
    const audit = async (name: string, p: Page) => {
      a11y[name] = serious(await axe(p)).map((x) => `${x.id}: ${x.help}`);
    };

    beforeAll(async () => {
      llm = createServer((req, res) => {
        let raw = "";
        req.on("data", (c) => (raw += c));
        req.on("end", () => {
          const held = new Promise<void>((r) => (release = r));
          void replyChat(res, JSON.parse(raw || "{}"), { content: ANSWER }, "stop", {
            chunkChars: 6,
            gate: (n) => (n === 5 ? held : undefined),
          });
        });
      });
      await new Promise<void>((r) => llm.listen(0, "127.0.0.1", r));
      const port = (llm.address() as AddressInfo).port;
      env = await startEnv({
        env: { WARDEN_DEV: "1", WARDEN_MODEL_KEY_LIVE: KEY, WARDEN_MODEL_KEY_LIVE_HOSTS: `127.0.0.1:${port}` },
      });
      const { client } = await apiAs(env.rt, OWNER);
      const pid = await client.mutation(api.agent.providers.create, {
        label: "Local SSE",
        kind: "openai-compatible",
        baseUrl: `http://127.0.0.1:${port}/v1`,
        apiKeyEnvVar: "WARDEN_MODEL_KEY_LIVE",
      });
      await client.mutation(api.agent.config.update, { providerId: pid, model: "mock-1", name: "Juniper" });
      ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
      ctx.setDefaultTimeout(15_000);
      page = await newPage(ctx);
    }, 150_000);

    afterAll(async () => {
      release();
      await env?.close();
      await new Promise<void>((r) => llm?.close(() => r()));
    });

    afterEach(async (t) => {
      if (t.task.result?.state === "fail")
        await shot(page, `fail-live-${t.task.name.slice(0, 30).replace(/\W+/g, "-")}`).catch(() => undefined);
    });

    it("/chat shows the answer while it is generated, then the whole answer", async () => {
      const visitor = await env.browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      });
      const chat = await newPage(visitor);
      await chat.goto(`${env.rt.url}/chat`);
      await chat.getByLabel("Message", { exact: true }).fill("Does streaming work?");
      await chat.getByRole("button", { name: "Send" }).click();
      const streaming = chat.locator('.msg-assistant[data-status="streaming"]');
      await streaming.waitFor();
      const partial = (await streaming.innerText())
        .replace(/^Assistant:\s*/, "")
        .replace(/\s*▍$/, "")
        .trim();
      expect(partial.length).toBeGreaterThan(0);
      expect(ANSWER.startsWith(partial)).toBe(true);
      expect(partial.length).toBeLessThan(ANSWER.length);
      await shot(chat, "i21-chat-streaming-light-390");
      await audit("chat-streaming", chat);
      release();
      const done = chat.locator('.msg-assistant[data-status="done"]');
      await done.waitFor();
      expect(await done.innerText()).toContain(ANSWER);
      expect(chat.problems).toEqual([]);
      await visitor.close();
    });

    it("the navigation shows unread notifications; a save shows a toast", async () => {
      const { client } = await apiAs(env.rt, OWNER);
      const ws = await client.query(api.workspaces.manage.current, {});
      // 11 denials from one source → an abuse notification (unread)
      for (let i = 0; i < 11; i++)
        await env.rt.engine.callSystem("security/checker:logResult", {
          entry: {
            workspaceId: ws.workspaceId,
            targetKind: "skill",
            targetName: "x",
            callerKind: "mcp-client",
            callerId: "t1",
            code: "SKILL_NOT_APPROVED",
            allowed: false,
            durationMs: 1,
            inputBytes: 1,
            outputBytes: 0,
          },
        });
      await signIn(page, env.rt.url, OWNER);
      const nav = page.getByRole("navigation", { name: "SyncBoard" });
      await nav.getByTestId("unread-count").waitFor();
      expect(await nav.getByTestId("unread-count").innerText()).toBe("1");
      // the link keeps its name; the count is its description
      await nav.getByRole("link", { name: "Overview", exact: true }).waitFor();
      await page
        .getByRole("button", { name: /^Mark as read/ })
        .first()
        .click();
      await page.getByTestId("toast").filter({ hasText: "Marked as read." }).waitFor();
      await expect.poll(() => nav.getByTestId("unread-count").count()).toBe(0);

      await go(page, "Agent", "Agent");
      await page.getByRole("button", { name: "Save agent" }).click();
      const toast = page.getByTestId("toast").filter({ hasText: "Saved." });
      await toast.waitFor();
      await shot(page, "i21-toast-light-1440");
      await audit("agent-toast", page);
      await toast.getByRole("button", { name: "Dismiss" }).click();
      await expect.poll(() => toast.count()).toBe(0);
    });

    it("a new tab of the same browser is signed in; signing out in it signs out every tab", async () => {
      const tab2 = await newPage(ctx);
      await tab2.goto(`${env.rt.url}/`);
      await tab2.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
      // the token lives in each tab's sessionStorage only
      expect(await tab2.evaluate(() => Object.keys(localStorage).filter((k) => /token|auth/i.test(k)))).toEqual([]);
      await tab2.getByRole("button", { name: "Sign out" }).click();
      await tab2.getByLabel("Owner key", { exact: true }).waitFor();
      await page.getByLabel("Owner key", { exact: true }).waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem("warden.ownerToken"))).toBeNull();
      // a fresh browser (another context) is not signed in by these tabs
      const other = await env.browser.newContext();
      const p3 = await newPage(other);
      await p3.goto(`${env.rt.url}/`);
      await p3.getByLabel("Owner key", { exact: true }).waitFor();
      await other.close();
      await tab2.close();
    });

    it("axe: no serious or critical violations", () => {
      expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
    });
  },
);
