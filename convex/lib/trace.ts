/**
 * Optional OpenTelemetry traces of one agent run (run → model → checker → tool), off unless the
 * operator sets an OTLP endpoint. Spans are kept in memory during the action and sent once at its
 * end as OTLP/HTTP JSON with `fetch` (works in Convex's default runtime and in Node), bounded by a
 * timeout and a size cap; export problems are counted and logged, never thrown.
 *
 * What a span may carry is decided here and nowhere else: a fixed set of span names and attribute
 * keys, each with a value shape (ids, names, catalogue codes, counts, durations, booleans, small
 * enums). Anything else is dropped and counted, so message text, tool arguments and outputs,
 * secrets, tokens, URLs and addresses cannot reach the collector through this module. Callers
 * still pass names only from the owner's configuration, never names the model made up.
 * Pure; no Convex imports.
 */
import { redact, redactPII } from "./redact";
import { logWarn } from "./log";
import { PLATFORMS } from "../channels/platforms/index";

// ---------------------------------------------------------------------------------------------
// configuration (operator tier: environment only, never a workspace row)

// Variables (read with literal names, so the repository-wide scans of operator variables see them):
//   WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT   base URL; `/v1/traces` is appended (like OTEL_EXPORTER_OTLP_ENDPOINT)
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   full traces URL, used as is; wins over the Warden variable
//   OTEL_EXPORTER_OTLP_TRACES_HEADERS    `name=value,…`, values percent-encoded (or WARDEN_OTEL_EXPORTER_OTLP_HEADERS)
//   OTEL_EXPORTER_OTLP_TRACES_TIMEOUT    export timeout in ms, clamped to [MIN_TIMEOUT_MS, MAX_TIMEOUT_MS]
//   OTEL_SERVICE_NAME                    resource service.name (default "warden")

export const DEFAULT_TIMEOUT_MS = 3_000;
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 10_000;
export const MAX_SPANS = 256;
export const MAX_ATTRIBUTES = 32;
export const MAX_BODY_BYTES = 256 * 1024;
const MAX_HEADERS = 16;
const DEFAULT_SERVICE = "warden";
const SCOPE = { name: "warden.agent", version: "1" };

export type TraceConfig = { url: string; headers: Record<string, string>; timeoutMs: number; serviceName: string };
/** `off`: nothing set. `invalid`: set but unusable (tracing stays off; the value is never logged). */
export type TraceSetting = { on: true; config: TraceConfig } | { on: false; reason: "off" | "invalid" };

const FORBIDDEN_HEADERS = new Set([
  "host",
  "content-type",
  "content-length",
  "transfer-encoding",
  "connection",
  "te",
  "upgrade",
  "expect",
  "keep-alive",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

function parseHeaders(raw: string | undefined): Record<string, string> | null {
  const out: Record<string, string> = {};
  if (!raw || !raw.trim()) return out;
  const pairs = raw.split(",");
  if (pairs.length > MAX_HEADERS) return null;
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return null;
    const name = pair.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return null;
    }
    if (
      !HEADER_NAME.test(name) ||
      FORBIDDEN_HEADERS.has(name.toLowerCase()) ||
      /[\r\n\0]/.test(value) ||
      value.length > 4096
    )
      return null;
    out[name] = value;
  }
  return out;
}

function endpointUrl(env: Record<string, string | undefined>): string | null | undefined {
  const full = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]?.trim();
  const base = env["WARDEN_OTEL_EXPORTER_OTLP_ENDPOINT"]?.trim();
  if (!full && !base) return undefined;
  let u: URL;
  try {
    u = new URL(full || `${base!.replace(/\/+$/, "")}/v1/traces`);
  } catch {
    return null;
  }
  // credentials belong in the headers variable, never in a URL that could be printed
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.username || u.password || u.hash) return null;
  return u.href;
}

