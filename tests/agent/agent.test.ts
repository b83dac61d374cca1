import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Prompt } from "../../convex/lib/offlineModel";
import { OFFLINE_PREFIX } from "../../convex/lib/offlineModel";
import { redactPII } from "../../convex/lib/redact";
import { DEFAULT_SOUL } from "../../convex/agent/configLib";
import { UNAVAILABLE_TEXT } from "../../convex/agent/model";
import { expectCode, member, type T } from "../harness";
import { messages, publicChat, session, thread, waitForReply } from "../chat/setup";

// Every input the offline model receives is captured here.
const seen = vi.hoisted(() => [] as Prompt[]);
vi.mock("../../convex/lib/offlineModel", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../../convex/lib/offlineModel")>();
  return {
    ...mod,
    offlineGenerate: (p: Prompt) => {
      seen.push(JSON.parse(JSON.stringify(p)));
      return mod.offlineGenerate(p);
    },
  };
});

beforeEach(() => {
  seen.length = 0;
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function say(t: T, text: string, opts: { realTimers?: boolean } = {}) {
  const s = await session(t);
  const th = await thread(t, s);
  const r = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text });
  expect(r.ok).toBe(true);
  // the checker arms its own deadline timer: tool calls run on real timers
  if (opts.realTimers) return await waitForReply(t, s, th);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const msgs = await messages(t, s, th);
  return msgs[msgs.length - 1];
}

async function approvedCodeSkill(t: T, owner: Awaited<ReturnType<typeof member>>, name: string) {
  await t.mutation(internal.skills.codeSync.sync, {});
  const skill = await t.run(async (ctx) =>
    ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", owner.workspaceId).eq("name", name))
      .unique(),
  );
  if (!skill) throw new Error(`code skill ${name} not synced`);
  return skill._id;
}

describe("agent config", () => {
  test("default config: lazily created, offline model, a soul with no personal information", async () => {
    const { t, owner } = await publicChat();
    const cfg = await owner.as.query(api.agent.config.get, {});
    expect(cfg).toMatchObject({ persisted: false, model: "offline", soul: DEFAULT_SOUL });
    expect(redactPII(DEFAULT_SOUL)).toBe(DEFAULT_SOUL);
    expect(DEFAULT_SOUL).not.toMatch(/@|\+\d|https?:/);
    expect(await t.run((ctx) => ctx.db.query("agentConfig").collect())).toHaveLength(0);
    await owner.as.mutation(api.agent.config.update, { name: "Helper" });
    expect(await owner.as.query(api.agent.config.get, {})).toMatchObject({
      persisted: true,
      name: "Helper",
      soul: DEFAULT_SOUL,
    });
  });

  test("only owners edit it; lengths validated; edits audited with before/after", async () => {
    const { t, owner } = await publicChat();
    const admin = await member(t, { workspace: "default", role: "admin" });
    await expectCode(admin.as.mutation(api.agent.config.update, { soul: "x" }), "FORBIDDEN");
    await expectCode(owner.as.mutation(api.agent.config.update, { soul: "x".repeat(8001) }), "CONFIG_INVALID");
    await expectCode(owner.as.mutation(api.agent.config.update, { name: "" }), "CONFIG_INVALID");
    await expectCode(
      owner.as.mutation(api.agent.config.update, { model: "sk-abcdefghijklmnopqrstuvwxyz" }),
      "CONFIG_INVALID",
    );
    await owner.as.mutation(api.agent.config.update, { soul: "Be terse." });
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    const row = audit.find((a) => a.action === "agent.config.update")!;
    expect(row).toMatchObject({
      actorId: owner.ownerId,
      before: { soul: DEFAULT_SOUL.slice(0, 200) },
      after: { soul: "Be terse." },
    });
  });

  test("ids from another workspace are refused", async () => {
    const { t, owner } = await publicChat();
    const other = await member(t, { workspace: "ws-b", role: "owner" });
    const pid = await other.as.mutation(api.agent.providers.create, { label: "o", kind: "openai" });
    await expectCode(owner.as.mutation(api.agent.config.update, { providerId: pid }), "FORBIDDEN");
  });
});

