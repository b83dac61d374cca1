/**
 * The checker on skills that need no network (calculator, time_in_zone, code word_count, images),
 * the registry's validation and review rules, rate limits, and logging. One test per checklist
 * line; each fails if that line's protection is removed.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { RateLimiter } from "@convex-dev/rate-limiter";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { expectCode, member } from "../harness";
import { reviewHash } from "../../convex/skills/hash";
import {
  checkerT,
  admin,
  approvedSkill,
  createSkill,
  calculator,
  invoke,
  logs,
  events,
  OWNER_RUN,
  type CT,
} from "./helpers";
import { readFileSync } from "node:fs";
import { ROLLUP_LAG_MS } from "../../convex/logs/summaries";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

async function statusOf(t: CT, id: Id<"skillRegistry">) {
  return await t.run(async (ctx) => (await ctx.db.get(id))?.status);
}

describe("Security checker (always-on)", () => {
  test("approval gate: pending, rejected and unknown skills are refused with the same code, and never run", async () => {
    const t = checkerT();
    const a = await admin(t);
    const pending = await createSkill(a, calculator("pending_calc"));
    const rejected = await createSkill(a, calculator("rejected_calc"));
    await a.as.mutation(api.skills.registry.reject, { skillId: rejected });
    expect(await invoke(t, a, "pending_calc", { expression: "1+1" })).toEqual({
      ok: false,
      code: "SKILL_NOT_APPROVED",
    });
    expect(await invoke(t, a, "rejected_calc", { expression: "1+1" })).toEqual({
      ok: false,
      code: "SKILL_NOT_APPROVED",
    });
    expect(await invoke(t, a, "no_such_skill", { expression: "1+1" })).toEqual({
      ok: false,
      code: "SKILL_NOT_APPROVED",
    });
    expect(await statusOf(t, pending)).toBe("pending");
    const rows = await logs(t);
    expect(rows.map((r) => [r.code, r.allowed, r.outputBytes])).toEqual([
      ["SKILL_NOT_APPROVED", false, 0],
      ["SKILL_NOT_APPROVED", false, 0],
      ["SKILL_NOT_APPROVED", false, 0],
    ]);
  });

  test("a skill from another workspace is not reachable by name", async () => {
    const t = checkerT();
    const a = await admin(t, "ws-a");
    const b = await admin(t, "ws-b");
    await approvedSkill(b, calculator("b_calc"));
    expect(await invoke(t, a, "b_calc", { expression: "1" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
    expect(await invoke(t, b, "b_calc", { expression: "1" })).toMatchObject({ ok: true });
  });

  test("status check: a disabled skill is refused (SKILL_INACTIVE) until approved again", async () => {
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, calculator());
    await a.as.mutation(api.skills.registry.disable, { skillId: id });
    expect(await invoke(t, a, "calc", { expression: "2" })).toEqual({ ok: false, code: "SKILL_INACTIVE" });
    await a.as.mutation(api.skills.registry.approve, { skillId: id });
    expect(await invoke(t, a, "calc", { expression: "2" })).toEqual({ ok: true, output: { result: 2 } });
  });

  test("input validation against the declared schema", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    for (const input of [
      { expression: 5 },
      {},
      { expression: "1", extra: true },
      "1+1",
      null,
      { expression: "x".repeat(501) },
    ]) {
      expect(await invoke(t, a, "calc", input)).toEqual({ ok: false, code: "INPUT_INVALID" });
    }
    expect((await logs(t)).every((r) => r.code === "INPUT_INVALID" && !r.allowed)).toBe(true);
  });

  test("oversized input is refused before anything runs, and its preview stays small", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    expect(await invoke(t, a, "calc", { expression: "1", pad: "y".repeat(70_000) })).toEqual({
      ok: false,
      code: "INPUT_INVALID",
    });
    const [row] = await logs(t);
    expect(row.inputBytes).toBeGreaterThan(70_000);
    expect(new TextEncoder().encode(row.inputPreview ?? "").length).toBeLessThanOrEqual(1024);
  });

  test("per-skill rate limit (skill.rateLimitPerMinute) with retryAfterMs; other skills unaffected", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator("limited", { rateLimitPerMinute: 3 }));
    await approvedSkill(a, calculator("other"));
    for (let i = 0; i < 3; i++) expect(await invoke(t, a, "limited", { expression: "1" })).toMatchObject({ ok: true });
    const denied = await invoke(t, a, "limited", { expression: "1" });
    expect(denied).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect((denied as any).retryAfterMs).toBeGreaterThan(0);
    expect(await invoke(t, a, "other", { expression: "1" })).toMatchObject({ ok: true });
    const ev = await events(t);
    expect(ev.filter((e) => e.code === "RATE_LIMITED").map((e) => e.detail)).toEqual(["limit=skillPerSkill"]);
  });

  test("per-skill default comes from the workspace's skillPerSkill override, read at call time", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    await a.as.mutation(api.limits.manage.set, { name: "skillPerSkill", rate: 2, periodMs: 60_000 });
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  test("global invocation limit across all skills", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator("one"));
    await approvedSkill(a, calculator("two"));
    await a.as.mutation(api.limits.manage.set, { name: "globalInvocations", rate: 3, periodMs: 60_000 });
    expect(await invoke(t, a, "one", { expression: "1" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "two", { expression: "1" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "one", { expression: "1" })).toMatchObject({ ok: true });
    expect(await invoke(t, a, "two", { expression: "1" })).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    const ev = await events(t);
    expect(ev.find((e) => e.code === "RATE_LIMITED")?.detail).toBe("limit=globalInvocations");
  });

  test("under a concurrent burst the limiter admits exactly the limit", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator("burst", { rateLimitPerMinute: 5 }));
    const results = await Promise.all(Array.from({ length: 17 }, () => invoke(t, a, "burst", { expression: "1+1" })));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.code === "RATE_LIMITED")).toBe(true);
    expect((await logs(t)).length).toBe(17);
  });

  test("fails closed when the limiter throws (LIMIT_UNAVAILABLE, nothing runs)", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    vi.spyOn(RateLimiter.prototype, "limit").mockRejectedValue(new Error("component down"));
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: false, code: "LIMIT_UNAVAILABLE" });
    const rows = await logs(t);
    expect(rows.map((r) => [r.code, r.allowed, r.outputBytes])).toEqual([["LIMIT_UNAVAILABLE", false, 0]]);
  });

  test("fails closed when a stored limit cannot be evaluated (corrupt override row)", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    await t.run(async (ctx) => {
      await ctx.db.insert("rateLimitConfig", {
        workspaceId: a.workspaceId,
        name: "globalInvocations",
        rate: 0,
        periodMs: 60_000,
        updatedAt: 0,
      });
    });
    expect(await invoke(t, a, "calc", { expression: "1" })).toMatchObject({ ok: false, code: "LIMIT_UNAVAILABLE" });
  });

  test("every check result is logged to invocationLog (allowed and denied), with the hourly summary", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator("calc", { rateLimitPerMinute: 2 }));
    await invoke(t, a, "calc", { expression: "6*7" }, { kind: "agent", id: "thread-9", ...OWNER_RUN });
    await invoke(t, a, "calc", { expression: "bad(" });
    await invoke(t, a, "calc", { expression: 1 });
    await invoke(t, a, "calc", { expression: "1" });
    await invoke(t, a, "nope", {});
    const rows = await logs(t);
    expect(rows.map((r) => [r.targetKind, r.targetName, r.code, r.allowed])).toEqual([
      ["skill", "calc", "OK", true],
      ["skill", "calc", "INPUT_INVALID", false], // the calculator refused the expression
      ["skill", "calc", "INPUT_INVALID", false], // the schema refused the input
      ["skill", "calc", "RATE_LIMITED", false],
      ["skill", "nope", "SKILL_NOT_APPROVED", false],
    ]);
    expect(rows[0]).toMatchObject({
      callerKind: "agent",
      callerId: "thread-9",
      inputPreview: '{"expression":"6*7"}',
      outputPreview: '{"result":42}',
    });
    expect(rows.every((r) => r.durationMs >= 0 && r.inputBytes > 0)).toBe(true);
    // The checker writes no summary row; the dashboard counts the not-yet-rolled rows live.
    expect(await t.run(async (ctx) => await ctx.db.query("invocationSummary").take(10))).toHaveLength(0);
    const live = await a.as.query(api.logs.dashboard.overview, {});
    expect(live.totals).toMatchObject({ invocations: 5, denied: 4 });
    // Once settled, the rollup moves them into the hourly summary; the dashboard is unchanged.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + ROLLUP_LAG_MS + 1_000 });
    await t.mutation(internal.logs.summaries.rollupInvocations, {});
    const summary = await t.run(async (ctx) => await ctx.db.query("invocationSummary").take(10));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ targetKind: "skill", total: 5, allowed: 1, denied: 4 });
    expect((await a.as.query(api.logs.dashboard.overview, {})).totals).toMatchObject({ invocations: 5, denied: 4 });
  });

  test("denials are security events with distinct codes; allowed calls are not", async () => {
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, calculator());
    await invoke(t, a, "calc", { expression: "1" });
    await invoke(t, a, "missing", {});
    await invoke(t, a, "calc", { nope: 1 });
    await a.as.mutation(api.skills.registry.disable, { skillId: id });
    await invoke(t, a, "calc", { expression: "1" });
    const ev = await events(t);
    expect(ev.map((e) => [e.code, e.category, e.source])).toEqual([
      ["SKILL_NOT_APPROVED", "skill", "agent:thread-1"],
      ["INPUT_INVALID", "skill", "agent:thread-1"],
      ["SKILL_INACTIVE", "skill", "agent:thread-1"],
    ]);
  });

  test("runs on every skill type: template, code and image calls all produce log rows", async () => {
    // webhook skills: tests/checker/egress.test.ts
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    await t.mutation(internal.skills.codeSync.sync, {});
    const wc = await t.run(async (ctx) =>
      ctx.db
        .query("skillRegistry")
        .withIndex("by_workspace_name", (q) => q.eq("workspaceId", a.workspaceId).eq("name", "word_count"))
        .first(),
    );
    await a.as.mutation(api.skills.registry.approve, { skillId: wc!._id });
    await approvedSkill(a, { name: "img", type: "image", config: { operation: "image_info" } });
    await invoke(t, a, "calc", { expression: "1" });
    await invoke(t, a, "word_count", { text: "a b" });
    await invoke(t, a, "img", { storageId: "nothing" });
    expect((await logs(t)).map((r) => [r.targetName, r.code])).toEqual([
      ["calc", "OK"],
      ["word_count", "OK"],
      ["img", "IMAGE_INVALID"],
    ]);
  });

  test("the checker itself has no off switch: no env var, flag or config row is read", () => {
    const checkerFiles = ["checker", "checkerPipeline", "checkerSkill", "checkerMcp", "checkerWebhook", "checkerLog"];
    for (const text of checkerFiles.map((f) =>
      readFileSync(new URL(`../../convex/security/${f}.ts`, import.meta.url), "utf8"),
    )) {
      expect(text).not.toMatch(/process\.env/);
      expect(text).not.toMatch(/query\("(agentConfig|workspaces|retentionConfig|notifications)"\)/);
      expect(text).not.toMatch(/\b(disabled?Checker|checkerEnabled|skipChecks?|bypass)\b/i);
    }
  });
});

describe("Template skills", () => {
  test("config validated against configSchema at create/update (inline errors)", async () => {
    const t = checkerT();
    const a = await admin(t);
    const cases: Array<[unknown, string, string]> = [
      [{ template: "calculator", precision: 99 }, "CONFIG_INVALID", "config.precision"],
      [{ template: "calculator", extra: 1 }, "CONFIG_INVALID", "config"],
      [{ template: "shell_exec" }, "CONFIG_INVALID", "config.template"],
      [{ template: "time_in_zone", defaultZone: "Mars/Olympus" }, "CONFIG_INVALID", "config.defaultZone"],
      [
        { template: "http_get_json", urlTemplate: "https://api.example.com/{a}{" },
        "URL_TEMPLATE_INVALID",
        "config.urlTemplate",
      ],
    ];
    for (const [config, code, field] of cases) {
      try {
        await createSkill(a, { name: "t1", type: "template", config });
        throw new Error("accepted");
      } catch (e: any) {
        expect(e.data, JSON.stringify(config)).toMatchObject({ code, field });
      }
    }
    const id = await createSkill(a, calculator());
    await expectCode(
      a.as.mutation(api.skills.registry.update, { skillId: id, config: { template: "calculator", precision: 0 } }),
      "CONFIG_INVALID",
    );
  });

  test("config validated again at run time (a stored config that no longer parses does not run)", async () => {
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, calculator());
    // Simulate a row changed behind the registry's back but re-hashed consistently.
    await t.run(async (ctx) => {
      const s = (await ctx.db.get(id))!;
      const config = { template: "calculator" as const, precision: 99 };
      const hash = await reviewHash({ ...s, config });
      await ctx.db.patch(id, { config, configHash: hash, approvedHash: hash });
    });
    expect(await invoke(t, a, "calc", { expression: "1" })).toEqual({ ok: false, code: "CONFIG_INVALID" });
  });

  test("config changes trigger re-review; a changed row that skipped the registry is not approved", async () => {
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, calculator());
    const r = await a.as.mutation(api.skills.registry.update, {
      skillId: id,
      config: { template: "calculator", precision: 4 },
    });
    expect(r.status).toBe("pending");
    expect(await invoke(t, a, "calc", { expression: "1" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
    await a.as.mutation(api.skills.registry.approve, { skillId: id });
    expect(await invoke(t, a, "calc", { expression: "pi" })).toEqual({ ok: true, output: { result: 3.142 } });
    // description and schema changes too
    expect(
      (await a.as.mutation(api.skills.registry.update, { skillId: id, description: "now different" })).status,
    ).toBe("pending");
    await a.as.mutation(api.skills.registry.approve, { skillId: id });
    const schema = { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] };
    expect((await a.as.mutation(api.skills.registry.update, { skillId: id, inputSchema: schema })).status).toBe(
      "pending",
    );
    // limits alone are not reviewed content
    await a.as.mutation(api.skills.registry.approve, { skillId: id });
    expect((await a.as.mutation(api.skills.registry.update, { skillId: id, rateLimitPerMinute: 10 })).status).toBe(
      "approved",
    );
    // tampering: config edited directly in the database
    await t.run(async (ctx) => ctx.db.patch(id, { config: { template: "calculator", precision: 2 } }));
    expect(await invoke(t, a, "calc", { expression: "1" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
    const audit = await t.run(async (ctx) => ctx.db.query("auditLog").take(50));
    expect(audit.map((x) => x.action)).toEqual(
      expect.arrayContaining(["skill.create", "skill.approve", "skill.update"]),
    );
  });

  test("local templates: calculator and time_in_zone", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    await approvedSkill(a, {
      name: "clock",
      type: "template",
      config: { template: "time_in_zone", defaultZone: "Europe/Paris" },
    });
    expect(await invoke(t, a, "calc", { expression: "2^10" })).toEqual({ ok: true, output: { result: 1024 } });
    const paris = await invoke(t, a, "clock", {});
    expect(paris).toMatchObject({ ok: true, output: { zone: "Europe/Paris" } });
    expect((paris as any).output.utcOffset).toMatch(/^[+-]\d\d:\d\d$/);
    expect(await invoke(t, a, "clock", { zone: "Asia/Tokyo" })).toMatchObject({
      ok: true,
      output: { zone: "Asia/Tokyo", utcOffset: "+09:00" },
    });
    expect(await invoke(t, a, "clock", { zone: "Nowhere/City" })).toEqual({ ok: false, code: "INPUT_INVALID" });
  });

  test("only admins and owners create, edit and approve skills", async () => {
    const t = checkerT();
    const a = await admin(t);
    const viewer = await member(t as any, { role: "viewer" });
    const id = await createSkill(a, calculator());
    await expectCode(viewer.as.mutation(api.skills.registry.approve, { skillId: id }), "FORBIDDEN");
    await expectCode(
      viewer.as.mutation(api.skills.registry.create, {
        name: "v",
        description: "v",
        type: "template",
        config: { template: "calculator" },
        allowedDomains: [],
      }),
      "FORBIDDEN",
    );
    const list = await viewer.as.query(api.skills.registry.list, { paginationOpts: { numItems: 10, cursor: null } });
    expect(list.page.map((s) => s.name)).toEqual(["calc"]);
    const other = await admin(t, "ws-b");
    await expectCode(other.as.mutation(api.skills.registry.approve, { skillId: id }), "FORBIDDEN");
    await expectCode(other.as.query(api.skills.registry.get, { skillId: id }), "FORBIDDEN");
  });

  test("names are slugs and unique per workspace", async () => {
    const t = checkerT();
    const a = await admin(t);
    await createSkill(a, calculator("calc"));
    await expectCode(createSkill(a, calculator("calc")), "NAME_TAKEN");
    await expectCode(createSkill(a, calculator("Bad Name")), "CONFIG_INVALID");
    await expectCode(createSkill(a, calculator("x")), "CONFIG_INVALID");
  });
});

describe("Domain allowlist entries (input validation)", () => {
  test("wildcards, IPs, schemes, paths and ports are rejected with the entry's index", async () => {
    const t = checkerT();
    const a = await admin(t);
    const base = {
      name: "hook",
      type: "webhook" as const,
      config: { urlTemplate: "https://api.example.com/x", method: "GET" },
    };
    const bad: Array<[string, string]> = [
      ["*.example.com", "DOMAIN_INVALID"],
      ["https://api.example.com", "DOMAIN_INVALID"],
      ["api.example.com/path", "DOMAIN_INVALID"],
      ["api.example.com:8443", "DOMAIN_INVALID"],
      ["127.0.0.1", "PRIVATE_ADDRESS_BLOCKED"],
      ["localhost", "DOMAIN_INVALID"],
    ];
    for (const [entry, code] of bad) {
      try {
        await createSkill(a, { ...base, allowedDomains: ["api.example.com", entry] });
        throw new Error(`accepted ${entry}`);
      } catch (e: any) {
        expect(e.data, entry).toMatchObject({ code, field: "allowedDomains", index: 1 });
      }
    }
  });

  test("domains are only what the admin typed: the URL's host is never added implicitly", async () => {
    const t = checkerT();
    const a = await admin(t);
    try {
      await createSkill(a, {
        name: "hook",
        type: "webhook",
        config: { urlTemplate: "https://api.other.com/x", method: "GET" },
        allowedDomains: ["api.example.com"],
      });
      throw new Error("accepted");
    } catch (e: any) {
      expect(e.data).toMatchObject({ code: "DOMAIN_NOT_ALLOWED", field: "config.urlTemplate" });
    }
    const id = await createSkill(a, {
      name: "hook",
      type: "webhook",
      config: { urlTemplate: "https://API.Example.com/x", method: "GET" },
      allowedDomains: ["API.EXAMPLE.com"],
    });
    expect(await t.run(async (ctx) => (await ctx.db.get(id))!.allowedDomains)).toEqual(["api.example.com"]);
    // adding a domain to an approved skill sends it back to review
    await a.as.mutation(api.skills.registry.approve, { skillId: id });
    const r = await a.as.mutation(api.skills.registry.update, {
      skillId: id,
      allowedDomains: ["api.example.com", "cdn.example.com"],
    });
    expect(r.status).toBe("pending");
  });

  test("plain http only when allowed per skill", async () => {
    const t = checkerT();
    const a = await admin(t);
    const hook = {
      name: "hook",
      type: "webhook" as const,
      config: { urlTemplate: "http://api.example.com/x", method: "GET" },
      allowedDomains: ["api.example.com"],
    };
    await expectCode(createSkill(a, hook), "SCHEME_NOT_ALLOWED");
    await createSkill(a, { ...hook, allowHttp: true });
  });
});

describe("Code-defined skills", () => {
  test("auto-registered as pending on deploy; sync is idempotent; approval required", async () => {
    const t = checkerT();
    const a = await admin(t);
    const first = await t.mutation(internal.skills.codeSync.sync, {});
    expect(first).toMatchObject({ workspaces: 1, created: 2, updated: 0, unchanged: 0 });
    const again = await t.mutation(internal.skills.codeSync.sync, {});
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    const rows = await t.run(async (ctx) => ctx.db.query("skillRegistry").take(10));
    expect(rows.map((r) => [r.name, r.type, r.status]).sort()).toEqual([
      ["github_repo_info", "code", "pending"],
      ["word_count", "code", "pending"],
    ]);
    const gh = rows.find((r) => r.name === "github_repo_info")!;
    expect(gh.allowedDomains).toEqual(["api.github.com"]);
    expect(gh.secretNames).toEqual(["GITHUB_TOKEN"]);
    expect(gh.rateLimitPerMinute).toBe(30);
    expect(await invoke(t, a, "word_count", { text: "one two" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
    await a.as.mutation(api.skills.registry.approve, { skillId: rows.find((r) => r.name === "word_count")!._id });
    expect(await invoke(t, a, "word_count", { text: "one two. three!" })).toEqual({
      ok: true,
      output: { words: 3, characters: 15, lines: 1, sentences: 2 },
    });
  });

  test("a deployed code change is not approved until synced and re-approved", async () => {
    const t = checkerT();
    const a = await admin(t);
    await t.mutation(internal.skills.codeSync.sync, {});
    const wc = await t.run(async (ctx) =>
      ctx.db
        .query("skillRegistry")
        .withIndex("by_workspace_name", (q) => q.eq("workspaceId", a.workspaceId).eq("name", "word_count"))
        .first(),
    );
    await a.as.mutation(api.skills.registry.approve, { skillId: wc!._id });
    // The registry row now names a different source than the deployed one.
    await t.run(async (ctx) => {
      const s = (await ctx.db.get(wc!._id))!;
      const config = { module: "word_count", sourceHash: "0".repeat(64) };
      const hash = await reviewHash({ ...s, config });
      await ctx.db.patch(wc!._id, { config, configHash: hash, approvedHash: hash });
    });
    expect(await invoke(t, a, "word_count", { text: "x" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
    await expectCode(a.as.mutation(api.skills.registry.approve, { skillId: wc!._id }), "CONFIG_INVALID");
    const r = await t.mutation(internal.skills.codeSync.sync, {});
    expect(r).toMatchObject({ updated: 1 });
    expect(await statusOf(t, wc!._id)).toBe("pending");
  });

  test("code skills' definitions cannot be edited from SyncBoard, only limits and narrower domains", async () => {
    const t = checkerT();
    const a = await admin(t);
    await t.mutation(internal.skills.codeSync.sync, {});
    const gh = await t.run(async (ctx) =>
      ctx.db
        .query("skillRegistry")
        .withIndex("by_workspace_name", (q) => q.eq("workspaceId", a.workspaceId).eq("name", "github_repo_info"))
        .first(),
    );
    await expectCode(
      a.as.mutation(api.skills.registry.update, { skillId: gh!._id, config: { module: "word_count" } }),
      "CONFIG_INVALID",
    );
    await expectCode(
      a.as.mutation(api.skills.registry.update, { skillId: gh!._id, allowedDomains: ["api.github.com", "evil.com"] }),
      "DOMAIN_NOT_ALLOWED",
    );
    await a.as.mutation(api.skills.registry.update, { skillId: gh!._id, rateLimitPerMinute: 5 });
  });
});

describe("Image skills", () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/images/${name}`, import.meta.url));

  /** Like SyncBoard: ask for an upload URL with the file's SHA-256, then upload (stored directly here). */
  async function upload(t: CT, a: Awaited<ReturnType<typeof admin>>, bytes: Uint8Array, type = "image/png") {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
    await a.as.mutation(api.skills.images.generateUploadUrl, { sha256: Buffer.from(digest).toString("base64") });
    return await t.run(async (ctx) => await ctx.storage.store(new Blob([new Uint8Array(bytes)], { type })));
  }

  test("validated images (size, magic bytes) are stored in file storage and described", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, { name: "img", type: "image", config: { operation: "image_info" } });
    for (const [file, format] of [
      ["python.png", "png"],
      ["python.jpg", "jpeg"],
      ["python.gif", "gif"],
      ["python.webp", "webp"],
    ] as const) {
      const storageId = await upload(t, a, fixture(file));
      expect(await a.as.action(api.skills.images.register, { storageId })).toMatchObject({
        ok: true,
        width: 16,
        height: 16,
      });
      expect(await invoke(t, a, "img", { storageId })).toMatchObject({
        ok: true,
        output: { format, width: 16, height: 16 },
      });
    }
    const rows = await t.run(async (ctx) => ctx.db.query("skillImages").take(10));
    expect(rows.every((r) => typeof r.storageId === "string" && !("data" in r))).toBe(true);
  });

  test("polyglots, SVG and HTML are rejected and deleted; a declared image type does not help", async () => {
    const t = checkerT();
    const a = await admin(t);
    const png = fixture("python.png");
    const polyglot = new Uint8Array([...png, ...new TextEncoder().encode("<?php system($_GET[1]); ?>")]);
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    for (const bytes of [polyglot, svg, fixture("python.bmp")]) {
      const storageId = await upload(t, a, bytes, "image/png");
      expect(await a.as.action(api.skills.images.register, { storageId })).toEqual({
        ok: false,
        code: "IMAGE_INVALID",
      });
      expect(await t.run(async (ctx) => await ctx.storage.get(storageId))).toBeNull();
    }
    expect((await events(t)).filter((e) => e.code === "IMAGE_INVALID")).toHaveLength(3);
  });

  test("size limit per skill (default 5 MB); unregistered or foreign uploads are refused", async () => {
    const t = checkerT();
    const a = await admin(t);
    const b = await admin(t, "ws-b");
    await approvedSkill(a, { name: "tiny", type: "image", config: { operation: "image_info", maxImageBytes: 500 } });
    await approvedSkill(a, { name: "img", type: "image", config: { operation: "image_info" } });
    const big = await upload(t, a, fixture("python.png")); // 1020 bytes
    await a.as.action(api.skills.images.register, { storageId: big });
    expect(await invoke(t, a, "tiny", { storageId: big })).toEqual({ ok: false, code: "IMAGE_INVALID" });
    const unregistered = await upload(t, a, fixture("python.gif"));
    expect(await invoke(t, a, "img", { storageId: unregistered })).toEqual({ ok: false, code: "IMAGE_INVALID" });
    const foreign = await upload(t, b, fixture("python.jpg"));
    await b.as.action(api.skills.images.register, { storageId: foreign });
    expect(await invoke(t, a, "img", { storageId: foreign })).toEqual({ ok: false, code: "IMAGE_INVALID" });
  });

  test("no inline base64: the image input schema accepts a storage id only", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, { name: "img", type: "image", config: { operation: "image_info" } });
    const b64 = Buffer.from(fixture("python.png")).toString("base64");
    expect(await invoke(t, a, "img", { image: `data:image/png;base64,${b64}` })).toEqual({
      ok: false,
      code: "INPUT_INVALID",
    });
    expect(await invoke(t, a, "img", { storageId: b64 })).toEqual({ ok: false, code: "INPUT_INVALID" });
    await expectCode(
      createSkill(a, {
        name: "img2",
        type: "image",
        config: { operation: "image_info" },
        inputSchema: { type: "object", properties: { data: { type: "string" } } },
      }),
      "CONFIG_INVALID",
    );
  });
});

