import { afterEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import {
  ATTRIBUTES,
  DEFAULT_TIMEOUT_MS,
  MAX_BODY_BYTES,
  MAX_TIMEOUT_MS,
  NOOP_TRACE,
  SpanKind,
  StatusCode,
  allowedValue,
  exportStats,
  exportTrace,
  newTrace,
  randomHexId,
  toOtlp,
  traceSetting,
  unixNanos,
  type TraceConfig,
} from "./trace";
import { isModelKeyVariable } from "../agent/providerRules";

afterEach(() => vi.restoreAllMocks());

const CONFIG: TraceConfig = {
  url: "http://127.0.0.1:4318/v1/traces",
  headers: {},
  timeoutMs: 1000,
  serviceName: "warden",
};

describe("ids and time", () => {
  test("W3C ids: 16/8 random bytes as lower-case hex, never all zeros", () => {
    expect(randomHexId(16)).toMatch(/^[0-9a-f]{32}$/);
    expect(randomHexId(8)).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(Array.from({ length: 200 }, () => randomHexId(8))).size).toBe(200);
    // an all-zero draw is invalid and drawn again
    let n = 0;
    const random = (len: number) => (n++ === 0 ? new Uint8Array(len) : new Uint8Array(len).fill(0xab));
    expect(randomHexId(8, random)).toBe("abababababababab");
    expect(n).toBe(2);
  });

  test("unix nanos as decimal strings, exact beyond 2^53", () => {
    expect(unixNanos(0)).toBe("0");
    expect(unixNanos(1)).toBe("1000000");
    expect(unixNanos(1_700_000_000_123)).toBe("1700000000123000000");
    expect(unixNanos(1_700_000_000_123.25)).toBe("1700000000123250000");
    expect(unixNanos(0.0015)).toBe("2000"); // rounded to the microsecond
    expect(unixNanos(-5)).toBe("0");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        expect(BigInt(unixNanos(ms))).toBe(BigInt(ms) * 1_000_000n);
      }),
    );
  });
});

