/**
 * Vendor-neutral helpers the adapters share (pure; no Convex imports, no registry import, so
 * adapters, the registry and the dispatch modules can all import it without a cycle).
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { ParseResult, VerifyFailureReason, VerifyResult, WebhookAnswer } from "./types";

// --- secrets ---------------------------------------------------------------------------------

/** The channel secrets an adapter names: one to verify webhooks, one to send (may be the same). */
export function channelSecrets<V extends string, S extends string>(
  verify: V,
  send: S,
): { readonly verify: V; readonly send: S; readonly all: readonly (V | S)[] } {
  return Object.freeze({ verify, send, all: Object.freeze((verify as string) === send ? [verify] : [verify, send]) });
}

// --- verification ----------------------------------------------------------------------------

/** Slack, Svix/Resend and (our addition) Discord: 5 minutes either side of now. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export const OK: VerifyResult = Object.freeze({ ok: true });

export function fail(reason: VerifyFailureReason): VerifyResult {
  return { ok: false, code: "WEBHOOK_SIGNATURE_INVALID", reason };
}

export const DUPLICATE = null;

/**
 * Case-insensitive header lookup. `undefined` = absent; `null` = present under two spellings
 * (or not a string), which is refused rather than guessed.
 */
export function header(headers: Record<string, string>, lowerName: string): string | undefined | null {
  let found: string | undefined;
  for (const k in headers) {
    if (k.length !== lowerName.length) continue;
    if (k !== lowerName && k.toLowerCase() !== lowerName) continue;
    if (!Object.prototype.hasOwnProperty.call(headers, k)) continue;
    const v = headers[k];
    if (typeof v !== "string" || found !== undefined) return DUPLICATE;
    found = v;
  }
  return found;
}

export function checkWindow(ts: number, now: number): VerifyResult | undefined {
  if (now - ts > WEBHOOK_TOLERANCE_SECONDS) return fail("stale_timestamp");
  if (ts - now > WEBHOOK_TOLERANCE_SECONDS) return fail("future_timestamp");
  return undefined;
}

export const DECIMAL_SECONDS = /^[0-9]{1,15}$/;

// --- parsing ---------------------------------------------------------------------------------

/** Longest user message accepted from a channel (checklist: 4000 chars). */
export const MAX_MESSAGE_CHARS = 4000;

export const INVALID: ParseResult = { ok: false };
export const IGNORE = (deliveryId?: string): ParseResult => ({ ok: true, deliveryId, action: { kind: "ignore" } });

/** Keyed hash of a phone number or address, so the raw value never has to be an id or a log key. */
export function pseudonym(salt: string, platform: string, value: string): string {
  const mac = hmac(sha256, new TextEncoder().encode(salt), new TextEncoder().encode(`${platform}:${value}`));
  let hex = "";
  for (const b of mac.subarray(0, 20)) hex += b.toString(16).padStart(2, "0");
  return "h:" + hex;
}

export function json(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export function shortName(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const t = s
    .replace(/\p{Cc}/gu, "")
    .trim()
    .slice(0, 64);
  return t || undefined;
}

// --- addresses -------------------------------------------------------------------------------

export const E164 = /^\+[1-9][0-9]{6,14}$/;
// addr-spec subset: what we accept as a sender/recipient address
export const EMAIL_ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const DISPLAY_FROM = /^[^<>\r\n"]{0,100} <([^<>\s]+)>$/;

/** The address inside "a@b.c" or "Name <a@b.c>", lower-cased; null if it is not one. */
export function emailOf(raw: string): string | null {
  const s = raw.trim();
  const m = DISPLAY_FROM.exec(s);
  const addr = (m ? m[1] : s).toLowerCase();
  return addr.length <= 254 && EMAIL_ADDRESS.test(addr) ? addr : null;
}

// --- answers and replies ---------------------------------------------------------------------

export const NOTICE_SLOW_DOWN = "You're sending messages faster than I can answer. Please wait a minute and try again.";
export const NOTICE_TOO_LONG = "That message is too long for me. Please send something shorter.";
export const NOTICE_UNAVAILABLE = "This assistant is not available.";

export const JSON_OK: WebhookAnswer = { json: { ok: true } };

export const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8", Accept: "application/json" };

/** Cuts a reply to `max` characters (code points), ending with "…" when cut. */
export function clampTo(max: number, text: string): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}
