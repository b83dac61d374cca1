/**
 * ElevenLabs conversational agents, server side only: the API key is sent in the `xi-api-key`
 * header from here and nowhere else; callers get back only the signed conversation URL.
 * No voice cloning or voice listing endpoints exist in Warden. Default runtime (fetch only).
 */

import { readBodyCapped } from "../lib/httpSecurity";

export const DEFAULT_ELEVENLABS_BASE = "https://api.elevenlabs.io";
export const SIGNED_URL_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 16 * 1024;

export type SignedUrlResult =
  | { ok: true; signedUrl: string; conversationId?: string }
  | { ok: false; code: "VOICE_NOT_CONFIGURED" | "UPSTREAM_ERROR" | "TIMEOUT" };

/** The API base: env WARDEN_ELEVENLABS_API_BASE (https, or http on loopback for tests). */
export function elevenLabsBase(env: Record<string, string | undefined>): string | null {
  const raw = (env.WARDEN_ELEVENLABS_API_BASE ?? "").trim() || DEFAULT_ELEVENLABS_BASE;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.username || u.password || u.search || u.hash) return null;
  const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) return null;
  return u.origin + u.pathname.replace(/\/+$/, "");
}

type Json =
  { ok: true; value: unknown; status: 200 } | { ok: false; status: number; code: "UPSTREAM_ERROR" | "TIMEOUT" };

/** GET with the key in `xi-api-key`, no redirects, a timeout and a response-size cap. */
async function getJson(url: string, apiKey: string, timeoutMs?: number): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "GET",
      headers: { "xi-api-key": apiKey, accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs ?? SIGNED_URL_TIMEOUT_MS),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    return {
      ok: false,
      status: 0,
      code: name === "TimeoutError" || name === "AbortError" ? "TIMEOUT" : "UPSTREAM_ERROR",
    };
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    return { ok: false, status: res.status, code: "UPSTREAM_ERROR" };
  }
  const text = await readBodyCapped(res, MAX_RESPONSE_BYTES);
  if (text === null) return { ok: false, status: 200, code: "UPSTREAM_ERROR" };
  try {
    return { ok: true, value: JSON.parse(text) as unknown, status: 200 };
  } catch {
    return { ok: false, status: 200, code: "UPSTREAM_ERROR" };
  }
}

const AGENT_ID = /^[A-Za-z0-9_-]{1,100}$/;
const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The agent's own conversation cap (`conversation_config.conversation.max_duration_seconds`).
 * ElevenLabs ends every conversation at this length, whatever the browser does; Warden mints a
 * URL only when it is set and no longer than the grant.
 */
export async function fetchAgentMaxDuration(opts: {
  base: string;
  apiKey: string;
  agentId: string;
  timeoutMs?: number;
}): Promise<
  { ok: true; maxSeconds: number | null } | { ok: false; code: "VOICE_NOT_CONFIGURED" | "UPSTREAM_ERROR" | "TIMEOUT" }
> {
  if (!opts.apiKey || !AGENT_ID.test(opts.agentId)) return { ok: false, code: "VOICE_NOT_CONFIGURED" };
  const r = await getJson(
    `${opts.base}/v1/convai/agents/${encodeURIComponent(opts.agentId)}`,
    opts.apiKey,
    opts.timeoutMs,
  );
  if (!r.ok) return { ok: false, code: r.code };
  const max = (r.value as { conversation_config?: { conversation?: { max_duration_seconds?: unknown } } } | null)
    ?.conversation_config?.conversation?.max_duration_seconds;
  return { ok: true, maxSeconds: Number.isSafeInteger(max) && (max as number) > 0 ? (max as number) : null };
}

/**
 * GET {base}/v1/convai/conversation/get-signed-url?agent_id=…&include_conversation_id=true → only
 * `signed_url` (for the browser) and `conversation_id` (kept server side) are used. With the
 * conversation id requested, ElevenLabs accepts the URL's signature once: one grant, one conversation.
 */
export async function fetchSignedUrl(opts: {
  base: string;
  apiKey: string;
  agentId: string;
  timeoutMs?: number;
}): Promise<SignedUrlResult> {
  if (!opts.apiKey || !AGENT_ID.test(opts.agentId)) return { ok: false, code: "VOICE_NOT_CONFIGURED" };
  const url = `${opts.base}/v1/convai/conversation/get-signed-url?agent_id=${encodeURIComponent(opts.agentId)}&include_conversation_id=true`;
  const r = await getJson(url, opts.apiKey, opts.timeoutMs);
  if (!r.ok) return { ok: false, code: r.code };
  const body = (r.value ?? {}) as { signed_url?: unknown; conversation_id?: unknown };
  const signed = body.signed_url;
  if (typeof signed !== "string" || signed.length > 2048) return { ok: false, code: "UPSTREAM_ERROR" };
  let u: URL;
  try {
    u = new URL(signed);
  } catch {
    return { ok: false, code: "UPSTREAM_ERROR" };
  }
  // only a websocket URL, never one that carries the key or a voice id
  if (u.protocol !== "wss:" || signed.includes(opts.apiKey) || /voice_id/i.test(signed))
    return { ok: false, code: "UPSTREAM_ERROR" };
  const cid =
    typeof body.conversation_id === "string" && CONVERSATION_ID.test(body.conversation_id)
      ? body.conversation_id
      : undefined;
  return cid ? { ok: true, signedUrl: u.toString(), conversationId: cid } : { ok: true, signedUrl: u.toString() };
}

/**
 * What ElevenLabs billed for a conversation: GET {base}/v1/convai/conversations/{id} →
 * `status` and `metadata.call_duration_secs`. `done` only once the conversation is over.
 */
export async function fetchConversationSeconds(opts: {
  base: string;
  apiKey: string;
  conversationId: string;
  timeoutMs?: number;
}): Promise<{ ok: true; done: boolean; seconds: number | null } | { ok: false; code: string }> {
  if (!opts.apiKey || !CONVERSATION_ID.test(opts.conversationId)) return { ok: false, code: "VOICE_NOT_CONFIGURED" };
  const r = await getJson(
    `${opts.base}/v1/convai/conversations/${encodeURIComponent(opts.conversationId)}`,
    opts.apiKey,
    opts.timeoutMs,
  );
  if (!r.ok) return { ok: false, code: r.code };
  const body = (r.value ?? {}) as { status?: unknown; metadata?: { call_duration_secs?: unknown } };
  const secs = body.metadata?.call_duration_secs;
  return {
    ok: true,
    done: body.status === "done" || body.status === "failed",
    seconds: typeof secs === "number" && Number.isFinite(secs) && secs >= 0 ? secs : null,
  };
}