describe("model providers", () => {
  test("stores the env var NAME, reports only whether it is set and bound to the provider's host", async () => {
    const { t, owner } = await publicChat();
    const id = await owner.as.mutation(api.agent.providers.create, {
      label: "OpenAI",
      kind: "openai",
      apiKeyEnvVar: "WARDEN_MODEL_KEY_T_OPENAI",
    });
    const row = await t.run((ctx) => ctx.db.get(id));
    expect(row).toMatchObject({ apiKeyEnvVar: "WARDEN_MODEL_KEY_T_OPENAI", kind: "openai" });
    expect((await owner.as.query(api.agent.providers.list, {}))[0].keyConfigured).toBe(false);
    process.env.WARDEN_MODEL_KEY_T_OPENAI = "sk-live-canary-abcdefghijklmnop";
    try {
      // set, but not bound to api.openai.com by the operator yet
      expect((await owner.as.query(api.agent.providers.list, {}))[0].keyConfigured).toBe(false);
      process.env.WARDEN_MODEL_KEY_T_OPENAI_HOSTS = "api.openai.com";
      const list = await owner.as.query(api.agent.providers.list, {});
      expect(list[0].keyConfigured).toBe(true);
      expect(JSON.stringify(list)).not.toContain("canary");
    } finally {
      delete process.env.WARDEN_MODEL_KEY_T_OPENAI;
      delete process.env.WARDEN_MODEL_KEY_T_OPENAI_HOSTS;
    }
    // OpenRouter gets its own variable by default
    const orId = await owner.as.mutation(api.agent.providers.create, { label: "OR", kind: "openrouter" });
    expect((await t.run((ctx) => ctx.db.get(orId)))?.apiKeyEnvVar).toBe("OPENROUTER_API_KEY");
  });

  test.each([
    ["sk-proj-abcdefghijklmnopqrstuvwx"],
    ["sk_live_abcdefghijklmnop"],
    ["abcdefghijklmnopqrstuvwxyz0123456789ABCD"],
    ["AKIAIOSFODNN7EXAMPLE"],
    ["A1B2C3D4E5F6G7H8I9J0"],
    ["KEY_9F8E7D6C5B4A3F2E1D0C"],
    ["lowercase_name"],
    ["X"],
  ])("key-looking or invalid env var name %s → CONFIG_INVALID, nothing stored", async (value) => {
    const { t, owner } = await publicChat();
    await expectCode(
      owner.as.mutation(api.agent.providers.create, { label: "p", kind: "openai", apiKeyEnvVar: value }),
      "CONFIG_INVALID",
    );
    expect(await t.run((ctx) => ctx.db.query("modelProviders").collect())).toHaveLength(0);
    expect(JSON.stringify(await t.run((ctx) => ctx.db.query("auditLog").collect()))).not.toContain(value);
  });

  test("OpenRouter and direct providers do not share key variables", async () => {
    const { owner } = await publicChat();
    await expectCode(
      owner.as.mutation(api.agent.providers.create, { label: "p", kind: "openrouter", apiKeyEnvVar: "OPENAI_API_KEY" }),
      "CONFIG_INVALID",
    );
    await expectCode(
      owner.as.mutation(api.agent.providers.create, {
        label: "p",
        kind: "anthropic",
        apiKeyEnvVar: "OPENROUTER_API_KEY",
      }),
      "CONFIG_INVALID",
    );
  });

  test("base URL: https only; http only for loopback with WARDEN_DEV=1; no credentials, queries or private literals", async () => {
    const { owner } = await publicChat();
    const mk = (baseUrl: string) =>
      owner.as.mutation(api.agent.providers.create, {
        label: "c",
        kind: "openai-compatible",
        baseUrl,
        apiKeyEnvVar: "WARDEN_MODEL_KEY_LOCAL",
      });
    const bad = [
      "http://llm.example.com/v1",
      "http://127.0.0.1:11434/v1",
      "https://u:p@llm.example.com",
      "https://llm.example.com/v1?key=abc",
      "https://10.0.0.5/v1",
      "ftp://x.example.com",
      "not a url",
    ];
    for (const url of [
      ...bad,
      "https://localhost/v1",
      "https://localhost:8443/v1",
      "https://x.localhost/v1",
      "https://LOCALHOST./v1",
      "https://127.0.0.1/v1",
      "https://[::1]/v1",
      "https://8.8.8.8/v1",
    ]) {
      await expectCode(mk(url), "CONFIG_INVALID");
    }
    await expectCode(
      owner.as.mutation(api.agent.providers.create, {
        label: "c",
        kind: "openai-compatible",
        apiKeyEnvVar: "WARDEN_MODEL_KEY_LOCAL",
      }),
      "CONFIG_INVALID",
    );
    await mk("https://llm.example.com/v1");
    process.env.WARDEN_DEV = "1";
    try {
      await mk("http://127.0.0.1:11434/v1");
      await expectCode(mk("http://llm.example.com/v1"), "CONFIG_INVALID");
    } finally {
      delete process.env.WARDEN_DEV;
    }
  });

  test("viewers read, only admins write; writes audited without key values", async () => {
    const { t, owner } = await publicChat();
    const viewer = await member(t, { workspace: "default", role: "viewer" });
    await expectCode(viewer.as.mutation(api.agent.providers.create, { label: "p", kind: "openai" }), "FORBIDDEN");
    const id = await owner.as.mutation(api.agent.providers.create, { label: "p", kind: "openai" });
    expect(await viewer.as.query(api.agent.providers.list, {})).toHaveLength(1);
    await owner.as.mutation(api.agent.providers.update, { providerId: id, label: "p2" });
    await owner.as.mutation(api.agent.config.update, { providerId: id, model: "gpt-4o-mini" });
    await expectCode(owner.as.mutation(api.agent.providers.remove, { providerId: id }), "CONFIG_INVALID");
    const actions = (await t.run((ctx) => ctx.db.query("auditLog").collect())).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(["modelProvider.create", "modelProvider.update"]));
  });
});

