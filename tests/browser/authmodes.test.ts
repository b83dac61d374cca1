// @vitest-environment node
// AUTH_MODE=both with a Clerk publishable key in the build: Clerk is offered, but its scripts
// can't load (blocked here, as offline) — the built-in owner sign-in must keep working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_CHROMIUM, OWNERS, newPage, shot, signIn, startEnv, type Env } from "./harness";

const CLERK_HOST = "clerk.example.com";
const PUBLISHABLE = `pk_test_${Buffer.from(`${CLERK_HOST}$`).toString("base64")}`;

describe.skipIf(!HAS_CHROMIUM)("AUTH_MODE=both", { timeout: 60_000 }, () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({
      env: { AUTH_MODE: "both", CLERK_JWT_ISSUER_DOMAIN: `https://${CLERK_HOST}` },
      buildEnv: { VITE_CLERK_PUBLISHABLE_KEY: PUBLISHABLE },
    });
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it("offers both sign-ins; a Clerk that can't load falls back to the owner sign-in", async () => {
    const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
    ctx.setDefaultTimeout(20_000);
    let clerkRequests = 0;
    await ctx.route(`https://${CLERK_HOST}/**`, (route) => {
      clerkRequests++;
      return route.abort("internetdisconnected");
    });
    const page = await newPage(ctx);
    const res = await page.goto(`${env.rt.url}/`);
    // The runtime's CSP admits the Clerk origin in this mode (and nothing inline).
    expect(res!.headers()["content-security-policy"]).toContain(`script-src 'self' https://${CLERK_HOST}`);
    await page.getByRole("button", { name: "Sign in with Clerk" }).waitFor();
    await page.getByLabel("Owner key", { exact: true }).waitFor();
    await shot(page, "50-both-sign-in");

    await page.getByRole("button", { name: "Sign in with Clerk" }).click();
    await page.getByText("Clerk isn't responding").waitFor();
    expect(clerkRequests).toBeGreaterThan(0);
    await shot(page, "51-clerk-unavailable");
    await page.getByRole("button", { name: "Use owner key sign-in instead" }).click();
    await signIn(page, env.rt.url, OWNERS[0]);
    await page.getByText("olivia").first().waitFor();
    await ctx.close();
  });
});
