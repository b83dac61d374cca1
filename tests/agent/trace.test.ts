// @vitest-environment node
// OpenTelemetry traces of agent runs (convex/lib/trace.ts, convex/agent/run.ts): exported to a
// loopback OTLP/HTTP collector only when the operator sets an endpoint, with the span tree
// run → model → checker → tool, and never a word of the conversation, a tool argument or a secret.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { api, internal } from "../../convex/_generated/api";
import type { OtlpBody, OtlpSpan } from "../../convex/lib/trace";
import type { T } from "../harness";
import { messages, publicChat, session, thread, waitForReply } from "../chat/setup";

type Export = { path: string; headers: IncomingHttpHeaders; raw: string; spans: OtlpSpan[] };
let collector: Server;
let endpoint = "";
const exports: Export[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw) as OtlpBody;
      exports.push({
        path: req.url ?? "",
        headers: req.headers,
        raw,
        spans: body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => collector.close(() => r())));

// unique canaries: in the message text, in tool arguments, and in secret values
const MSG = "canarymsg4f1d8e";
const ARG = "canaryarg9b2c7a";
const ARG2 = "canaryarg2d55e0";
const SKILL_SECRET = "canary-skill-secret-6a0e3b91";
const MODEL_KEY = "canary-model-key-c3d9f27a";
const OTLP_TOKEN = "canary-otlp-token-81e4aa02";
const UNKNOWN_SKILL = "canaryskill7e3f";
const CANARIES = [MSG, ARG, ARG2, SKILL_SECRET, MODEL_KEY, OTLP_TOKEN, UNKNOWN_SKILL];

const ENV = ["WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "WARDEN_MODEL_KEY_TRACECANARY"];
beforeEach(() => {
  exports.length = 0;
  vi.spyOn(console, "warn").mockImplementation(() => undefined); // the failing primary model logs on every turn
  process.env.WARDEN_MODEL_KEY_TRACECANARY = MODEL_KEY; // declared, but bound to no host: the primary fails without a request
});
afterEach(() => {
  for (const k of ENV) delete process.env[k];
  vi.restoreAllMocks();
});

/** An owner whose agent has a skill (with a secret), an MCP server whose tool is not approved, and a failing primary model. */
async function setup() {
  const { t, owner } = await publicChat();
  await t.mutation(internal.skills.codeSync.sync, {});
  const skill = await t.run(async (ctx) =>
    ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", owner.workspaceId).eq("name", "word_count"))
      .unique(),
  );
  const skillId = skill!._id;
  await owner.as.mutation(api.skills.registry.approve, { skillId });
  await owner.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "API_TOKEN", value: SKILL_SECRET });
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
  const pid = await owner.as.mutation(api.agent.providers.create, {
    label: "Primary",
    kind: "openai-compatible",
    baseUrl: "https://llm.example.com/v1",
    apiKeyEnvVar: "WARDEN_MODEL_KEY_TRACECANARY",
  });
  await owner.as.mutation(api.agent.config.update, {
    providerId: pid,
    model: "gpt-4o-mini",
    fallbackModel: "offline",
    enabledSkillIds: [skillId],
    enabledMcpServerIds: [serverId],
  });
  await owner.as.mutation(api.agency.grants.set, {
    toolRef: "skill:word_count",
    audience: "webVisitor",
    policy: "allow",
  });
  const s = await session(t);
  const th = await thread(t, s);
  return { t, owner, s, th };
}

/** One turn; waits for the reply and then for the run's action to end (the export comes after the reply). */
async function turn(t: T, s: string, th: string, text: string) {
  const r = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th as never, text });
  expect(r.ok).toBe(true);
  const reply = await waitForReply(t, s, th as never);
  await t.finishInProgressScheduledFunctions();
  return reply;
}

