/**
 * Inbound payload schemas per platform (pure; no Convex imports). Only called on requests whose
 * signature already verified: every id returned here is a verified platform id.
 */
import { z } from "zod";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { parseFormBody } from "../lib/webhookCrypto";
import { emailOf, isTwilioAddress, type Platform } from "./platforms";

/** Longest user message accepted from a channel (checklist: 4000 chars). */
export const MAX_MESSAGE_CHARS = 4000;
/** Discord interaction tokens are valid for 15 minutes. */
export const DISCORD_TOKEN_TTL_MS = 15 * 60_000;

export type InboundUser = {
  /** Verified id; pseudonymous ("h:…") for phone numbers and e-mail addresses. */
  platformUserId: string;
  displayName?: string;
  /** Phone number or e-mail address, kept only to reply. */
  contact?: string;
  /** Where replies go besides the user id: Slack channel, Discord interaction token, Twilio "To", e-mail subject. */
  replyTarget?: string;
  replyTargetTtlMs?: number;
};

export type InboundAction =
  | { kind: "challenge"; challenge: string }
  | { kind: "ping" }
  | { kind: "ignore" }
  | { kind: "message"; user: InboundUser; text?: string; emailId?: string };

export type ParseResult = { ok: false } | { ok: true; deliveryId?: string; action: InboundAction };

export type ParseInput = {
  body: string;
  /** lower-cased header names */
  headers: Record<string, string>;
  settings: Record<string, unknown>;
  /** per-channel salt for pseudonymous ids */
  idSalt: string;
};

const INVALID: ParseResult = { ok: false };
const IGNORE = (deliveryId?: string): ParseResult => ({ ok: true, deliveryId, action: { kind: "ignore" } });

/** Keyed hash of a phone number or address, so the raw value never has to be an id or a log key. */
export function pseudonym(salt: string, platform: Platform, value: string): string {
  const mac = hmac(sha256, new TextEncoder().encode(salt), new TextEncoder().encode(`${platform}:${value}`));
  let hex = "";
  for (const b of mac.subarray(0, 20)) hex += b.toString(16).padStart(2, "0");
  return "h:" + hex;
}

