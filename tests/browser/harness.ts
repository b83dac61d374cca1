// Browser-test helpers (not a test file): build SyncBoard, start the embedded runtime with seeded
// owners, drive Debian Chromium through playwright-core, save screenshots, run axe-core.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ConvexHttpClient } from "convex/browser";
import { startRuntime, type Runtime } from "../../runtime/index.js";
import { hashPassword } from "../../convex/lib/password";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const CHROMIUM = "/usr/bin/chromium";
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const SHOTS = join(REPO, "test-output", "screenshots");

// vitest.config.ts injects fake deployment env for convex-test suites; the runtime derives these
// from its own ports and data directory.
const RUNTIME_DERIVED = [
  "AUTH_MODE",
  "WARDEN_AUTH_ISSUER",
  "CONVEX_SITE_URL",
  "CONVEX_CLOUD_URL",
  "WARDEN_ALLOWED_ORIGINS",
  "SKILL_SECRET_ENCRYPTION_KEY",
  "WARDEN_AUTH_PRIVATE_JWK",
  "CLERK_JWT_ISSUER_DOMAIN",
  "WARDEN_PUBLIC_BASE_URL",
];

/** `vite build` into a fresh temp folder (a child process: the same command CI and `npm run build` use). */
export function buildUi(env: Record<string, string | undefined> = process.env): string {
  const outDir = mkdtempSync(join(tmpdir(), "warden-ui-"));
  const r = spawnSync(
    process.execPath,
    [
      join(REPO, "node_modules", "vite", "bin", "vite.js"),
      "build",
      "--outDir",
      outDir,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    {
      cwd: REPO,
      // vitest sets NODE_ENV=test, which would make Vite emit React's development build.
      env: { ...env, NODE_ENV: "production" } as NodeJS.ProcessEnv,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  return outDir;
}

export type Owner = { ownerKey: string; password: string; role: "owner" | "admin" | "viewer" };

export const OWNERS: Owner[] = [
  { ownerKey: "olivia", password: "correct-horse-battery-olivia", role: "owner" },
  { ownerKey: "adam", password: "correct-horse-battery-adam", role: "admin" },
  { ownerKey: "vera", password: "correct-horse-battery-vera", role: "viewer" },
];

export type Env = {
  rt: Runtime;
  distDir: string;
  browser: Browser;
  close(): Promise<void>;
};

export async function startEnv(
  opts: { env?: Record<string, string>; buildEnv?: Record<string, string> } = {},
): Promise<Env> {
  for (const k of RUNTIME_DERIVED) delete process.env[k];
  const distDir = buildUi({ ...process.env, ...opts.buildEnv });
  const dataDir = mkdtempSync(join(tmpdir(), "warden-e2e-"));
  // Owners are seeded below with known passwords; skip the random first-owner bootstrap.
  writeFileSync(join(dataDir, "owner-bootstrap.done"), "seeded by the browser tests");
  const rt = await startRuntime({
    convexDir: join(REPO, "convex"),
    dataDir,
    distDir,
    port: 0,
    quiet: true,
    env: opts.env,
  });
  const owners = await Promise.all(
    OWNERS.map(async (o) => ({
      ownerKey: o.ownerKey,
      passwordHash: await hashPassword(o.password),
      role: o.role,
      active: true,
    })),
  );
  await rt.engine.callSystem("owners/admin:syncOwners", { owners });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    rt,
    distDir,
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      await rt.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(distDir, { recursive: true, force: true });
    },
  };
}

/** A page that records CSP violations and page errors. */
export async function newPage(ctx: BrowserContext): Promise<Page & { problems: string[] }> {
  const page = (await ctx.newPage()) as Page & { problems: string[] };
  page.problems = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) page.problems.push(`csp: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  return page;
}

export async function signIn(page: Page, url: string, o: Owner) {
  await page.goto(`${url}/`);
  await page.getByLabel("Owner key", { exact: true }).fill(o.ownerKey);
  await page.getByLabel("Password", { exact: true }).fill(o.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
}

/** Client-side navigation through the sidebar (keeps the signed-in session and socket). */
export async function go(page: Page, label: string, heading: string) {
  await page.getByRole("navigation", { name: "SyncBoard" }).getByRole("link", { name: label, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

export async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  // Let subscriptions settle (loading spinners gone) before the picture.
  await page
    .waitForFunction(() => !document.querySelector('[role="status"].loading'), undefined, { timeout: 5000 })
    .catch(() => undefined);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const AXE = readFileSync(join(REPO, "node_modules", "axe-core", "axe.min.js"), "utf8");

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] };

/**
 * axe-core on the current page. Injected with evaluate (DevTools), not addScriptTag: the page's
 * CSP (script-src 'self') rightly refuses an injected inline script.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  const res = (await page.evaluate(async () => {
    const r = await (window as any).axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n: any) => ({ target: n.target })),
    }));
  })) as AxeViolation[];
  return res;
}

export function serious(v: AxeViolation[]) {
  return v.filter((x) => x.impact === "serious" || x.impact === "critical");
}

/** An HTTP client signed in as an owner (for setup and for "forced" calls a UI would not make). */
export async function apiAs(rt: Runtime, o: Owner): Promise<{ client: ConvexHttpClient; token: string }> {
  const res = await fetch(`${rt.siteUrl}/auth/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ownerKey: o.ownerKey, password: o.password }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const { token } = (await res.json()) as { token: string };
  const client = new ConvexHttpClient(rt.url);
  client.setAuth(token);
  return { client, token };
}
