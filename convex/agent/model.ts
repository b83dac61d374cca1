/**
 * Model dispatch: the offline provider (no key, no network) or a real provider through the AI SDK.
 * Keys are read only through resolveModelKey (a declared model-key variable, bound to the request's
 * host), only for the request header; requests go only through the guarded fetch the caller
 * injects. Keys never enter a prompt, a log or an error. Errors become sanitized reason codes.
 */
import {
  APICallError,
  RetryError,
  jsonSchema,
  stepCountIs,
  streamText,
  tool,
  type ModelMessage,
  type ToolSet,
} from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenRouter } from "@openrouter/ai-sdk-provider";
import { offlineGenerate, type ToolCall } from "../lib/offlineModel";
import { buildPrompt, toolResultText, type HistoryMessage, type ToolOutcome } from "./prompt";
import { resolveModelKey, type ProviderKind } from "./providerRules";
import { redactKnown, secretMatcher, type SecretMatcher } from "../lib/redact";

export type ProviderSpec = {
  kind: ProviderKind;
  model: string;
  label: string;
  baseUrl?: string;
  apiKeyEnvVar?: string;
};

export const OFFLINE_SPEC: ProviderSpec = { kind: "offline", model: "offline", label: "offline" };

/** A tool the model may call; `toCall` turns the model's input into a checker call. */
export type ToolDef = {
  modelName: string;
  description: string;
  inputSchema: unknown;
  toCall: (input: Record<string, unknown>) => ToolCall;
};

export type ProviderErrorReason =
  | "api_key_missing"
  | "key_not_allowed"
  | "host_not_allowed"
  | "egress_blocked"
  | "auth_failed"
  | "rate_limited"
  | "bad_request"
  | "server_error"
  | "timeout"
  | "network"
  | "invalid_response"
  | "unsupported_provider"
  | "unknown";

export type ModelRun =
  | { ok: true; text: string; toolCalls: number }
  | { ok: false; reason: ProviderErrorReason; status?: number; egressCode?: string; toolCalls: number };

export const UNAVAILABLE_TEXT = "Sorry, the assistant is unavailable right now. Please try again later.";
export const APPROVAL_PENDING_TEXT =
  "That needs the owner's approval first. I've asked them; you'll get the answer here once they decide.";
export const MAX_STEPS = 4;
export const MODEL_TIMEOUT_MS = 60_000;
const MAX_REPLY_CHARS = 8_000;

/**
 * Receives the reply while it is generated. `current()` is the text so far, already redacted
 * (the provider key in any encoding, with a held-back tail so a key split across chunks never
 * shows a prefix); it is computed only when the receiver decides to write it.
 */
export type PartialSink = (current: () => string) => void;

/** The offline provider streams too (so the streaming path always runs): at most this many chunks. */
export const OFFLINE_STREAM_CHUNKS = 5;
const OFFLINE_CHUNK_DELAY_MS = 10;

/** Builds the guarded fetch for one provider host (Node: agent/providerFetch.node.ts). */
export type ProviderFetchFactory = (target: { host: string; port: string; deadline: number }) => typeof fetch;

export type RunInput = {
  soul: string;
  history: HistoryMessage[];
  tools: ToolDef[];
  execute: (call: ToolCall) => Promise<ToolOutcome>;
  /** Required for every non-offline provider: model requests never use the global fetch. */
  fetchFor?: ProviderFetchFactory;
  /** Partial text as it is generated (the final text still comes back in ModelRun). */
  onPartial?: PartialSink;
};

export async function runModel(spec: ProviderSpec, input: RunInput): Promise<ModelRun> {
  if (spec.kind === "offline") return await runOffline(input);
  return await runAiSdk(spec, input);
}

async function runOffline(input: RunInput): Promise<ModelRun> {
  const outcomes: ToolOutcome[] = [];
  for (let step = 0; step < MAX_STEPS; step++) {
    const out = offlineGenerate(buildPrompt({ soul: input.soul, history: input.history, toolOutcomes: outcomes }));
    if (out.type === "text") {
      await streamOffline(out.text, input.onPartial);
      return { ok: true, text: out.text, toolCalls: outcomes.length };
    }
    for (const call of out.calls) outcomes.push(await input.execute(call));
  }
  return { ok: false, reason: "invalid_response", toolCalls: outcomes.length };
}

/** Hands the offline answer over in a few word-aligned chunks, a few ms apart. */
async function streamOffline(text: string, sink: PartialSink | undefined): Promise<void> {
  if (!sink) return;
  const size = Math.max(16, Math.ceil(text.length / OFFLINE_STREAM_CHUNKS));
  let end = 0;
  while (end < text.length) {
    const next = text.indexOf(" ", end + size);
    end = next < 0 ? text.length : next;
    if (end >= text.length) break; // the last chunk is the final text itself
    const upTo = end;
    sink(() => text.slice(0, upTo));
    await new Promise((r) => setTimeout(r, OFFLINE_CHUNK_DELAY_MS));
  }
}

/**
 * The text of one step so far, redacted, minus any tail that could be the start of the key in one
 * of its encoded forms (and the neighbouring character a base64 form may take with it): a key
 * whose first characters have arrived but not the rest is never shown. Redaction rewrites only
 * complete matches, so the held-back tail covers any incomplete one.
 */
