/**
 * Outbound vendor calls as plain data (pure; no Convex imports): base URLs, request shapes,
 * result classification and the retry policy. The Node action in replies.ts performs them.
 */
import { ADAPTERS, type Platform } from "./platforms/index";
import { clampTo } from "./platforms/kit";

export type { VendorRequest } from "./platforms/types";
export { IDEMPOTENT_SEND } from "./platforms/index";
export { NOTICE_SLOW_DOWN, NOTICE_TOO_LONG, NOTICE_UNAVAILABLE } from "./platforms/kit";
// Used by the MCP domain's owner e-mail alerts.
export { resendSendEmail } from "./platforms/resend";

/**
 * The vendor API base: the env override if set, else the vendor. Overrides must be https, or
 * http to a loopback host (local mock servers); anything else is refused so a typo cannot send
 * bot tokens in clear text.
 */
export function vendorBase(platform: Platform, env: Record<string, string | undefined>): string | null {
  const { env: name, fallback } = ADAPTERS[platform].vendorBase;
  const raw = (env[name] ?? "").trim();
  if (!raw) return fallback;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) return null;
  if (u.username || u.password || u.search || u.hash) return null;
  return raw.replace(/\/+$/, "");
}

export function clampReply(platform: Platform, text: string): string {
  return clampTo(ADAPTERS[platform].reply.maxChars, text);
}

export type VendorOutcome = { ok: true } | { ok: false; status: number; retryAfterMs?: number };

/**
 * Reads a vendor's answer: HTTP status plus Slack's `{ok:false}` and Telegram's `{ok:false}`
 * bodies that can come with a 200. Only the status and retry hint leave this function.
 */
export function classifyResponse(
  status: number,
  headers: { get(name: string): string | null },
  body: string,
): VendorOutcome {
  let parsed: any;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  const retryHeader = Number(headers.get("retry-after"));
  const retryBody = Number(parsed?.parameters?.retry_after ?? parsed?.retry_after);
  const retrySeconds =
    Number.isFinite(retryHeader) && retryHeader > 0
      ? retryHeader
      : Number.isFinite(retryBody) && retryBody > 0
        ? retryBody
        : undefined;
  const retryAfterMs = retrySeconds === undefined ? undefined : Math.ceil(retrySeconds * 1000);
  if (status < 200 || status >= 300) return { ok: false, status, retryAfterMs };
  if (parsed && typeof parsed === "object" && parsed.ok === false) {
    // Slack answers 200 {ok:false,error:"ratelimited"} in some paths; treat it as a 429.
    return { ok: false, status: parsed.error === "ratelimited" ? 429 : 400, retryAfterMs };
  }
  return { ok: true };
}

export const MAX_ATTEMPTS = 3;
const BASE_DELAY_MS = 2_000;
const MAX_DELAY_MS = 60_000;

/**
 * Backoff for a failed attempt (1-based), or null when it must not be retried: only 429, 5xx
 * and connection failures (status 0) are retried, at most MAX_ATTEMPTS in all; never other 4xx.
 */
export function retryDelayMs(status: number, attempt: number, retryAfterMs?: number): number | null {
  const retryable = status === 0 || status === 429 || (status >= 500 && status <= 599);
  if (!retryable || attempt >= MAX_ATTEMPTS) return null;
  const backoff = BASE_DELAY_MS * 2 ** (attempt - 1);
  return Math.min(MAX_DELAY_MS, Math.max(backoff, retryAfterMs ?? 0));
}
