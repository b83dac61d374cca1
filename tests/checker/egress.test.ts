// @vitest-environment node
/**
 * Skills that reach the network, end to end through the checker and the Node executor, against a
 * local server on 127.0.0.1 (safeFetch's test-only loopback override; see egressMock.ts).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import { api, internal } from "../../convex/_generated/api";
import { expectCode } from "../harness";
import {
  checkerT,
  admin,
  approvedSkill,
  createSkill,
  calculator,
  invoke,
  logs,
  events,
  allStoredText,
  type Admin,
  type CT,
  type Draft,
} from "./helpers";
import { localServer, json, type Handler } from "./localServer";
import { egress, fetched } from "./egressMock";

vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("./egressMock")).wrap(await orig()));
vi.mock("../../convex/skills/code/index.ts", async (orig) => {
  const real: any = await orig();
  const { TEST_CODE_SKILLS } = await import("./fixtures/codeSkills");
  return { ...real, CODE_SKILLS: { ...real.CODE_SKILLS, ...TEST_CODE_SKILLS } };
});

let server: Awaited<ReturnType<typeof localServer>>;
let handler: Handler = json(200, {});
beforeAll(async () => {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
  server = await localServer((req, res, seen) => handler(req, res, seen));
  egress.port = server.port;
});
afterAll(async () => {
  delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  fetched.length = 0;
  egress.calls = 0;
  egress.address = "127.0.0.1";
  egress.httpsAsHttp = false;
  handler = json(200, {});
});
afterEach(() => vi.restoreAllMocks());

const hook = (extra: Partial<Draft> = {}, config: Record<string, unknown> = {}): Draft => ({
  name: "weather",
  type: "webhook",
  config: { urlTemplate: "http://api.example.com/v1/weather/{city}?units={units}", method: "GET", ...config },
  allowedDomains: ["api.example.com"],
  allowHttp: true,
  ...extra,
});

async function codeSkill(t: CT, a: Admin, name: string) {
  await t.mutation(internal.skills.codeSync.sync, {});
  const row = await t.run(async (ctx) =>
    ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", a.workspaceId).eq("name", name))
      .first(),
  );
  await a.as.mutation(api.skills.registry.approve, { skillId: row!._id });
  return row!._id;
}

describe("Webhook skills", () => {
  test("run through the checker: request made, output returned, invocation logged", async () => {
    handler = json(200, { temp: 21, city: "Paris" });
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook());
    expect(await invoke(t, a, "weather", { city: "Paris", units: "metric" })).toEqual({
      ok: true,
      output: { temp: 21, city: "Paris" },
    });
    expect(server.requests.map((r) => [r.method, r.url])).toEqual([["GET", "/v1/weather/Paris?units=metric"]]);
    const [row] = await logs(t);
    expect(row).toMatchObject({ targetKind: "skill", targetName: "weather", code: "OK", allowed: true });
    expect(row.outputBytes).toBeGreaterThan(0);
  });

  test("domain allowlist is checked on every invocation: removing the domain stops the next call", async () => {
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, hook());
    expect(await invoke(t, a, "weather", { city: "Oslo", units: "si" })).toMatchObject({ ok: true });
    const r = await a.as.mutation(api.skills.registry.update, { skillId: id, allowedDomains: [] });
    expect(r.status).toBe("approved"); // narrowing needs no review…
    expect(await invoke(t, a, "weather", { city: "Oslo", units: "si" })).toEqual({
      ok: false,
      code: "DOMAIN_NOT_ALLOWED",
    }); // …and applies at once
    expect(server.requests).toHaveLength(1);
    expect(fetched).toHaveLength(1); // refused before the executor started
    const ev = (await events(t)).filter((e) => e.code === "DOMAIN_NOT_ALLOWED");
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ category: "skill", detail: "skill=weather host=api.example.com" });
  });

  test("a name resolving to a private address is refused at connect time and logged", async () => {
    egress.address = "10.1.2.3";
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook());
    expect(await invoke(t, a, "weather", { city: "x", units: "y" })).toEqual({
      ok: false,
      code: "PRIVATE_ADDRESS_BLOCKED",
    });
    expect(server.requests).toHaveLength(0);
    expect((await events(t)).map((e) => e.code)).toEqual(["PRIVATE_ADDRESS_BLOCKED"]);
  });

  test("no HTTP redirects followed", async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
      res.end();
    };
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook());
    expect(await invoke(t, a, "weather", { city: "x", units: "y" })).toEqual({ ok: false, code: "REDIRECT_BLOCKED" });
    expect(server.requests).toHaveLength(1);
    expect((await logs(t)).map((r) => r.code)).toEqual(["REDIRECT_BLOCKED"]);
    expect((await events(t)).map((e) => e.code)).toEqual(["REDIRECT_BLOCKED"]);
  });

  test("response size limit (50 KB default, configurable), enforced while streaming", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" }); // no content-length: streamed
      res.write("a".repeat(30_000));
      setTimeout(() => res.end("b".repeat(30_000)), 20);
    };
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook());
    await approvedSkill(a, hook({ name: "small", maxOutputBytes: 1024 }));
    expect(await invoke(t, a, "weather", { city: "x", units: "y" })).toEqual({ ok: false, code: "OUTPUT_TOO_LARGE" });
    handler = json(200, { text: "c".repeat(2000) });
    expect(await invoke(t, a, "small", { city: "x", units: "y" })).toEqual({ ok: false, code: "OUTPUT_TOO_LARGE" });
    expect(await invoke(t, a, "weather", { city: "x", units: "y" })).toMatchObject({ ok: true });
    expect((await logs(t)).map((r) => r.code)).toEqual(["OUTPUT_TOO_LARGE", "OUTPUT_TOO_LARGE", "OK"]);
  });

  test("timeout enforced (10 s default, configurable): the call ends and TIMEOUT is logged", async () => {
    handler = () => undefined; // never answers
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, hook({ timeoutMs: 300 }));
    const started = Date.now();
    expect(await invoke(t, a, "weather", { city: "x", units: "y" })).toEqual({ ok: false, code: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(5000);
    const [row] = await logs(t);
    expect(row).toMatchObject({ code: "TIMEOUT", allowed: false });
    expect(row.durationMs).toBeGreaterThanOrEqual(280);
    expect((await events(t)).map((e) => e.code)).toEqual(["TIMEOUT"]);
    const defaults = await createSkill(a, hook({ name: "dflt" }));
    expect(await t.run(async (ctx) => (await ctx.db.get(defaults))!.timeoutMs)).toBe(10_000);
    expect(await t.run(async (ctx) => (await ctx.db.get(id))!.maxOutputBytes)).toBe(50 * 1024);
  });

  test("URL parameter substitution: values are encoded, never change host, path shape or query", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook({ rateLimitPerMinute: 100 }));
    expect(await invoke(t, a, "weather", { city: "São Paulo & Co", units: "a=b&admin=1" })).toMatchObject({ ok: true });
    expect(server.requests[0].url).toBe("/v1/weather/S%C3%A3o%20Paulo%20%26%20Co?units=a%3Db%26admin%3D1");
    for (const city of ["../admin", "..", "a/b", "%2e%2e", "x@evil.com", "a#b", "a\r\nHost: evil", "．．"]) {
      expect(await invoke(t, a, "weather", { city, units: "x" }), city).toEqual({ ok: false, code: "INPUT_INVALID" });
    }
    expect(server.requests).toHaveLength(1);
  });

  test("property: whatever the parameters, no request goes to a host other than the allowlisted one", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook({ rateLimitPerMinute: 1000 }));
    for (const name of ["globalInvocations", "webhookSkillsGlobal"]) {
      await a.as.mutation(api.limits.manage.set, { name, rate: 1_000_000, periodMs: 60_000 });
    }
    const nasty = fc.constantFrom(
      "@",
      "/",
      "\\",
      "..",
      "%2e",
      "%2f",
      "#",
      "?",
      ":",
      "//evil.com",
      "@evil.com",
      "\u3002",
      "\uff0e",
      "\r\n",
      "%00",
      "evil.com:80",
    );
    const param = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.array(fc.oneof(nasty, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((xs) => xs.join("")),
    );
    await fc.assert(
      fc.asyncProperty(param, param, async (city, units) => {
        await invoke(t, a, "weather", { city, units });
      }),
      { numRuns: 60 },
    );
    expect(fetched.length).toBeGreaterThan(0);
    for (const f of fetched) {
      const u = new URL(f.url);
      expect(u.hostname).toBe("api.example.com");
      expect(u.port).toBe("");
      expect(u.pathname.split("/").length).toBe(4);
      expect(u.username + u.password).toBe("");
    }
    expect(server.requests.length).toBe(fetched.length);
  });

  test("webhook skills have their own global limit (100/min default)", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook());
    await approvedSkill(a, hook({ name: "weather2" }));
    await approvedSkill(a, calculator());
    await a.as.mutation(api.limits.manage.set, { name: "webhookSkillsGlobal", rate: 2, periodMs: 60_000 });
    expect(await invoke(t, a, "weather", { city: "a", units: "b" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "weather2", { city: "a", units: "b" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "weather", { city: "a", units: "b" })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: true }); // no network: not counted
    expect((await events(t)).find((e) => e.code === "RATE_LIMITED")?.detail).toBe("limit=webhookSkillsGlobal");
  });
});

describe("Secrets", () => {
  const CANARY = "Zebra Canary 42 Lantern";

  test("injected server-side into headers at run time only, never in output, logs, audit or config", async () => {
    handler = (req, res) => {
      // A hostile or careless API echoing credentials back.
      const body = JSON.stringify({ youSent: req.headers.authorization, note: `key=${req.headers.authorization}` });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    };
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(
      a,
      hook(
        { secretNames: ["API_KEY"] },
        { secretHeaders: { Authorization: { secret: "API_KEY", prefix: "Bearer " } } },
      ),
    );
    await a.as.mutation(api.secrets.manage.setSkillSecret, { skillId: id, name: "API_KEY", value: CANARY });
    const r = await invoke(t, a, "weather", { city: "x", units: "y" });
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(r.ok).toBe(true);
    expect(JSON.stringify(r)).not.toContain(CANARY);
    for (const word of CANARY.split(" ").filter((w) => w.length > 3)) expect(JSON.stringify(r)).not.toContain(word);
    const stored = await allStoredText(t);
    for (const word of CANARY.split(" ").filter((w) => w.length > 3)) expect(stored).not.toContain(word);
    const row = await t.run(async (ctx) => ctx.db.get(id));
    expect(JSON.stringify(row)).not.toContain("Zebra");
  });

  test("a secret the config needs but nobody set fails closed", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, hook({ secretNames: ["API_KEY"] }, { secretHeaders: { "X-Key": { secret: "API_KEY" } } }));
    expect(await invoke(t, a, "weather", { city: "x", units: "y" })).toEqual({ ok: false, code: "SECRET_NOT_SET" });
    expect(server.requests).toHaveLength(0);
  });

  test("static config headers cannot carry credentials; secret headers must name declared secrets", async () => {
    const t = checkerT();
    const a = await admin(t);
    await expectCode(createSkill(a, hook({}, { headers: { Authorization: "Bearer abc" } })), "CONFIG_INVALID");
    await expectCode(createSkill(a, hook({}, { headers: { "X-Api-Key": "abc" } })), "CONFIG_INVALID");
    await expectCode(
      createSkill(a, hook({}, { secretHeaders: { "X-Key": { secret: "UNDECLARED" } } })),
      "CONFIG_INVALID",
    );
  });

  test("code skills cannot access other skills' secrets", async () => {
    const t = checkerT();
    const a = await admin(t);
    const webhookId = await approvedSkill(
      a,
      hook({ secretNames: ["API_KEY"] }, { secretHeaders: { "X-Key": { secret: "API_KEY" } } }),
    );
    await a.as.mutation(api.secrets.manage.setSkillSecret, {
      skillId: webhookId,
      name: "API_KEY",
      value: "other-skill-value-123",
    });
    const snoopId = await codeSkill(t, a, "secret_snoop");
    await a.as.mutation(api.secrets.manage.setSkillSecret, {
      skillId: snoopId,
      name: "OWN_SECRET",
      value: "own-value-456",
    });
    const r = await invoke(t, a, "secret_snoop", {});
    expect(r).toEqual({ ok: true, output: { ownLength: 13, ownEcho: "[REDACTED]", other: null } });
    // and the secrets domain refuses the read outright
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: snoopId, names: ["API_KEY"] }),
      "SECRET_ACCESS_DENIED",
    );
  });
});

describe("Network templates and code skills", () => {
  test("http_get_json: JSON pointer into the response; host from the allowlist only", async () => {
    handler = json(200, { data: { price: { usd: 42 } } });
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, {
      name: "price",
      type: "template",
      config: {
        template: "http_get_json",
        urlTemplate: "http://api.example.com/price/{coin}",
        jsonPointer: "/data/price/usd",
      },
      allowedDomains: ["api.example.com"],
      allowHttp: true,
    });
    expect(await invoke(t, a, "price", { coin: "btc" })).toEqual({ ok: true, output: 42 });
    expect(server.requests[0].url).toBe("/price/btc");
  });

  test("rss_feed: items parsed from the feed", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/rss+xml" });
      res.end(
        `<rss><channel><title>T</title><item><title>A</title><link>https://e.com/a</link></item></channel></rss>`,
      );
    };
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, {
      name: "news",
      type: "template",
      config: { template: "rss_feed", urlTemplate: "http://news.example.com/feed.xml", maxItems: 5 },
      allowedDomains: ["news.example.com"],
      allowHttp: true,
    });
    expect(await invoke(t, a, "news", {})).toEqual({
      ok: true,
      output: { title: "T", items: [{ title: "A", link: "https://e.com/a", published: null }] },
    });
  });

  test("github_repo_info (code skill) calls api.github.com through the guarded fetch", async () => {
    egress.httpsAsHttp = true;
    handler = json(200, {
      full_name: "octo/hello",
      stargazers_count: 7,
      forks_count: 1,
      open_issues_count: 0,
      language: "TypeScript",
      license: { spdx_id: "MIT" },
      html_url: "https://github.com/octo/hello",
    });
    const t = checkerT();
    const a = await admin(t);
    await codeSkill(t, a, "github_repo_info");
    const r = await invoke(t, a, "github_repo_info", { owner: "octo", repo: "hello" });
    expect(r).toMatchObject({ ok: true, output: { fullName: "octo/hello", stars: 7, license: "MIT" } });
    expect(fetched[0].url).toBe("https://api.github.com/repos/octo/hello");
    expect(server.requests[0].headers["user-agent"]).toBe("warden-skill");
    expect(await invoke(t, a, "github_repo_info", { owner: "../x", repo: "y" })).toEqual({
      ok: false,
      code: "INPUT_INVALID",
    });
  });

  test("a code skill fetching off its allowlist fails the invocation, logged as a domain violation", async () => {
    const t = checkerT();
    const a = await admin(t);
    await codeSkill(t, a, "egress_probe");
    expect(await invoke(t, a, "egress_probe", { url: "https://evil.example.net/steal" })).toEqual({
      ok: false,
      code: "DOMAIN_NOT_ALLOWED",
    });
    expect(await invoke(t, a, "egress_probe", { url: "https://169.254.169.254/latest" })).toEqual({
      ok: false,
      code: "PRIVATE_ADDRESS_BLOCKED",
    });
    expect(server.requests).toHaveLength(0);
    const ev = await events(t);
    expect(ev.map((e) => [e.code, e.detail])).toEqual([
      ["DOMAIN_NOT_ALLOWED", "skill=egress_probe host=evil.example.net"],
      ["PRIVATE_ADDRESS_BLOCKED", "skill=egress_probe host=169.254.169.254"],
    ]);
  });

  test("output size is also checked by the checker itself (code skill output)", async () => {
    const t = checkerT();
    const a = await admin(t);
    await codeSkill(t, a, "big_output");
    expect(await invoke(t, a, "big_output", { n: 10 })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "big_output", { n: 5000 })).toEqual({ ok: false, code: "OUTPUT_TOO_LARGE" });
  });

  test("the checker's deadline ends a skill that never returns", async () => {
    const t = checkerT();
    const a = await admin(t);
    await codeSkill(t, a, "hang");
    const started = Date.now();
    expect(await invoke(t, a, "hang", {})).toEqual({ ok: false, code: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe("Large outputs and document size", () => {
  test("the largest allowed input and output: output goes to file storage, no document over 16 KB", async () => {
    const t = checkerT();
    const a = await admin(t);
    const big = { items: Array.from({ length: 9000 }, (_, i) => ({ i, text: "x".repeat(80) })) };
    handler = json(200, big);
    await approvedSkill(
      a,
      hook({
        maxOutputBytes: 1024 * 1024,
        inputSchema: {
          type: "object",
          properties: { city: { type: "string" }, units: { type: "string" }, note: { type: "string" } },
        },
      }),
    );
    // ~60 KB of input (the cap is 64 KB) and ~900 KB of output (the largest configurable cap is 1 MB)
    const r: any = await invoke(t, a, "weather", { city: "paris", units: "metric", note: "n".repeat(60 * 1024) });
    expect(r.ok).toBe(true);
    const sizes = await t.run(async (ctx) => {
      const out: { table: string; bytes: number }[] = [];
      const tables = Object.keys((await import("../../convex/schema")).default.tables);
      for (const table of tables) {
        for (const doc of await ctx.db.query(table as any).take(1000))
          out.push({ table, bytes: JSON.stringify(doc).length });
      }
      return out;
    });
    expect(sizes.filter((s) => s.bytes > 16 * 1024)).toEqual([]);
    const row: any = (await logs(t)).find((l: any) => l.allowed);
    expect(row.outputStorageId).toBeDefined();
    const stored = await t.run(async (ctx) => (await ctx.storage.get(row.outputStorageId))!.text());
    expect(JSON.parse(stored).items).toHaveLength(9000);
  }, 60_000);

  test("a large output is stored in file storage and the log keeps a reference + preview", async () => {
    const t = checkerT();
    const a = await admin(t);
    handler = json(200, { items: Array.from({ length: 600 }, (_, i) => ({ i, text: "y".repeat(60) })) });
    await approvedSkill(a, hook({ maxOutputBytes: 1024 * 1024 }));
    const r: any = await invoke(t, a, "weather", { city: "paris", units: "metric" });
    expect(r.ok).toBe(true);
    const row: any = (await logs(t)).find((l: any) => l.allowed);
    expect(row.outputStorageId).toBeDefined();
    expect(row.outputPreview.length).toBeLessThanOrEqual(1024);
    const small = checkerT();
    const b = await admin(small);
    handler = json(200, { ok: 1 });
    await approvedSkill(b, hook());
    expect(((await invoke(small, b, "weather", { city: "paris", units: "metric" })) as any).ok).toBe(true);
    expect(((await logs(small)).find((l: any) => l.allowed) as any).outputStorageId).toBeUndefined();
  }, 60_000);
});
