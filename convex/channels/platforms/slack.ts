/** Slack Events API: v0 HMAC-SHA256 signatures, event callbacks, chat.postMessage replies. */
import { z } from "zod";
import { lowerHexEqualsDigest } from "../../lib/crypto/compare";
import { hmacSha256 } from "../../lib/crypto/hmac";
import {
  DECIMAL_SECONDS,
  DUPLICATE,
  IGNORE,
  INVALID,
  JSON_HEADERS,
  JSON_OK,
  OK,
  channelSecrets,
  checkWindow,
  clampTo,
  fail,
  header,
  json,
} from "./kit";
import type { InboundRequest, ParseInput, ParseResult, PlatformAdapter, VendorRequest, VerifyResult } from "./types";

const SECRETS = channelSecrets("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN");
const MAX_REPLY_CHARS = 4000;
const LOWER_HEX_64 = /^[0-9a-f]{64}$/;

// v0=hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
function verifySlack(req: InboundRequest, secret: string, now: number): VerifyResult {
  const ts = header(req.headers, "x-slack-request-timestamp");
  const sig = header(req.headers, "x-slack-signature");
  if (ts === DUPLICATE || sig === DUPLICATE) return fail("duplicate_header");
  if (ts === undefined || sig === undefined) return fail("missing_header");
  if (!DECIMAL_SECONDS.test(ts)) return fail("bad_timestamp");
  const late = checkWindow(Number(ts), now);
  if (late) return late;
  if (!sig.startsWith("v0=")) return fail("malformed_header");
  const provided = sig.slice(3);
  // Same as comparing with "v0=" + lowercase hex of the MAC; the shape check below only names
  // the reason for a refusal.
  if (lowerHexEqualsDigest(provided, hmacSha256(secret, "v0:" + ts + ":" + req.body))) return OK;
  return fail(LOWER_HEX_64.test(provided) ? "signature_mismatch" : "malformed_header");
}

const SlackUrlVerification = z.object({ type: z.literal("url_verification"), challenge: z.string().min(1).max(512) });
const SlackEventCallback = z.object({
  type: z.literal("event_callback"),
  event_id: z.string().regex(/^Ev[A-Za-z0-9]{4,60}$/),
  api_app_id: z.string().max(40).optional(),
  team_id: z.string().max(40).optional(),
  event: z.object({
    type: z.string().max(64),
    user: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,40}$/)
      .optional(),
    text: z.string().optional(),
    channel: z
      .string()
      .regex(/^[CDG][A-Z0-9]{2,40}$/)
      .optional(),
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

export function slackPostMessage(base: string, botToken: string, channel: string, text: string): VendorRequest {
  return {
    url: `${base}/chat.postMessage`,
    method: "POST",
    headers: { ...JSON_HEADERS, Authorization: `Bearer ${botToken}` },
    body: JSON.stringify({ channel, text: clampTo(MAX_REPLY_CHARS, text) }),
  };
}

export const slack: PlatformAdapter = {
  label: "Slack",
  senderLabel: "Slack",
  via: "on Slack",
  untrustedContent: false,
  settingsSchema: z.strictObject({
    appId: z
      .string()
      .regex(/^A[A-Z0-9]{6,20}$/)
      .optional(),
    teamId: z
      .string()
      .regex(/^T[A-Z0-9]{6,20}$/)
      .optional(),
  }),
  settingsFields: [
    { key: "appId", label: "App ID", required: false, placeholder: "A0123456" },
    { key: "teamId", label: "Team ID", required: false, placeholder: "T0123456" },
  ],
  secrets: SECRETS,
  verify: (req, secret, now) => verifySlack(req, secret, now()),
  parse: parseSlack,
  // 200 + one reply per window: Slack retries non-2xx and turns off event delivery for apps
  // that keep failing.
  limitSignal: "reply",
  ack: (action) => (action?.kind === "challenge" ? { json: { challenge: action.challenge } } : JSON_OK),
  inlineNotice: null,
  reply: {
    maxChars: MAX_REPLY_CHARS,
    usesSecret: true,
    build: ({ base, secret, target, text }) =>
      secret && target.replyTarget
        ? { kind: "http", request: slackPostMessage(base, secret, target.replyTarget, text) }
        : null,
  },
  fetchText: null,
  vendorBase: { env: "WARDEN_SLACK_API_BASE", fallback: "https://slack.com/api" },
  idempotentSend: false,
  setupSteps: (url) => [
    "Create a Slack app; copy its App ID into the settings (appId).",
    `Save the Signing Secret (Basic Information) as ${SECRETS.verify} and the Bot User OAuth Token (xoxb-…) as ${SECRETS.send}.`,
    "Add the bot scopes chat:write, app_mentions:read and im:history, then install the app.",
    `Enable Event Subscriptions with Request URL ${url} and subscribe to app_mention and message.im.`,
  ],
};
