/** Telegram Bot API: secret-token webhooks, Update payloads, sendMessage replies. */
import { z } from "zod";
import { secretStringEqual } from "../../lib/crypto/compare";
import {
  DUPLICATE,
  IGNORE,
  INVALID,
  JSON_HEADERS,
  JSON_OK,
  OK,
  channelSecrets,
  clampTo,
  fail,
  header,
  json,
  shortName,
} from "./kit";
import type { InboundRequest, ParseInput, ParseResult, PlatformAdapter, VendorRequest, VerifyResult } from "./types";

const SECRETS = channelSecrets("TELEGRAM_SECRET_TOKEN", "TELEGRAM_BOT_TOKEN");
const MAX_REPLY_CHARS = 4096;

// X-Telegram-Bot-Api-Secret-Token equals the secret token set with setWebhook.
function verifyTelegram(req: InboundRequest, secret: string): VerifyResult {
  const token = header(req.headers, "x-telegram-bot-api-secret-token");
  if (token === DUPLICATE) return fail("duplicate_header");
  if (token === undefined) return fail("missing_header");
  return secretStringEqual(token, secret) ? OK : fail("signature_mismatch");
}

// An Update (https://core.telegram.org/bots/api#update).
const tgInt = z.number().int().refine(Number.isSafeInteger);
const TelegramUpdate = z.object({
  update_id: tgInt.nonnegative(),
  message: z
    .object({
      message_id: tgInt,
      from: z
        .object({
          id: tgInt,
          is_bot: z.boolean().optional(),
          first_name: z.string().optional(),
          username: z.string().optional(),
        })
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
    body: JSON.stringify({ chat_id: chatId, text: clampTo(MAX_REPLY_CHARS, text) }),
  };
}

export const telegram: PlatformAdapter = {
  label: "Telegram",
  senderLabel: "Telegram",
  via: "on Telegram",
  untrustedContent: false,
  settingsSchema: z.strictObject({
    botUsername: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/)
      .optional(),
  }),
  settingsFields: [{ key: "botUsername", label: "Bot username", required: false, placeholder: "my_warden_bot" }],
  secrets: SECRETS,
  verify: (req, secret) => verifyTelegram(req, secret),
  parse: parseTelegram,
  // 200 + one "slow down" reply per window: Telegram redelivers on any non-2xx, which would
  // replay the flood and stall the bot's update queue.
  limitSignal: "reply",
  ack: () => JSON_OK,
  inlineNotice: null,
  reply: {
    maxChars: MAX_REPLY_CHARS,
    usesSecret: true,
    build: ({ base, secret, target, text }) =>
      secret && isTelegramBotToken(secret)
        ? { kind: "http", request: telegramSendMessage(base, secret, target.platformUserId, text) }
        : null,
  },
  fetchText: null,
  vendorBase: { env: "WARDEN_TELEGRAM_API_BASE", fallback: "https://api.telegram.org" },
  idempotentSend: false,
  setupSteps: (url) => [
    "Create a bot with @BotFather and copy its token.",
    `Save the token as the channel secret ${SECRETS.send}.`,
    `Generate a random secret token (1-256 characters of A-Z, a-z, 0-9, _ and -) and save it as ${SECRETS.verify}.`,
    `Call setWebhook with url=${url} and secret_token=<that token>; Telegram sends it back in X-Telegram-Bot-Api-Secret-Token.`,
  ],
};