describe("model switching and fallback", () => {
  test("model switch is logged; primary failure → fallback activated and logged; no key, prompt or PII in logs", async () => {
    const { t, owner } = await publicChat();
    const logs: string[] = [];
    for (const m of ["log", "warn", "error", "info"] as const)
      vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logs.push(a.map(String).join(" ")));
    delete process.env.OPENAI_API_KEY;
    const pid = await owner.as.mutation(api.agent.providers.create, {
      label: "Main",
      kind: "openai",
      apiKeyEnvVar: "OPENAI_API_KEY",
    });
    await owner.as.mutation(api.agent.config.update, {
      providerId: pid,
      model: "gpt-4o-mini",
      fallbackModel: "offline",
    });
    let act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    const sw = act.find((a) => a.kind === "agent.model_switch")!;
    expect(sw).toMatchObject({
      visibility: "private",
      meta: { from: { provider: "offline", model: "offline" }, to: { provider: "openai:Main", model: "gpt-4o-mini" } },
    });

    const reply = await say(t, "call me at +44 7700 900123 or ada@example.com");
    expect(reply).toMatchObject({ status: "done" });
    expect(reply.text.startsWith(OFFLINE_PREFIX)).toBe(true);
    act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    expect(act.find((a) => a.kind === "agent.provider_error")?.meta).toMatchObject({
      code: "PROVIDER_ERROR",
      reason: "api_key_missing",
      provider: "Main",
    });
    expect(act.find((a) => a.kind === "agent.fallback")).toMatchObject({
      summary: "Fallback model activated",
      meta: { to: { model: "offline" }, reason: "api_key_missing" },
    });
    expect(act.find((a) => a.kind === "agent.reply")?.meta).toMatchObject({ fallback: true, provider: "offline" });
    expect(logs.join("\n")).toContain("agent.fallback_activated");
    for (const text of [JSON.stringify(act), logs.join("\n")]) {
      expect(text).not.toMatch(/7700|ada@example|call me/);
    }
  });

  test("no fallback: the reply fails with PROVIDER_ERROR and a fixed text", async () => {
    const { t, owner } = await publicChat();
    const pid = await owner.as.mutation(api.agent.providers.create, { label: "A", kind: "anthropic" });
    await owner.as.mutation(api.agent.config.update, { providerId: pid, model: "claude-sonnet-4-5" });
    delete process.env.ANTHROPIC_API_KEY;
    const reply = await say(t, "hello");
    expect(reply).toMatchObject({ status: "error", errorCode: "PROVIDER_ERROR", text: UNAVAILABLE_TEXT });
    const act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    expect(act.map((a) => a.kind)).toEqual(expect.arrayContaining(["agent.provider_error", "agent.reply_failed"]));
    expect(act.some((a) => a.kind === "agent.fallback")).toBe(false);
  });
});