/** Reads the operator's variables. Off by default; an unusable setting is off too. */
export function traceSetting(env: Record<string, string | undefined>): TraceSetting {
  const url = endpointUrl(env);
  if (url === undefined) return { on: false, reason: "off" };
  const headers = parseHeaders(env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] || env["WARDEN_OTEL_EXPORTER_OTLP_HEADERS"]);
  if (url === null || headers === null) return { on: false, reason: "invalid" };
  const t = Number(env["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"]);
  const timeoutMs =
    Number.isFinite(t) && t > 0
      ? Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_MS, Math.round(t)))
      : DEFAULT_TIMEOUT_MS;
  const service = env["OTEL_SERVICE_NAME"]?.trim();
  return {
    on: true,
    config: {
      url,
      headers,
      timeoutMs,
      serviceName: service && cleanName(service) !== undefined ? service : DEFAULT_SERVICE,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ids and time

/** `n` random bytes as lower-case hex, never all zeros (an invalid W3C id). */
export function randomHexId(
  bytes: 16 | 8,
  random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
): string {
  for (;;) {
    const b = random(bytes);
    const hex = Array.from(b.subarray(0, bytes), (x) => x.toString(16).padStart(2, "0")).join("");
    if (hex.length === bytes * 2 && /[^0]/.test(hex)) return hex;
  }
}

/** Unix epoch milliseconds (fractions kept to the microsecond) as an OTLP fixed64 nanosecond string. */
export function unixNanos(ms: number): string {
  const us = BigInt(Math.max(0, Math.round(ms * 1000)));
  return (us * 1000n).toString();
}

// ---------------------------------------------------------------------------------------------
// the allowlist

export const SPAN_NAMES = ["warden.agent.run", "warden.agent.model", "warden.checker", "warden.tool"] as const;
export type SpanName = (typeof SPAN_NAMES)[number];

type Shape = "id" | "name" | "code" | "count" | "bool" | readonly string[];
const AUDIENCES = ["webVisitor", "unknownSender", "pairedSender", "ownerSender"] as const;
const CHANNELS: readonly string[] = ["web", "voice", ...PLATFORMS, "unknown"];
const PROVIDER_KINDS = ["offline", "openai", "openai-compatible", "anthropic", "openrouter"] as const;

/** Every attribute a span may carry, with the only shape its value may have. */
export const ATTRIBUTES = {
  // correlation: the same ids the activity log, the invocation log and SyncBoard use
  "warden.workspace_id": "id",
  "warden.thread_id": "id",
  "warden.run_id": "id",
  "warden.channel": CHANNELS,
  "warden.audience": AUDIENCES,
  "warden.tainted": "bool",
  "warden.status": ["done", "error"],
  "warden.error_code": "code",
  "warden.tool_calls": "count",
  "warden.fallback": "bool",
  "warden.approval_pending": "bool",
  // one model call (OpenTelemetry GenAI names; never prompts or completions)
  "gen_ai.system": PROVIDER_KINDS,
  "gen_ai.request.model": "name",
  "warden.model.role": ["primary", "fallback"],
  "warden.model.outcome": "name",
  "warden.egress_code": "code",
  "http.response.status_code": "count",
  // one tool call: names from the owner's configuration, the checker's decision
  "warden.tool.kind": ["skill", "mcp"],
  "warden.skill.name": "name",
  "warden.mcp.server": "name",
  "warden.mcp.tool": "name",
  "warden.checker.code": "code",
  "warden.checker.allowed": "bool",
  "warden.checker.stage": ["run", "checker"],
  "warden.retry_after_ms": "count",
} as const satisfies Record<string, Shape>;

export type AttrKey = keyof typeof ATTRIBUTES;
export type AttrValue = string | number | boolean | undefined | null;
export type Attrs = Partial<Record<AttrKey, AttrValue>>;

const ID = /^[A-Za-z0-9][A-Za-z0-9;_-]{0,63}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const IPV4ISH = /^\d{1,3}(?:\.\d{1,3}){1,3}(?::\d+)?$/;
const IPV6ISH = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;

/** A name passes only if it is a short token that is neither an address nor credential- or PII-shaped. */
function cleanName(v: string): string | undefined {
  if (!NAME.test(v) || IPV4ISH.test(v) || IPV6ISH.test(v)) return undefined;
  return redact(v) === v && redactPII(v) === v ? v : undefined;
}

/** The value to export for `key`, or undefined when the key is unknown or the value has the wrong shape. */
export function allowedValue(key: string, value: unknown): string | number | boolean | undefined {
  const shape: Shape | undefined = Object.prototype.hasOwnProperty.call(ATTRIBUTES, key)
    ? ATTRIBUTES[key as AttrKey]
    : undefined;
  if (shape === undefined || value === undefined || value === null) return undefined;
  if (Array.isArray(shape)) return typeof value === "string" && shape.includes(value) ? value : undefined;
  switch (shape) {
    case "bool":
      return typeof value === "boolean" ? value : undefined;
    case "count":
      return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER
        ? Math.round(value)
        : undefined;
    case "code":
      return typeof value === "string" && CODE.test(value) ? value : undefined;
    case "id":
      return typeof value === "string" && ID.test(value) ? value : undefined;
    case "name":
      return typeof value === "string" ? cleanName(value) : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// spans

/** OTLP Span.SpanKind */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
/** OTLP Status.StatusCode */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export type RecordedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: SpanName;
  kind: number;
  startMs: number;
  endMs?: number;
  attributes: Map<string, string | number | boolean>;
  dropped: number;
  status: { code: number; message?: string };
};

export interface Span {
  readonly spanId: string;
  /** Adds attributes; anything outside the allowlist is dropped (and counted). */
  set(attrs: Attrs): Span;
  /** Ends the span: OK, or ERROR with a catalogue code. Ending twice keeps the first end. */
  end(errorCode?: string): void;
  child(name: SpanName, attrs?: Attrs, kind?: number): Span;
}

export interface Trace {
  readonly enabled: boolean;
  readonly traceId: string;
  root(name: SpanName, attrs?: Attrs, kind?: number): Span;
  /** Ended copies of the spans so far (open ones end now). */
  spans(): RecordedSpan[];
  /** Spans not recorded because the trace was full. */
  readonly droppedSpans: number;
}

const NOOP_SPAN: Span = { spanId: "", set: () => NOOP_SPAN, end: () => undefined, child: () => NOOP_SPAN };

/** Tracing off: every call is a no-op and nothing is recorded. */
export const NOOP_TRACE: Trace = {
  enabled: false,
  traceId: "",
  root: () => NOOP_SPAN,
  spans: () => [],
  droppedSpans: 0,
};

export type TraceOptions = { now?: () => number; random?: (n: number) => Uint8Array; maxSpans?: number };

/** A trace recorded in memory for one action. */
export function newTrace(opts: TraceOptions = {}): Trace {
  const now = opts.now ?? (() => Date.now());
  const maxSpans = opts.maxSpans ?? MAX_SPANS;
  const traceId = randomHexId(16, opts.random);
  const recorded: RecordedSpan[] = [];
  let droppedSpans = 0;

  const start = (name: SpanName, attrs: Attrs | undefined, kind: number, parent?: RecordedSpan): Span => {
    if (recorded.length >= maxSpans) {
      droppedSpans++;
      return NOOP_SPAN;
    }
    const rec: RecordedSpan = {
      traceId,
      spanId: randomHexId(8, opts.random),
      ...(parent ? { parentSpanId: parent.spanId } : {}),
      name: (SPAN_NAMES as readonly string[]).includes(name) ? name : "warden.agent.run",
      kind: kind === SpanKind.SERVER || kind === SpanKind.CLIENT ? kind : SpanKind.INTERNAL,
      startMs: now(),
      attributes: new Map(),
      dropped: 0,
      status: { code: StatusCode.UNSET },
    };
    recorded.push(rec);
    const span: Span = {
      spanId: rec.spanId,
      set(a) {
        for (const [k, v] of Object.entries(a)) {
          if (v === undefined || v === null) continue;
          const clean = allowedValue(k, v);
          if (clean === undefined || (!rec.attributes.has(k) && rec.attributes.size >= MAX_ATTRIBUTES)) rec.dropped++;
          else rec.attributes.set(k, clean);
        }
        return span;
      },
      end(errorCode) {
        if (rec.endMs !== undefined) return;
        rec.endMs = Math.max(rec.startMs, now());
        rec.status =
          errorCode === undefined
            ? { code: StatusCode.OK }
            : { code: StatusCode.ERROR, ...(CODE.test(errorCode) ? { message: errorCode } : {}) };
      },
      child: (n, a, k = SpanKind.INTERNAL) => start(n, a, k, rec),
    };
    if (attrs) span.set(attrs);
    return span;
  };

  return {
    enabled: true,
    traceId,
    root: (name, attrs, kind = SpanKind.INTERNAL) => start(name, attrs, kind),
    spans: () => {
      const end = now();
      return recorded.map((s) => ({
        ...s,
        endMs: s.endMs ?? Math.max(s.startMs, end),
        attributes: new Map(s.attributes),
      }));
    },
    get droppedSpans() {
      return droppedSpans;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP JSON (opentelemetry-proto ExportTraceServiceRequest, JSON mapping: hex ids, enum
// integers, 64-bit integers as strings)

type OtlpValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
export type OtlpAttribute = { key: string; value: OtlpValue };
export type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  droppedAttributesCount?: number;
  status: { code: number; message?: string };
};
export type OtlpBody = {
  resourceSpans: {
    resource: { attributes: OtlpAttribute[]; droppedAttributesCount?: number };
    scopeSpans: { scope: { name: string; version: string }; spans: OtlpSpan[] }[];
  }[];
};

function otlpValue(v: string | number | boolean): OtlpValue {
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return { intValue: String(Math.round(v)) };
  return { stringValue: v };
}

/** The request body for one trace. */
export function toOtlp(spans: RecordedSpan[], serviceName = DEFAULT_SERVICE): OtlpBody {
  const service = cleanName(serviceName) ?? DEFAULT_SERVICE;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: unixNanos(s.startMs),
              endTimeUnixNano: unixNanos(s.endMs ?? s.startMs),
              attributes: [...s.attributes].map(([key, v]) => ({ key, value: otlpValue(v) })),
              ...(s.dropped ? { droppedAttributesCount: s.dropped } : {}),
              status: s.status,
            })),
          },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// export

export type ExportResult =
  | { ok: true; status: number; spans: number }
  | { ok: false; reason: "empty" | "too_large" | "timeout" | "network" | "http_status"; status?: number };

/** Per-isolate counters (the log lines are the durable record). */
export const exportStats = { exported: 0, failed: 0, droppedSpans: 0 };

/**
 * Sends the trace once. Resolves within the configured timeout (plus a moment to cancel the
 * body), never rejects; redirects are not followed.
 */
export async function exportTrace(
  trace: Trace,
  config: TraceConfig,
  fetchImpl: typeof fetch = fetch,
): Promise<ExportResult> {
  let result: ExportResult;
  try {
    result = await send(trace, config, fetchImpl);
  } catch {
    result = { ok: false, reason: "network" };
  }
  if (result.ok) exportStats.exported++;
  else if (result.reason !== "empty") {
    exportStats.failed++;
    logWarn("trace.export_failed", { reason: result.reason, status: result.status });
  }
  exportStats.droppedSpans += trace.droppedSpans;
  return result;
}

async function send(trace: Trace, config: TraceConfig, fetchImpl: typeof fetch): Promise<ExportResult> {
  let body: string;
  let count: number;
  try {
    const spans = trace.spans();
    count = spans.length;
    if (count === 0) return { ok: false, reason: "empty" };
    body = JSON.stringify(toOtlp(spans, config.serviceName));
    if (new TextEncoder().encode(body).length > MAX_BODY_BYTES) return { ok: false, reason: "too_large" };
  } catch {
    return { ok: false, reason: "too_large" };
  }
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve("timeout");
    }, config.timeoutMs);
  });
  try {
    const res = await Promise.race([
      fetchImpl(config.url, {
        method: "POST",
        headers: { ...config.headers, "content-type": "application/json" },
        body,
        redirect: "manual",
        signal: controller.signal,
      }),
      deadline,
    ]);
    if (res === "timeout") return { ok: false, reason: "timeout" };
    void res.body?.cancel().catch(() => undefined); // the answer is not read
    return res.status >= 200 && res.status < 300
      ? { ok: true, status: res.status, spans: count }
      : { ok: false, reason: "http_status", status: res.status };
  } catch (err) {
    return {
      ok: false,
      reason:
        controller.signal.aborted || (err instanceof Error && err.name === "TimeoutError") ? "timeout" : "network",
    };
  } finally {
    clearTimeout(timer);
  }
}