export function partialText(raw: string, matcher: SecretMatcher): string {
  const red = redactKnown(raw, matcher);
  let hold = 0;
  for (const n of matcher.needles) {
    for (let k = Math.min(n.text.length - 1, red.length); k > hold - 1 && k > 0; k--) {
      if (red.endsWith(n.text.slice(0, k))) {
        hold = Math.max(hold, k + 1);
        break;
      }
    }
  }
  let cut = Math.min(red.length - hold, MAX_REPLY_CHARS);
  if (cut <= 0) return "";
  const c = red.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--; // never split a surrogate pair
  return red.slice(0, cut);
}

function languageModel(spec: ProviderSpec, apiKey: string, baseURL: string, fetch: typeof globalThis.fetch) {
  switch (spec.kind) {
    case "openai":
      return createOpenAI({ apiKey, baseURL, fetch })(spec.model);
    case "openai-compatible":
      return createOpenAI({ apiKey, baseURL, fetch, name: "openai-compatible" }).chat(spec.model);
    case "anthropic":
      return createAnthropic({ apiKey, baseURL, fetch })(spec.model);
    case "openrouter":
      return createOpenRouter({ apiKey, baseURL, fetch }).chat(spec.model);
    default:
      return null;
  }
}

export function classifyError(err: unknown): { reason: ProviderErrorReason; status?: number; egressCode?: string } {
  if (RetryError.isInstance(err)) return classifyError(err.lastError);
  const egress = egressCodeOf(err);
  if (egress) return { reason: egress === "TIMEOUT" ? "timeout" : "egress_blocked", egressCode: egress };
  if (APICallError.isInstance(err)) {
    const s = err.statusCode;
    if (s === 401 || s === 403) return { reason: "auth_failed", status: s };
    if (s === 429) return { reason: "rate_limited", status: s };
    if (s !== undefined && s >= 500) return { reason: "server_error", status: s };
    if (s !== undefined && s >= 400) return { reason: "bad_request", status: s };
    return { reason: "network" };
  }
  const name = err instanceof Error ? err.name : "";
  if (name === "AbortError" || name === "TimeoutError") return { reason: "timeout" };
  if (/TypeValidation|JSONParse|InvalidResponse|NoContent|NoObject/i.test(name)) return { reason: "invalid_response" };
  if (name === "TypeError") return { reason: "network" };
  return { reason: "unknown" };
}

/** The egress code of a ProviderEgressError, also when the SDK wrapped it as a cause. */
function egressCodeOf(err: unknown, depth = 0): string | undefined {
  if (!(err instanceof Error) || depth > 3) return undefined;
  if (err.name === "ProviderEgressError") return (err as Error & { code?: string }).code ?? "UPSTREAM_ERROR";
  return egressCodeOf((err as Error & { cause?: unknown }).cause, depth + 1);
}

function toolSet(tools: ToolDef[], execute: RunInput["execute"], counter: { n: number }): ToolSet {
  const set: ToolSet = {};
  for (const d of tools) {
    set[d.modelName] = tool({
      description: d.description,
      inputSchema: jsonSchema(
        (d.inputSchema && typeof d.inputSchema === "object" ? d.inputSchema : { type: "object" }) as never,
      ),
      execute: async (input: unknown) => {
        counter.n++;
        const obj =
          input && typeof input === "object" && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
        return toolResultText(await execute(d.toCall(obj)));
      },
    });
  }
  return set;
}

async function runAiSdk(spec: ProviderSpec, input: RunInput): Promise<ModelRun> {
  const counter = { n: 0 };
  const resolved = resolveModelKey(spec, process.env);
  if (!resolved.ok) return { ok: false, reason: resolved.reason, toolCalls: 0 };
  if (!input.fetchFor) return { ok: false, reason: "egress_blocked", toolCalls: 0 };
  const port = new URL(resolved.baseUrl).port;
  const fetch = input.fetchFor({ host: resolved.host, port, deadline: Date.now() + MODEL_TIMEOUT_MS });
  const model = languageModel(spec, resolved.key, resolved.baseUrl, fetch);
  if (!model) return { ok: false, reason: "unsupported_provider", toolCalls: 0 };
  const prompt = buildPrompt({ soul: input.soul, history: input.history });
  const messages: ModelMessage[] = prompt.messages.flatMap((m) =>
    m.role === "user" || m.role === "assistant" ? [{ role: m.role, content: m.content }] : [],
  );
  // a provider that echoes its own key (any encoding) never gets it into the reply, partial or final
  const matcher = secretMatcher([resolved.key]);
  try {
    const res = streamText({
      model,
      system: prompt.system,
      messages,
      tools: input.tools.length ? toolSet(input.tools, input.execute, counter) : undefined,
      stopWhen: stepCountIs(MAX_STEPS),
      maxRetries: 0, // the fallback model is the retry
      abortSignal: AbortSignal.timeout(MODEL_TIMEOUT_MS),
      onError: () => undefined, // errors come back through the stream below, classified; never logged raw
    });
    // like generateText's `text`, the reply is the last step's text
    let step = "";
    for await (const part of res.fullStream) {
      if (part.type === "start-step") step = "";
      else if (part.type === "text-delta") {
        step += part.text;
        if (input.onPartial) {
          const raw = step;
          input.onPartial(() => partialText(raw, matcher));
        }
      } else if (part.type === "error") throw part.error;
      else if (part.type === "abort") throw Object.assign(new Error("aborted"), { name: "TimeoutError" });
    }
    const text = redactKnown(step, matcher).trim();
    if (!text) return { ok: false, reason: "invalid_response", toolCalls: counter.n };
    return { ok: true, text: text.slice(0, MAX_REPLY_CHARS), toolCalls: counter.n };
  } catch (err) {
    return { ok: false, ...classifyError(err), toolCalls: counter.n };
  }
}