describe("Rate limits configurable from SyncBoard", () => {
  test("list shows every limit with default and override; set validates and audits; reset restores", async () => {
    const t = checkerT();
    const a = await admin(t);
    const viewer = await member(t as any, { role: "viewer" });
    const before = await viewer.as.query(api.limits.manage.list, {});
    expect(before.find((l) => l.name === "skillPerSkill")).toMatchObject({
      rate: 30,
      defaultRate: 30,
      overridden: false,
    });
    expect(before.find((l) => l.name === "webhookSkillsGlobal")).toMatchObject({ rate: 100 });
    expect(before.find((l) => l.name === "globalInvocations")).toMatchObject({ rate: 200 });
    await a.as.mutation(api.limits.manage.set, { name: "skillPerSkill", rate: 12, periodMs: 60_000 });
    expect((await viewer.as.query(api.limits.manage.list, {})).find((l) => l.name === "skillPerSkill")).toMatchObject({
      rate: 12,
      overridden: true,
    });
    for (const [rate, periodMs] of [
      [0, 60_000],
      [1.5, 60_000],
      [10, 10],
      [2_000_000, 60_000],
    ]) {
      await expectCode(
        a.as.mutation(api.limits.manage.set, { name: "skillPerSkill", rate, periodMs }),
        "CONFIG_INVALID",
      );
    }
    await expectCode(
      a.as.mutation(api.limits.manage.set, { name: "checker", rate: 1, periodMs: 60_000 }),
      "CONFIG_INVALID",
    );
    await expectCode(
      viewer.as.mutation(api.limits.manage.set, { name: "skillPerSkill", rate: 99, periodMs: 60_000 }),
      "FORBIDDEN",
    );
    await a.as.mutation(api.limits.manage.reset, { name: "skillPerSkill" });
    expect((await viewer.as.query(api.limits.manage.list, {})).find((l) => l.name === "skillPerSkill")).toMatchObject({
      rate: 30,
      overridden: false,
    });
    const audit = await t.run(async (ctx) => ctx.db.query("auditLog").take(20));
    expect(audit.map((x) => x.action)).toEqual(["limit.set", "limit.reset"]);
  });
});

