/**
 * ElevenLabs conversational agents, server side only: the API key is sent in the `xi-api-key`
 * header from here and nowhere else; callers get back only the signed conversation URL.
 * No voice cloning or voice listing endpoints exist in Warden. Default runtime (fetch only).
 */

import { readBodyCapped } from "../lib/httpSecurity";

export const DEFAULT_ELEVENLABS_BASE = "https://api.elevenlabs.io";
export const SIGNED_URL_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 16 * 1024;

export type SignedUrlResult = { ok: true; signedUrl: string } | { ok: false; code: "VOICE_NOT_CONFIGURED" | "UPSTREAM_ERROR" | "TIMEOUT" };

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

/** GET {base}/v1/convai/conversation/get-signed-url?agent_id=… → only `signed_url` is kept. */
export async function fetchSignedUrl(opts: { base: string; apiKey: string; agentId: string; timeoutMs?: number }): Promise<SignedUrlResult> {
  if (!opts.apiKey || !/^[A-Za-z0-9_-]{1,100}$/.test(opts.agentId)) return { ok: false, code: "VOICE_NOT_CONFIGURED" };
  const url = `${opts.base}/v1/convai/conversation/get-signed-url?agent_id=${encodeURIComponent(opts.agentId)}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "GET",
      headers: { "xi-api-key": opts.apiKey, accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs ?? SIGNED_URL_TIMEOUT_MS),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    return { ok: false, code: name === "TimeoutError" || name === "AbortError" ? "TIMEOUT" : "UPSTREAM_ERROR" };
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    return { ok: false, code: "UPSTREAM_ERROR" };
  }
  const text = await readBodyCapped(res, MAX_RESPONSE_BYTES);
  if (text === null) return { ok: false, code: "UPSTREAM_ERROR" };
  let signed: unknown;
  try {
    signed = (JSON.parse(text) as { signed_url?: unknown }).signed_url;
  } catch {
    return { ok: false, code: "UPSTREAM_ERROR" };
  }
  if (typeof signed !== "string" || signed.length > 2048) return { ok: false, code: "UPSTREAM_ERROR" };
  let u: URL;
  try {
    u = new URL(signed);
  } catch {
    return { ok: false, code: "UPSTREAM_ERROR" };
  }
  // only a websocket URL, never one that carries the key or a voice id
  if (u.protocol !== "wss:" || signed.includes(opts.apiKey) || /voice_id/i.test(signed)) return { ok: false, code: "UPSTREAM_ERROR" };
  return { ok: true, signedUrl: u.toString() };
}