describe("attribute allowlist", () => {
  test("only listed keys, each with its shape", () => {
    expect(allowedValue("warden.workspace_id", "jd7abc123;workspaces")).toBe("jd7abc123;workspaces");
    expect(allowedValue("warden.skill.name", "word_count")).toBe("word_count");
    expect(allowedValue("gen_ai.request.model", "gpt-4o-mini-2024-07-18")).toBe("gpt-4o-mini-2024-07-18");
    expect(allowedValue("gen_ai.request.model", "anthropic/claude-sonnet-4.5")).toBe("anthropic/claude-sonnet-4.5");
    expect(allowedValue("gen_ai.request.model", "llama3:8b")).toBe("llama3:8b");
    expect(allowedValue("warden.checker.code", "SKILL_NOT_APPROVED")).toBe("SKILL_NOT_APPROVED");
    expect(allowedValue("warden.tool_calls", 3.2)).toBe(3);
    expect(allowedValue("warden.tainted", true)).toBe(true);
    expect(allowedValue("warden.audience", "webVisitor")).toBe("webVisitor");
    expect(allowedValue("gen_ai.system", "openai")).toBe("openai");
  });

  test.each([
    ["message.text", "hello"],
    ["gen_ai.prompt", "hi"],
    ["tool.input", "{}"],
    ["url.full", "https://x.example.com/a"],
    ["warden.audience", "admin"],
    ["gen_ai.system", "evil"],
    ["warden.checker.code", "not a code"],
    ["warden.checker.code", "OK; DROP"],
    ["warden.tool_calls", -1],
    ["warden.tool_calls", Number.NaN],
    ["warden.tool_calls", "3"],
    ["warden.tainted", "true"],
    ["warden.workspace_id", "has space"],
    ["warden.workspace_id", "x".repeat(65)],
    ["warden.skill.name", "two words"],
    ["warden.skill.name", "https://evil.example.com/?q=secret"],
    ["warden.skill.name", "a?b=c"],
    ["warden.skill.name", "user@example.com"],
    ["warden.skill.name", "10.0.0.1"],
    ["warden.skill.name", "127.0.0.1:8080"],
    ["warden.mcp.server", "fe80::1"],
    ["warden.mcp.server", "::ffff:127.0.0.1"],
    ["gen_ai.request.model", "sk-proj-abcdefghijklmnopqrstuvwx"],
    ["gen_ai.request.model", "ghp_abcdefghijklmnopqrstuvwxyz0123"],
    ["gen_ai.request.model", "AKIAIOSFODNN7EXAMPLE"],
    ["gen_ai.request.model", "0123456789abcdef0123456789abcdef"],
    ["warden.skill.name", "+447700900123"],
    ["toString", "x"],
    ["__proto__", "x"],
  ])("%s = %j is dropped", (key, value) => {
    expect(allowedValue(key, value)).toBeUndefined();
  });

  test("no allowlisted key is a content, argument, output, URL or credential key", () => {
    for (const key of Object.keys(ATTRIBUTES)) {
      expect(key).not.toMatch(
        /text|content|prompt|completion|input|output|arg|secret|token|key|url|ip|address|header|body|message|label|description/i,
      );
    }
  });

  test("a span drops and counts what the allowlist refuses; at most 32 attributes", () => {
    const tr = newTrace();
    const s = tr.root("warden.agent.run", { "warden.status": "done", "warden.checker.code": "lower" });
    s.set({ ["gen_ai.prompt" as never]: "hello", "warden.tool_calls": 2 });
    s.end();
    const [rec] = tr.spans();
    expect(Object.fromEntries(rec.attributes)).toEqual({ "warden.status": "done", "warden.tool_calls": 2 });
    expect(rec.dropped).toBe(2);
  });

  test("OTEL_* variables are not model-key variables (a provider row cannot name them)", () => {
    for (const name of [
      "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
      "WARDEN_OTEL_EXPORTER_OTLP_HEADERS",
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]) {
      expect(isModelKeyVariable(name)).toBe(false);
    }
  });
});