describe("Document budget per allowed invocation", () => {
  test("precheck + log stay within the budget", async () => {
    const t = checkerT();
    const a = await admin(t);
    await approvedSkill(a, calculator());
    await invoke(t, a, "calc", { expression: "1" }); // warm: limiter rows and summary exist
    const m = await t.run(async (ctx) => {
      const pre = await ctx.runMutation(internal.security.checker.precheckSkill, {
        workspaceId: a.workspaceId,
        skillName: "calc",
        input: { expression: "1" },
        inputTooLarge: false,
        inputBytes: 16,
        inputPreview: "{}",
        caller: { kind: "agent", ...OWNER_RUN },
        startedAt: Date.now(),
      });
      expect(pre.ok).toBe(true);
      await ctx.runMutation(internal.security.checker.logResult, {
        entry: {
          workspaceId: a.workspaceId,
          targetKind: "skill",
          targetName: "calc",
          callerKind: "agent",
          code: "OK",
          allowed: true,
          durationMs: 1,
          inputBytes: 16,
          outputBytes: 12,
        },
      });
      return ctx.meta.getTransactionMetrics();
    });
    expect(m.documentsRead.used).toBeLessThanOrEqual(8);
    expect(m.documentsWritten.used).toBeLessThanOrEqual(4);
  });
});