const attrs = (s: OtlpSpan) => Object.fromEntries(s.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
const one = (spans: OtlpSpan[], name: string, pred: (s: OtlpSpan) => boolean = () => true) => {
  const found = spans.filter((s) => s.name === name && pred(s));
  expect(found, name).toHaveLength(1);
  return found[0];
};

describe("agent run traces", () => {
  test("with an endpoint set: one OTLP/HTTP JSON export per run, span tree run → model → checker → tool", async () => {
    process.env.WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    process.env.OTEL_EXPORTER_OTLP_TRACES_HEADERS = `Authorization=Bearer%20${OTLP_TOKEN}`;
    const { t, owner, s, th } = await setup();

    // 1. a skill call the checker allows (after the primary model failed over to the offline one)
    const r1 = await turn(t, s, th, `/skill word_count {"text":"${ARG} two three"}`);
    expect(r1.text).toContain("skill word_count → ok:");
    expect(exports).toHaveLength(1);
    const ex = exports[0];
    expect(ex.path).toBe("/v1/traces");
    expect(ex.headers["content-type"]).toBe("application/json");
    expect(ex.headers.authorization).toBe(`Bearer ${OTLP_TOKEN}`); // the operator's header, sent as a header only
    const spans = ex.spans;
    expect(new Set(spans.map((x) => x.traceId)).size).toBe(1);
    const run = one(spans, "warden.agent.run");
    expect(run.parentSpanId).toBeUndefined();
    expect(run.kind).toBe(2);
    expect(run.status).toEqual({ code: 1 });
    expect(attrs(run)).toMatchObject({
      "warden.workspace_id": owner.workspaceId,
      "warden.thread_id": th,
      "warden.run_id": r1._id,
      "warden.channel": "web",
      "warden.audience": "webVisitor",
      "warden.status": "done",
      "warden.tool_calls": "1",
      "warden.fallback": true,
    });
    const primary = one(spans, "warden.agent.model", (x) => attrs(x)["warden.model.role"] === "primary");
    const fallback = one(spans, "warden.agent.model", (x) => attrs(x)["warden.model.role"] === "fallback");
    for (const m of [primary, fallback]) expect(m.parentSpanId).toBe(run.spanId);
    expect(attrs(primary)).toMatchObject({
      "gen_ai.system": "openai-compatible",
      "gen_ai.request.model": "gpt-4o-mini",
      "warden.model.outcome": "host_not_allowed",
    });
    expect(primary.status).toEqual({ code: 2, message: "PROVIDER_ERROR" });
    expect(attrs(fallback)).toMatchObject({
      "gen_ai.system": "offline",
      "warden.model.outcome": "ok",
      "warden.tool_calls": "1",
    });
    const checker = one(spans, "warden.checker");
    expect(checker.parentSpanId).toBe(fallback.spanId);
    expect(attrs(checker)).toEqual({
      "warden.tool.kind": "skill",
      "warden.skill.name": "word_count",
      "warden.checker.stage": "checker",
      "warden.checker.code": "OK",
      "warden.checker.allowed": true,
    });
    const tool = one(spans, "warden.tool");
    expect(tool.parentSpanId).toBe(checker.spanId);
    expect(attrs(tool)).toEqual({ "warden.tool.kind": "skill", "warden.checker.code": "OK" });
    expect(tool.status).toEqual({ code: 1 });
    // nested in time too
    for (const [outer, inner] of [
      [run, fallback],
      [fallback, checker],
      [checker, tool],
    ]) {
      expect(BigInt(inner.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(outer.startTimeUnixNano));
      expect(BigInt(inner.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(outer.endTimeUnixNano));
    }

    // 2. an MCP tool call the checker denies: its code on the checker and tool spans
    await turn(t, s, th, `/mcp docs/search {"q":"${ARG2}"}`);
    expect(exports).toHaveLength(2);
    const spans2 = exports[1].spans;
    expect(spans2[0].traceId).not.toBe(spans[0].traceId); // one trace per run
    const checker2 = one(spans2, "warden.checker");
    // the server is configured; the tool name came from the model and names no approved tool: left out
    expect(attrs(checker2)).toEqual({
      "warden.tool.kind": "mcp",
      "warden.mcp.server": "docs",
      "warden.checker.stage": "checker",
      "warden.checker.code": "MCP_TOOL_NOT_APPROVED",
      "warden.checker.allowed": false,
    });
    expect(checker2.status).toEqual({ code: 2, message: "MCP_TOOL_NOT_APPROVED" });
    const tool2 = one(spans2, "warden.tool");
    expect(tool2.parentSpanId).toBe(checker2.spanId);
    expect(attrs(tool2)).toMatchObject({ "warden.tool.kind": "mcp", "warden.checker.code": "MCP_TOOL_NOT_APPROVED" });
    expect(one(spans2, "warden.agent.model", (x) => attrs(x)["warden.model.role"] === "fallback").spanId).toBe(
      checker2.parentSpanId,
    );

    // 3. a skill the model made up: refused in the run (no checker call, no tool span), its name not recorded
    await turn(t, s, th, `/skill ${UNKNOWN_SKILL} {"text":"${ARG}"}`);
    const spans3 = exports[2].spans;
    expect(attrs(one(spans3, "warden.checker"))).toEqual({
      "warden.tool.kind": "skill",
      "warden.checker.stage": "run",
      "warden.checker.code": "TOOL_NOT_ENABLED",
      "warden.checker.allowed": false,
    });
    expect(spans3.some((x) => x.name === "warden.tool")).toBe(false);

    // 4. plain text: run and model spans only
    await turn(t, s, th, `hello ${MSG}, what's up?`);
    expect(exports[3].spans.map((x) => x.name).sort()).toEqual([
      "warden.agent.model",
      "warden.agent.model",
      "warden.agent.run",
    ]);
    expect(exports).toHaveLength(4);
  });

  test("canary: message text, tool arguments and secret values appear nowhere in any exported body", async () => {
    process.env.WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    process.env.OTEL_EXPORTER_OTLP_TRACES_HEADERS = `Authorization=Bearer%20${OTLP_TOKEN}`;
    const { t, s, th } = await setup();
    await turn(t, s, th, `/skill word_count {"text":"${ARG} ${MSG}"}`);
    await turn(t, s, th, `/mcp docs/search {"q":"${ARG2}"}`);
    await turn(t, s, th, `/skill ${UNKNOWN_SKILL} {"text":"${ARG}"}`);
    await turn(t, s, th, `please repeat ${MSG} back to me`);
    expect(exports).toHaveLength(4);
    // the canaries were really in the run: the thread holds them (the replies echo them)
    const stored = JSON.stringify(await messages(t, s, th));
    for (const c of [MSG, ARG, ARG2, UNKNOWN_SKILL]) expect(stored).toContain(c);
    const all = exports.map((e) => e.raw).join("\n");
    expect(all).toContain("word_count"); // and the bodies are not empty
    for (const c of CANARIES) {
      expect(all).not.toContain(c);
      expect(all.toLowerCase()).not.toContain(c.toLowerCase());
    }
    // no URL, query string or address either
    expect(all).not.toMatch(/https?:|\?|127\.0\.0\.1|example\.com|198\.18\./);
  });

  test("with no endpoint set: no export at all, and the run is unchanged", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const { t, s, th } = await setup();
    const r = await turn(t, s, th, `/skill word_count {"text":"${ARG}"}`);
    expect(r.text).toContain("skill word_count → ok:");
    await turn(t, s, th, `hello ${MSG}`);
    await new Promise((res) => setTimeout(res, 100));
    expect(exports).toHaveLength(0);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  test("a collector that does not answer delays only the end of the action, by the timeout; the reply is stored first", async () => {
    const hang = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
    const warn = vi.mocked(console.warn);
    try {
      process.env.WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
      process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = "300";
      const { t, s, th } = await setup();
      const t0 = Date.now();
      const r = await turn(t, s, th, "hi");
      expect(r.status).toBe("done");
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/trace\.export_failed.*"reason":"timeout"/);
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });
});