describe("configuration", () => {
  test("off by default and when only unrelated variables are set", () => {
    expect(traceSetting({})).toEqual({ on: false, reason: "off" });
    expect(traceSetting({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toEqual({
      on: false,
      reason: "off",
    });
    expect(traceSetting({ WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "  " })).toEqual({ on: false, reason: "off" });
  });

  test("Warden base URL gets /v1/traces; the standard traces URL is used as is and wins", () => {
    expect(traceSetting({ WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/" })).toEqual({
      on: true,
      config: {
        url: "http://127.0.0.1:4318/v1/traces",
        headers: {},
        timeoutMs: DEFAULT_TIMEOUT_MS,
        serviceName: "warden",
      },
    });
    const s = traceSetting({
      WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otel.example.com/custom/traces",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "999999",
      OTEL_SERVICE_NAME: "warden-prod",
    });
    expect(s).toMatchObject({
      on: true,
      config: { url: "https://otel.example.com/custom/traces", timeoutMs: MAX_TIMEOUT_MS, serviceName: "warden-prod" },
    });
  });

  test("headers: name=value pairs, values percent-decoded; standard variable wins", () => {
    const s = traceSetting({
      WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
      WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc,x-tenant=t1",
    });
    expect(s).toMatchObject({ on: true, config: { headers: { Authorization: "Bearer abc", "x-tenant": "t1" } } });
    const std = traceSetting({
      WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
      WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "a=1",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "b=2",
    });
    expect(std).toMatchObject({ on: true, config: { headers: { b: "2" } } });
    // variables copied empty from .env.example count as unset
    const empty = traceSetting({
      WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
      WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "a=1",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "",
      OTEL_SERVICE_NAME: "",
    });
    expect(empty).toEqual({
      on: true,
      config: {
        url: "https://otel.example.com/v1/traces",
        headers: { a: "1" },
        timeoutMs: DEFAULT_TIMEOUT_MS,
        serviceName: "warden",
      },
    });
  });

  test.each([
    [{ WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }],
    [{ WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://otel.example.com" }],
    [{ WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://user:pass@otel.example.com" }],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otel.example.com/v1/traces#x" }],
    [{ WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com", WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "novalue" }],
    [
      {
        WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
        WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "Host=evil",
      },
    ],
    [
      {
        WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
        WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "a=b%0D%0AX-Injected:1",
      },
    ],
    [
      {
        WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
        WARDEN_OTEL_EXPORTER_OTLP_HEADERS: "bad name=1",
      },
    ],
  ])("unusable setting %j → off (invalid)", (env) => {
    expect(traceSetting(env)).toEqual({ on: false, reason: "invalid" });
  });
});

describe("OTLP JSON", () => {
  test("resourceSpans → scopeSpans → spans, hex ids, parent links, nanos strings, kinds and status", () => {
    let clock = 1_700_000_000_000;
    const tr = newTrace({ now: () => clock });
    const run = tr.root("warden.agent.run", { "warden.workspace_id": "ws1", "warden.tainted": false }, SpanKind.SERVER);
    clock += 5;
    const model = run.child("warden.agent.model", { "gen_ai.system": "offline" }, SpanKind.CLIENT);
    clock += 1;
    const checker = model.child("warden.checker", { "warden.tool.kind": "skill" });
    const tool = checker.child("warden.tool", {}, SpanKind.CLIENT);
    clock += 2;
    tool.end("SKILL_NOT_APPROVED");
    checker.end("not a code");
    model.end();
    clock += 1;
    run.end();
    run.end("INTERNAL"); // the first end stays

    const body = toOtlp(tr.spans(), "warden-test");
    expect(body.resourceSpans).toHaveLength(1);
    const rs = body.resourceSpans[0];
    expect(rs.resource.attributes).toEqual([{ key: "service.name", value: { stringValue: "warden-test" } }]);
    expect(rs.scopeSpans[0].scope).toEqual({ name: "warden.agent", version: "1" });
    const spans = rs.scopeSpans[0].spans;
    expect(spans.map((s) => s.name)).toEqual([
      "warden.agent.run",
      "warden.agent.model",
      "warden.checker",
      "warden.tool",
    ]);
    for (const s of spans) {
      expect(s.traceId).toBe(tr.traceId);
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(s.startTimeUnixNano).toMatch(/^\d+$/);
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    }
    expect(spans[0].parentSpanId).toBeUndefined();
    expect(spans[1].parentSpanId).toBe(spans[0].spanId);
    expect(spans[2].parentSpanId).toBe(spans[1].spanId);
    expect(spans[3].parentSpanId).toBe(spans[2].spanId);
    expect(spans.map((s) => s.kind)).toEqual([2, 3, 1, 3]);
    expect(spans[0]).toMatchObject({
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000009000000",
      status: { code: StatusCode.OK },
    });
    expect(spans[0].attributes).toEqual([
      { key: "warden.workspace_id", value: { stringValue: "ws1" } },
      { key: "warden.tainted", value: { boolValue: false } },
    ]);
    expect(spans[3].status).toEqual({ code: StatusCode.ERROR, message: "SKILL_NOT_APPROVED" });
    expect(spans[2].status).toEqual({ code: StatusCode.ERROR }); // a message that is not a code is left out
  });

  test("an integer attribute is an int64 string; an open span is ended at export", () => {
    const tr = newTrace({ now: () => 1000 });
    tr.root("warden.agent.run", { "warden.tool_calls": 7 });
    const [s] = toOtlp(tr.spans()).resourceSpans[0].scopeSpans[0].spans;
    expect(s.attributes).toEqual([{ key: "warden.tool_calls", value: { intValue: "7" } }]);
    expect(s.endTimeUnixNano).toBe("1000000000");
    expect(s.status).toEqual({ code: StatusCode.UNSET });
  });

  test("at most maxSpans spans; the rest are counted, not recorded", () => {
    const tr = newTrace({ maxSpans: 3 });
    const run = tr.root("warden.agent.run");
    for (let i = 0; i < 5; i++) run.child("warden.checker").end();
    expect(tr.spans()).toHaveLength(3);
    expect(tr.droppedSpans).toBe(3);
  });

  test("tracing off: nothing is recorded", () => {
    const run = NOOP_TRACE.root("warden.agent.run", { "warden.status": "done" });
    run.child("warden.agent.model").child("warden.checker").end();
    expect(NOOP_TRACE.spans()).toEqual([]);
    expect(NOOP_TRACE.enabled).toBe(false);
  });
});

describe("export", () => {
  function oneSpan() {
    const tr = newTrace();
    tr.root("warden.agent.run", { "warden.status": "done" }).end();
    return tr;
  }

  test("POSTs JSON with the operator's headers, no redirects; 2xx → ok", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetchStub = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response("{}", { status: 200 });
    }) as unknown as typeof fetch;
    const before = exportStats.exported;
    const r = await exportTrace(oneSpan(), { ...CONFIG, headers: { Authorization: "Bearer t" } }, fetchStub);
    expect(r).toEqual({ ok: true, status: 200, spans: 1 });
    expect(exportStats.exported).toBe(before + 1);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe(CONFIG.url);
    expect(calls[0].init).toMatchObject({
      method: "POST",
      redirect: "manual",
      headers: { Authorization: "Bearer t", "content-type": "application/json" },
    });
    expect(JSON.parse(calls[0].init.body as string).resourceSpans[0].scopeSpans[0].spans).toHaveLength(1);
  });

  test.each([
    ["http status", async () => new Response("no", { status: 503 }), { ok: false, reason: "http_status", status: 503 }],
    [
      "redirect",
      async () => new Response(null, { status: 307, headers: { location: "http://elsewhere.example.com/" } }),
      { ok: false, reason: "http_status", status: 307 },
    ],
    ["network", async () => Promise.reject(new TypeError("fetch failed")), { ok: false, reason: "network" }],
  ])("%s → counted and logged, never thrown", async (_name, impl, expected) => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const before = exportStats.failed;
    await expect(exportTrace(oneSpan(), CONFIG, impl as unknown as typeof fetch)).resolves.toEqual(expected);
    expect(exportStats.failed).toBe(before + 1);
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toContain("trace.export_failed");
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).not.toContain("127.0.0.1");
  });

  test("a collector that never answers: gives up at the timeout and aborts the request", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    let signal: AbortSignal | undefined;
    const hang = ((_u: string, init: RequestInit) => {
      signal = init.signal ?? undefined;
      return new Promise(() => undefined);
    }) as unknown as typeof fetch;
    const t0 = Date.now();
    await expect(exportTrace(oneSpan(), { ...CONFIG, timeoutMs: 150 }, hang)).resolves.toEqual({
      ok: false,
      reason: "timeout",
    });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(signal?.aborted).toBe(true);
  });

  test("a body over the cap is not sent", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const tr = newTrace({ maxSpans: 100_000 });
    const run = tr.root("warden.agent.run");
    for (let i = 0; i < 2_000; i++)
      run.child("warden.checker", { "warden.workspace_id": "w".repeat(64), "warden.thread_id": "t".repeat(64) }).end();
    const fetchStub = vi.fn();
    expect(JSON.stringify(toOtlp(tr.spans())).length).toBeGreaterThan(MAX_BODY_BYTES);
    await expect(exportTrace(tr, CONFIG, fetchStub as unknown as typeof fetch)).resolves.toEqual({
      ok: false,
      reason: "too_large",
    });
    expect(fetchStub).not.toHaveBeenCalled();
  });

  test("an empty trace sends nothing", async () => {
    const fetchStub = vi.fn();
    await expect(exportTrace(NOOP_TRACE, CONFIG, fetchStub as unknown as typeof fetch)).resolves.toEqual({
      ok: false,
      reason: "empty",
    });
    expect(fetchStub).not.toHaveBeenCalled();
  });
});