function json(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function shortName(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const t = s.replace(/\p{Cc}/gu, "").trim().slice(0, 64);
  return t || undefined;
}

export function parseInbound(platform: Platform, input: ParseInput): ParseResult {
  switch (platform) {
    case "telegram":
      return parseTelegram(input);
    case "twilio":
      return parseTwilio(input);
    case "slack":
      return parseSlack(input);
    case "discord":
      return parseDiscord(input);
    case "resend":
      return parseResend(input);
    default:
      return INVALID;
  }
}

// --- Telegram: an Update (https://core.telegram.org/bots/api#update) ---------------------------

const tgInt = z.number().int().refine(Number.isSafeInteger);
const TelegramUpdate = z.object({
  update_id: tgInt.nonnegative(),
  message: z
    .object({
      message_id: tgInt,
      from: z
        .object({ id: tgInt, is_bot: z.boolean().optional(), first_name: z.string().optional(), username: z.string().optional() })
        .optional(),
      chat: z.object({ id: tgInt, type: z.string() }),
      text: z.string().optional(),
    })
    .optional(),
});

function parseTelegram({ body }: ParseInput): ParseResult {
  const r = TelegramUpdate.safeParse(json(body));
  if (!r.success) return INVALID;
  const deliveryId = String(r.data.update_id);
  const m = r.data.message;
  if (!m || m.from?.is_bot || !m.text?.trim()) return IGNORE(deliveryId);
  return {
    ok: true,
    deliveryId,
    action: {
      kind: "message",
      user: { platformUserId: String(m.chat.id), displayName: shortName(m.from?.username ?? m.from?.first_name) },
      text: m.text.trim(),
    },
  };
}

// --- Twilio Messaging: form fields of an incoming message -----------------------------------

const TwilioMessage = z.object({
  MessageSid: z.string().regex(/^(?:SM|MM)[0-9a-f]{32}$/),
  AccountSid: z.string().regex(/^AC[0-9a-f]{32}$/),
  From: z.string().refine(isTwilioAddress),
  To: z.string().refine(isTwilioAddress),
  Body: z.string().optional(),
  MessageStatus: z.string().optional(),
  SmsStatus: z.string().optional(),
});

function parseTwilio({ body, headers, settings, idSalt }: ParseInput): ParseResult {
  const ct = (headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (ct !== "application/x-www-form-urlencoded") return INVALID;
  const form = parseFormBody(body);
  // A repeated field is ambiguous: refuse it rather than pick one.
  for (const v of Object.values(form)) if (Array.isArray(v)) return INVALID;
  const r = TwilioMessage.safeParse(form);
  if (!r.success) return INVALID;
  const f = r.data;
  if (typeof settings.accountSid === "string" && f.AccountSid !== settings.accountSid) return INVALID;
  // Status callbacks for our own outbound messages carry MessageStatus and no inbound text.
  if (f.MessageStatus !== undefined || f.SmsStatus === "sent" || f.SmsStatus === "delivered") return IGNORE();
  const text = f.Body?.trim();
  if (!text) return IGNORE(f.MessageSid);
  return {
    ok: true,
    deliveryId: f.MessageSid,
    action: {
      kind: "message",
      user: { platformUserId: pseudonym(idSalt, "twilio", f.From), contact: f.From, replyTarget: f.To },
      text,
    },
  };
}

// --- Slack Events API ------------------------------------------------------------------------

const SlackUrlVerification = z.object({ type: z.literal("url_verification"), challenge: z.string().min(1).max(512) });
const SlackEventCallback = z.object({
  type: z.literal("event_callback"),
  event_id: z.string().regex(/^Ev[A-Za-z0-9]{4,60}$/),
  api_app_id: z.string().max(40).optional(),
  team_id: z.string().max(40).optional(),
  event: z.object({
    type: z.string().max(64),
    user: z.string().regex(/^[UW][A-Z0-9]{2,40}$/).optional(),
    text: z.string().optional(),
    channel: z.string().regex(/^[CDG][A-Z0-9]{2,40}$/).optional(),
    bot_id: z.string().optional(),
    subtype: z.string().optional(),
  }),
});
const SlackEnvelope = z.object({ type: z.string().max(64) });

function parseSlack({ body, settings }: ParseInput): ParseResult {
  const data = json(body);
  const env = SlackEnvelope.safeParse(data);
  if (!env.success) return INVALID;
  if (env.data.type === "url_verification") {
    const r = SlackUrlVerification.safeParse(data);
    return r.success ? { ok: true, action: { kind: "challenge", challenge: r.data.challenge } } : INVALID;
  }
  if (env.data.type !== "event_callback") return IGNORE(); // e.g. app_rate_limited
  const r = SlackEventCallback.safeParse(data);
  if (!r.success) return INVALID;
  const p = r.data;
  if (typeof settings.appId === "string" && p.api_app_id !== settings.appId) return INVALID;
  if (typeof settings.teamId === "string" && p.team_id !== settings.teamId) return INVALID;
  const e = p.event;
  // Bots (including our own replies) and edits/joins are not user messages.
  if ((e.type !== "message" && e.type !== "app_mention") || e.bot_id || e.subtype || !e.user || !e.channel) {
    return IGNORE(p.event_id);
  }
  const text = (e.text ?? "").replace(/^(?:\s*<@[A-Z0-9]+>)+/, "").trim();
  if (!text) return IGNORE(p.event_id);
  return {
    ok: true,
    deliveryId: p.event_id,
    action: { kind: "message", user: { platformUserId: e.user, replyTarget: e.channel }, text },
  };
}

// --- Discord interactions --------------------------------------------------------------------

const snowflake = z.string().regex(/^[0-9]{15,21}$/);
const DiscordUser = z.object({ id: snowflake, username: z.string().optional(), global_name: z.string().nullish() });
const DiscordPing = z.object({ type: z.literal(1) });
const DiscordCommand = z.object({
  type: z.literal(2),
  id: snowflake,
  application_id: snowflake,
  token: z.string().regex(/^[A-Za-z0-9._-]{20,1000}$/),
  data: z.object({
    name: z.string().min(1).max(32),
    options: z.array(z.object({ name: z.string(), type: z.number().int(), value: z.unknown().optional() })).max(25).optional(),
  }),
  member: z.object({ user: DiscordUser }).optional(),
  user: DiscordUser.optional(),
});

function parseDiscord({ body, settings }: ParseInput): ParseResult {
  const data = json(body);
  if (DiscordPing.safeParse(data).success) return { ok: true, action: { kind: "ping" } };
  // Only PING and slash commands are configured; other interaction types are not ours to answer.
  const r = DiscordCommand.safeParse(data);
  if (!r.success) return INVALID;
  const c = r.data;
  if (c.application_id !== settings.applicationId) return INVALID;
  const user = c.member?.user ?? c.user;
  if (!user) return INVALID;
  const option = c.data.options?.find((o) => typeof o.value === "string" && o.value.trim() !== "");
  const text = typeof option?.value === "string" ? option.value.trim() : `/${c.data.name}`;
  return {
    ok: true,
    deliveryId: c.id,
    action: {
      kind: "message",
      user: {
        platformUserId: user.id,
        displayName: shortName(user.global_name ?? user.username),
        replyTarget: c.token,
        replyTargetTtlMs: DISCORD_TOKEN_TTL_MS,
      },
      text,
    },
  };
}

// --- Resend (Svix) ---------------------------------------------------------------------------

const ResendEnvelope = z.object({ type: z.string().max(64), data: z.record(z.string(), z.unknown()) });
const ResendReceived = z.object({
  email_id: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  from: z.string().max(512),
  to: z.array(z.string().max(512)).max(50),
  subject: z.string().nullish(),
  // Resend's webhook carries metadata only; the body is fetched with the API. Accepted if present.
  text: z.string().nullish(),
});

function parseResend({ body, headers, settings, idSalt }: ParseInput): ParseResult {
  const deliveryId = headers["svix-id"] ?? headers["webhook-id"];
  const env = ResendEnvelope.safeParse(json(body));
  if (!env.success) return INVALID;
  if (env.data.type !== "email.received") return IGNORE(deliveryId); // delivery/bounce events
  const r = ResendReceived.safeParse(env.data.data);
  if (!r.success) return INVALID;
  const sender = emailOf(r.data.from);
  if (!sender) return INVALID;
  const self = typeof settings.fromAddress === "string" ? emailOf(settings.fromAddress) : null;
  if (self && sender === self) return IGNORE(deliveryId); // our own replies echoed back
  const subject = (r.data.subject ?? "").replace(/\p{Cc}+/gu, " ").trim().slice(0, 200);
  const text = typeof r.data.text === "string" ? cleanEmailText(r.data.text) : undefined;
  return {
    ok: true,
    deliveryId,
    action: {
      kind: "message",
      user: { platformUserId: pseudonym(idSalt, "resend", sender), contact: sender, replyTarget: subject },
      text,
      emailId: r.data.email_id,
    },
  };
}

/** Plain text of an e-mail reply: quoted history dropped, cut to MAX_MESSAGE_CHARS. */
export function cleanEmailText(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const kept: string[] = [];
  for (const line of lines) {
    if (/^On .{1,300} wrote:\s*$/.test(line) || /^-{2,}\s*Original Message\s*-{2,}/i.test(line)) break;
    if (line.startsWith(">")) continue;
    kept.push(line);
  }
  return kept.join("\n").trim().slice(0, MAX_MESSAGE_CHARS);
}

/** Minimal HTML → text for mail that has no text part. */
export function htmlToText(html: string): string {
  return html
    .slice(0, 200_000)
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h[1-6])\s*>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n");
}
