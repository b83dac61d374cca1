/**
 * Outbound vendor calls as plain data (pure; no Convex imports): base URLs, request shapes,
 * result classification and the retry policy. The Node action in replies.ts performs them.
 */
import type { Platform } from "./platforms";

export const VENDOR_BASE_ENV: Record<Platform, { env: string; fallback: string }> = {
  telegram: { env: "WARDEN_TELEGRAM_API_BASE", fallback: "https://api.telegram.org" },
  slack: { env: "WARDEN_SLACK_API_BASE", fallback: "https://slack.com/api" },
  discord: { env: "WARDEN_DISCORD_API_BASE", fallback: "https://discord.com/api/v10" },
  twilio: { env: "WARDEN_TWILIO_API_BASE", fallback: "https://api.twilio.com" },
  resend: { env: "WARDEN_RESEND_API_BASE", fallback: "https://api.resend.com" },
};

/**
 * The vendor API base: the env override if set, else the vendor. Overrides must be https, or
 * http to a loopback host (local mock servers); anything else is refused so a typo cannot send
 * bot tokens in clear text.
 */
export function vendorBase(platform: Platform, env: Record<string, string | undefined>): string | null {
  const { env: name, fallback } = VENDOR_BASE_ENV[platform];
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

/** Longest reply each platform accepts in one message (characters). */
export const MAX_REPLY_CHARS: Record<Platform, number> = {
  telegram: 4096,
  slack: 4000,
  discord: 2000,
  twilio: 1600,
  resend: 20000,
};

export function clampReply(platform: Platform, text: string): string {
  const max = MAX_REPLY_CHARS[platform];
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}

export type VendorRequest = { url: string; method: "GET" | "POST"; headers: Record<string, string>; body?: string };

const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8", Accept: "application/json" };

/** Bot API tokens look like "123456:AA…"; checked so a token cannot alter the request path. */
export function isTelegramBotToken(token: string): boolean {
  return /^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$/.test(token);
}

export function telegramSendMessage(base: string, botToken: string, chatId: string, text: string): VendorRequest {
  if (!isTelegramBotToken(botToken)) throw new Error("CHANNEL_NOT_CONFIGURED");
  return {
    url: `${base}/bot${botToken}/sendMessage`,
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ chat_id: chatId, text: clampReply("telegram", text) }),
  };
}

export function slackPostMessage(base: string, botToken: string, channel: string, text: string): VendorRequest {
  return {
    url: `${base}/chat.postMessage`,
    method: "POST",
    headers: { ...JSON_HEADERS, Authorization: `Bearer ${botToken}` },
    body: JSON.stringify({ channel, text: clampReply("slack", text) }),
  };
}

/** Follow-up to a deferred interaction; after a type-5 response it replaces the "thinking…" message. */
export function discordFollowup(base: string, applicationId: string, interactionToken: string, text: string): VendorRequest {
  return {
    url: `${base}/webhooks/${encodeURIComponent(applicationId)}/${encodeURIComponent(interactionToken)}`,
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ content: clampReply("discord", text), allowed_mentions: { parse: [] } }),
  };
}

/**
 * Vendors whose send API dedupes on a key we choose (Resend: `Idempotency-Key`, kept 24 h). Only
 * these are re-sent when a crash leaves it unknown whether the vendor got the reply.
 */
export const IDEMPOTENT_SEND: ReadonlySet<Platform> = new Set<Platform>(["resend"]);

export function resendSendEmail(
  base: string,
  apiKey: string,
  mail: { from: string; to: string; subject: string; text: string },
  idempotencyKey?: string,
): VendorRequest {
  return {
    url: `${base}/emails`,
    method: "POST",
    headers: { ...JSON_HEADERS, Authorization: `Bearer ${apiKey}`, ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}) },
    body: JSON.stringify({ from: mail.from, to: [mail.to], subject: mail.subject, text: clampReply("resend", mail.text) }),
  };
}

/** Resend's webhook has metadata only; the body comes from the Received emails API. */
export function resendGetReceived(base: string, apiKey: string, emailId: string): VendorRequest {
  return {
    url: `${base}/emails/receiving/${encodeURIComponent(emailId)}`,
    method: "GET",
    headers: { Accept: "application/json", Authorization: `Bearer ${apiKey}` },
  };
}

export function replySubject(subject: string | undefined): string {
  const s = (subject ?? "").trim();
  if (!s) return "Re: your message";
  return /^re:/i.test(s) ? s : `Re: ${s}`;
}

export type VendorOutcome = { ok: true } | { ok: false; status: number; retryAfterMs?: number };

/**
 * Reads a vendor's answer: HTTP status plus Slack's `{ok:false}` and Telegram's `{ok:false}`
 * bodies that can come with a 200. Only the status and retry hint leave this function.
 */
export function classifyResponse(status: number, headers: { get(name: string): string | null }, body: string): VendorOutcome {
  let parsed: any;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  const retryHeader = Number(headers.get("retry-after"));
  const retryBody = Number(parsed?.parameters?.retry_after ?? parsed?.retry_after);
  const retrySeconds = Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : Number.isFinite(retryBody) && retryBody > 0 ? retryBody : undefined;
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

export const NOTICE_SLOW_DOWN = "You're sending messages faster than I can answer. Please wait a minute and try again.";
export const NOTICE_TOO_LONG = "That message is too long for me. Please send something shorter.";
export const NOTICE_UNAVAILABLE = "This assistant is not available.";