describe("tool calls go through the security checker", () => {
  beforeEach(() => vi.useRealTimers());
  test("/skill on an approved, enabled skill runs via invokeSkill (logged with caller agent); canary secret never reaches the model", async () => {
    const { t, owner } = await publicChat();
    const skillId = await approvedCodeSkill(t, owner, "word_count");
    await owner.as.mutation(api.skills.registry.approve, { skillId });
    const CANARY = "canary-7f3a9c1e-secret-value-0042";
    await owner.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "API_TOKEN", value: CANARY });
    await owner.as.mutation(api.agent.config.update, { enabledSkillIds: [skillId] });
    // web visitors get no tool unless the owner grants it
    await owner.as.mutation(api.agency.grants.set, {
      toolRef: "skill:word_count",
      audience: "webVisitor",
      policy: "allow",
    });

    const reply = await say(t, '/skill word_count {"text":"one two three"}', { realTimers: true });
    expect(reply.status).toBe("done");
    expect(reply.text).toContain("skill word_count → ok:");
    expect(reply.text).toContain('"words":3');
    const log = await t.run((ctx) => ctx.db.query("invocationLog").collect());
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      targetKind: "skill",
      targetName: "word_count",
      callerKind: "agent",
      code: "OK",
      allowed: true,
    });
    // the model saw the tool result, and never the canary
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.some((p) => p.messages.some((m) => m.role === "tool" && m.content.includes('"words":3')))).toBe(true);
    expect(JSON.stringify(seen)).not.toContain(CANARY);
    expect(JSON.stringify(await t.run((ctx) => ctx.db.query("messages").collect()))).not.toContain(CANARY);
    expect(JSON.stringify(await t.run((ctx) => ctx.db.query("activityLog").collect()))).not.toContain(CANARY);
  });

  test("the checker's denial code is what the model sees (unapproved skill → SKILL_NOT_APPROVED, logged)", async () => {
    const { t, owner } = await publicChat();
    const skillId = await approvedCodeSkill(t, owner, "word_count"); // synced as pending, not approved
    await owner.as.mutation(api.agent.config.update, { enabledSkillIds: [skillId] });
    await owner.as.mutation(api.agency.grants.set, {
      toolRef: "skill:word_count",
      audience: "webVisitor",
      policy: "allow",
    });
    const reply = await say(t, '/skill word_count {"text":"x"}', { realTimers: true });
    expect(reply.text).toContain("skill word_count → not done. That tool isn't available right now."); // the log has the code
    expect(reply.text).not.toContain("SKILL_NOT_APPROVED");
    const log = await t.run((ctx) => ctx.db.query("invocationLog").collect());
    expect(log[0]).toMatchObject({ code: "SKILL_NOT_APPROVED", allowed: false, callerKind: "agent" });
  });

  test("a skill the agent config does not enable is refused before any call (TOOL_NOT_ENABLED)", async () => {
    const { t, owner } = await publicChat();
    const skillId = await approvedCodeSkill(t, owner, "word_count");
    await owner.as.mutation(api.skills.registry.approve, { skillId });
    const reply = await say(t, '/skill word_count {"text":"x"}', { realTimers: true });
    expect(reply.text).toContain("not done. That tool isn't available in this conversation.");
    // never reaches the checker, but the denial is in the invocation log and the security events (issue 21 item 4)
    const log = await t.run((ctx) => ctx.db.query("invocationLog").collect());
    expect(log.map((r) => [r.code, r.allowed, r.callerKind])).toEqual([["TOOL_NOT_ENABLED", false, "agent"]]);
    expect((await t.run((ctx) => ctx.db.query("securityEvents").collect())).map((e) => e.code)).toEqual([
      "TOOL_NOT_ENABLED",
    ]);
  });

  test("/mcp server/tool goes through callMcpTool (unapproved tool → MCP_TOOL_NOT_APPROVED, logged)", async () => {
    const { t, owner } = await publicChat();
    const serverId = await t.run((ctx) =>
      ctx.db.insert("mcpServers", {
        workspaceId: owner.workspaceId,
        name: "docs",
        url: "https://mcp.example.com/mcp",
        status: "approved",
        enabled: true,
        timeoutMs: 5000,
        maxOutputBytes: 10000,
        healthStatus: "unknown",
        consecutiveFailures: 0,
        createdAt: 0,
        updatedAt: 0,
      }),
    );
    await owner.as.mutation(api.agent.config.update, { enabledMcpServerIds: [serverId] });
    const reply = await say(t, '/mcp docs/search {"q":"x"}', { realTimers: true });
    expect(reply.text).toContain("mcp docs/search → not done. That tool isn't available right now.");
    const log = await t.run((ctx) => ctx.db.query("invocationLog").collect());
    expect(log[0]).toMatchObject({ targetKind: "mcp", code: "MCP_TOOL_NOT_APPROVED", callerKind: "agent" });
  });

  test("credential shapes in the soul or messages are masked before the model sees them", async () => {
    const { t, owner } = await publicChat();
    const key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345";
    await owner.as.mutation(api.agent.config.update, { soul: `Use key ${key}` });
    await say(t, `my key is ${key}`, { realTimers: true });
    expect(JSON.stringify(seen)).not.toContain(key);
    expect(JSON.stringify(seen)).toContain("[REDACTED]");
  });
});
