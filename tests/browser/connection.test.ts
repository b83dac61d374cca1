// @vitest-environment node
// Connection loss in Chromium (issue 20.3): when the runtime stops, SyncBoard and /chat show a
// "reconnecting" banner and /chat refuses to send (nothing is queued silently); after a restart on
// the same ports the banner goes away and sending works again.
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { startRuntime, type Runtime } from "../../runtime/index.js";
import { HAS_CHROMIUM, OWNERS, REPO, newPage, shot, signIn, startEnv, type Env } from "./harness";

describe.skipIf(!HAS_CHROMIUM)("connection banner", { timeout: 90_000 }, () => {
  let env: Env | null = null;
  let second: Runtime | null = null;
  afterAll(async () => {
    await second?.stop();
    await env?.close();
  });

  it("shows while the server is down, blocks chat sends, and clears after reconnect", async () => {
    env = await startEnv();
    const ctx = await env.browser.newContext({ viewport: { width: 1100, height: 800 } });
    ctx.setDefaultTimeout(15_000);
    const chat = await newPage(ctx);
    await chat.goto(`${env.rt.url}/chat`);
    const box = chat.getByLabel("Message", { exact: true });
    await box.fill("sent after the reconnect");
    const send = chat.getByRole("button", { name: "Send", exact: true });
    expect(await send.isEnabled()).toBe(true);
    const board = await newPage(ctx);
    await signIn(board, env.rt.url, OWNERS[0]);
    expect(await board.getByTestId("connection-lost").count()).toBe(0);

    const { url, siteUrl, dataDir } = env.rt;
    await env.rt.stop();
    for (const p of [chat, board]) await p.getByTestId("connection-lost").waitFor();
    expect(await board.getByRole("status").filter({ hasText: "Connection lost" }).count()).toBe(1);
    await chat.getByTestId("composer-offline").waitFor();
    expect(await send.isDisabled()).toBe(true);
    await shot(board, "connection-lost-board");

    second = await startRuntime({
      convexDir: join(REPO, "convex"),
      dataDir,
      distDir: env.distDir,
      port: Number(new URL(url).port),
      sitePort: Number(new URL(siteUrl).port),
      quiet: true,
    });
    // The client backs off between attempts; give it time.
    for (const p of [chat, board])
      await p.getByTestId("connection-lost").waitFor({ state: "detached", timeout: 40_000 });
    await send.click();
    await chat.locator(".msg-user", { hasText: "sent after the reconnect" }).waitFor();
    expect(chat.problems.filter((p) => p.startsWith("pageerror"))).toEqual([]);
  });
});
