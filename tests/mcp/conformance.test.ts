// @vitest-environment node
/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, pinned) against `/mcp`
 * of the embedded runtime, for every server scenario that applies to Warden's surface. A scenario
 * fails when any of its checks is FAILURE or WARNING (the suite's own baseline rule); the test
 * fails on a failure not listed in conformance/baseline.json, and on a listed one that now
 * passes (stale baseline).
 *
 * The suite's client sends no Authorization header: a loopback proxy in front of `/mcp` adds the
 * bearer token of a client minted for the run, and passes every other header (Host and Origin
 * included) through unchanged. The proxy's origin is configured as an allowed origin, as an
 * operator serving Warden at that address would.
 *
 * Node 20 has no fs.globSync, which the suite's CLI imports: conformance/register.mjs installs a
 * resolve hook giving it conformance/fs-shim.mjs (nothing happens on Node 22+).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../convex/_generated/api";
import { hashPassword } from "../../convex/lib/password";
import { startRuntime, type Runtime } from "../../runtime/index.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const HERE = join(REPO, "tests", "mcp", "conformance");
const CLI = join(REPO, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");

/** Server scenarios that apply: Warden's /mcp implements initialize, ping and tools (no resources, prompts, logging, completion, sampling or elicitation). */
export const SCENARIOS = [
  "server-initialize",
  "ping",
  "tools-list",
  "tools-call-simple-text",
  "tools-call-image",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-mixed-content",
  "tools-call-with-logging",
  "tools-call-error",
  "tools-call-with-progress",
  "tools-call-sampling",
  "tools-call-elicitation",
  "json-schema-2020-12",
  "server-sse-polling",
  "server-sse-multiple-streams",
  "dns-rebinding-protection",
];
const BASELINE: Record<string, string> = JSON.parse(readFileSync(join(HERE, "baseline.json"), "utf8")).server;

// The runtime derives these from its own ports (vitest.config.ts injects fake ones for convex-test).
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
const OWNER = { ownerKey: "conformance", password: "correct-horse-battery-conformance" };

type Check = { id: string; status: string; errorMessage?: string };
type Outcome = { scenario: string; passed: boolean; failing: string[] };

function runScenario(scenario: string, url: string, outDir: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const dir = join(outDir, scenario);
    execFile(
      process.execPath,
      ["--import", join(HERE, "register.mjs"), CLI, "server", "--url", url, "--scenario", scenario, "-o", dir],
      { cwd: REPO, timeout: 45_000, env: { ...process.env, NO_COLOR: "1" } },
      () => {
        // The CLI writes a checks.json somewhere under <dir>; a missing file is a failure.
        let checks: Check[] = [];
        try {
          const file = readdirSync(dir, { recursive: true })
            .map(String)
            .find((p) => p.endsWith("checks.json"));
          checks = JSON.parse(readFileSync(join(dir, file!), "utf8"));
        } catch {
          checks = [{ id: "no-result", status: "FAILURE", errorMessage: "the suite wrote no checks.json" }];
        }
        const failing = checks
          .filter((c) => c.status === "FAILURE" || c.status === "WARNING")
          .map((c) => `${c.id}: ${c.status} ${c.errorMessage ?? ""}`.trim());
        resolve({ scenario, passed: failing.length === 0 && checks.length > 0, failing });
      },
    );
  });
}

describe("MCP conformance suite (server scenarios) against /mcp of the embedded runtime", () => {
  let rt: Runtime;
  let proxy: http.Server;
  let dataDir: string;
  let outDir: string;
  let proxyUrl: string;
  let token = "";

  beforeAll(async () => {
    for (const k of RUNTIME_DERIVED) delete process.env[k];
    // The proxy listens first: its origin is the address the suite reaches Warden at.
    const upstream: { url?: URL } = {};
    proxy = http.createServer((req, res) => {
      const headers = { ...req.headers, authorization: `Bearer ${token}` };
      const up = http.request(
        { host: upstream.url!.hostname, port: upstream.url!.port, method: req.method, path: req.url, headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;

    dataDir = mkdtempSync(join(tmpdir(), "warden-conformance-"));
    outDir = mkdtempSync(join(tmpdir(), "warden-conformance-out-"));
    writeFileSync(join(dataDir, "owner-bootstrap.done"), "seeded by the conformance test");
    rt = await startRuntime({
      convexDir: join(REPO, "convex"),
      dataDir,
      port: 0,
      quiet: true,
      env: { WARDEN_ALLOWED_ORIGINS: proxyUrl },
    });
    upstream.url = new URL(rt.siteUrl);
    await rt.engine.callSystem("owners/admin:syncOwners", {
      owners: [
        { ownerKey: OWNER.ownerKey, passwordHash: await hashPassword(OWNER.password), role: "owner", active: true },
      ],
    });
    const signin = await fetch(`${rt.siteUrl}/auth/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(OWNER),
    });
    const owner = new ConvexHttpClient(rt.url);
    owner.setAuth(((await signin.json()) as { token: string }).token);
    const skillId = await owner.mutation(api.skills.registry.create, {
      name: "calc",
      description: "calc skill",
      type: "template",
      config: { template: "calculator" },
      allowedDomains: [],
    } as any);
    await owner.mutation(api.skills.registry.approve, { skillId });
    // Every scenario opens a session from 127.0.0.1: the operator's per-IP and per-client limits for this workspace.
    await owner.mutation(api.limits.manage.set, { name: "mcpSessionsPerIp", rate: 1000, periodMs: 60_000 });
    await owner.mutation(api.limits.manage.set, { name: "mcpPerClient", rate: 5000, periodMs: 60_000 });
    token = (
      await owner.mutation(api.mcp.inbound.tokens.mint, { name: "conformance", toolScopes: ["calc"], expiresInDays: 1 })
    ).token;
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => proxy?.close(r));
    await rt?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  test("the baseline names only scenarios that run, each with its reason; none of the core ones", () => {
    for (const [name, reason] of Object.entries(BASELINE)) {
      expect(SCENARIOS).toContain(name);
      expect(reason.length).toBeGreaterThan(20);
    }
    // What Warden's /mcp is for may never be baselined away.
    for (const core of [
      "server-initialize",
      "ping",
      "tools-list",
      "tools-call-simple-text",
      "tools-call-error",
      "dns-rebinding-protection",
    ])
      expect(BASELINE[core]).toBeUndefined();
  });

  test("every applicable scenario passes or is baselined with its reason", async () => {
    const url = `${proxyUrl}/mcp`;
    const outcomes: Outcome[] = [];
    // two at a time: the runtime and the suite share two cores
    for (let i = 0; i < SCENARIOS.length; i += 2)
      outcomes.push(...(await Promise.all(SCENARIOS.slice(i, i + 2).map((s) => runScenario(s, url, outDir)))));
    const table = outcomes.map(
      (o) =>
        `${o.scenario.padEnd(30)} ${o.passed ? "pass" : BASELINE[o.scenario] ? `baselined: ${BASELINE[o.scenario]}` : `FAIL ${o.failing.join("; ")}`}`,
    );
    console.log(`conformance (server):\n${table.join("\n")}`);
    const unexpected = outcomes
      .filter((o) => !o.passed && !BASELINE[o.scenario])
      .map((o) => `${o.scenario}: ${o.failing.join("; ")}`);
    const stale = outcomes.filter((o) => o.passed && BASELINE[o.scenario]).map((o) => o.scenario);
    expect(unexpected, "failures not in conformance/baseline.json").toEqual([]);
    expect(stale, "baselined scenarios that now pass: remove them from conformance/baseline.json").toEqual([]);
  }, 120_000);
});
