/**
 * Per-platform channel facts (pure; no Convex imports): non-secret settings schemas, secret
 * names, webhook URLs and setup steps shown in SyncBoard.
 */
import { z } from "zod";
import type { WebhookPlatform } from "./verify";
import { isPublicAddress } from "../lib/egress";

export type Platform = WebhookPlatform;
export const PLATFORMS: readonly Platform[] = ["telegram", "twilio", "slack", "discord", "resend"];

export function isPlatform(p: string): p is Platform {
  return (PLATFORMS as readonly string[]).includes(p);
}

/** Secret names per platform: `verify` checks inbound webhooks, `send` authorizes replies. */
export const SECRET_NAMES: Record<Platform, { verify: string; send: string; all: readonly string[] }> = {
  telegram: { verify: "TELEGRAM_SECRET_TOKEN", send: "TELEGRAM_BOT_TOKEN", all: ["TELEGRAM_SECRET_TOKEN", "TELEGRAM_BOT_TOKEN"] },
  // One auth token both signs Twilio's webhooks and authorizes the REST API.
  twilio: { verify: "TWILIO_AUTH_TOKEN", send: "TWILIO_AUTH_TOKEN", all: ["TWILIO_AUTH_TOKEN"] },
  slack: { verify: "SLACK_SIGNING_SECRET", send: "SLACK_BOT_TOKEN", all: ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"] },
  // Interaction follow-ups authenticate with the interaction token; the bot token is kept for
  // registering commands and future bot-initiated messages.
  discord: { verify: "DISCORD_PUBLIC_KEY", send: "DISCORD_BOT_TOKEN", all: ["DISCORD_PUBLIC_KEY", "DISCORD_BOT_TOKEN"] },
  resend: { verify: "RESEND_WEBHOOK_SECRET", send: "RESEND_API_KEY", all: ["RESEND_WEBHOOK_SECRET", "RESEND_API_KEY"] },
};

export const E164 = /^\+[1-9][0-9]{6,14}$/;
const TWILIO_ADDRESS = /^(?:whatsapp:)?\+[1-9][0-9]{6,14}$/;
// addr-spec subset: what we accept as a sender/recipient address
export const EMAIL_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const DISPLAY_FROM = /^[^<>\r\n"]{0,100} <([^<>\s]+)>$/;

/** Strict schemas: unknown keys (e.g. a token pasted into settings) are refused. */
export const SETTINGS_SCHEMAS = {
  telegram: z.strictObject({
    botUsername: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/).optional(),
  }),
  twilio: z.strictObject({
    accountSid: z.string().regex(/^AC[0-9a-f]{32}$/),
    /** Replies go from the number the user wrote to; this is the fallback. */
    fromNumber: z.string().regex(TWILIO_ADDRESS).optional(),
  }),
  slack: z.strictObject({
    appId: z.string().regex(/^A[A-Z0-9]{6,20}$/).optional(),
    teamId: z.string().regex(/^T[A-Z0-9]{6,20}$/).optional(),
  }),
  discord: z.strictObject({
    applicationId: z.string().regex(/^[0-9]{17,20}$/),
  }),
  resend: z.strictObject({
    /** "bot@example.com" or "Bot <bot@example.com>" on a domain verified in Resend. */
    fromAddress: z.string().max(200).refine((s) => emailOf(s) !== null),
  }),
} as const;

export type ChannelSettings = {
  telegram: z.infer<typeof SETTINGS_SCHEMAS.telegram>;
  twilio: z.infer<typeof SETTINGS_SCHEMAS.twilio>;
  slack: z.infer<typeof SETTINGS_SCHEMAS.slack>;
  discord: z.infer<typeof SETTINGS_SCHEMAS.discord>;
  resend: z.infer<typeof SETTINGS_SCHEMAS.resend>;
};

/** Validates settings for a platform; `field` names the first offending key. */
export function validateSettings(
  platform: Platform,
  settings: unknown,
): { ok: true; settings: Record<string, string> } | { ok: false; field: string } {
  const r = SETTINGS_SCHEMAS[platform].safeParse(settings ?? {});
  if (r.success) return { ok: true, settings: r.data as Record<string, string> };
  const issue = r.error.issues[0];
  const field = issue?.code === "unrecognized_keys" ? (issue.keys?.[0] ?? "settings") : String(issue?.path?.[0] ?? "settings");
  return { ok: false, field: field.slice(0, 40) };
}

/** The address inside "a@b.c" or "Name <a@b.c>", lower-cased; null if it is not one. */
export function emailOf(raw: string): string | null {
  const s = raw.trim();
  const m = DISPLAY_FROM.exec(s);
  const addr = (m ? m[1] : s).toLowerCase();
  return addr.length <= 254 && EMAIL_ADDRESS.test(addr) ? addr : null;
}

export function isTwilioAddress(s: string): boolean {
  return TWILIO_ADDRESS.test(s);
}

/** The public base URL vendors call: WARDEN_PUBLIC_BASE_URL, else CONVEX_SITE_URL. Never a request header. */
export function publicBaseUrl(env: Record<string, string | undefined>): string | null {
  const raw = (env.WARDEN_PUBLIC_BASE_URL || env.CONVEX_SITE_URL || "").trim().replace(/\/+$/, "");
  if (!raw) return null;
  try {
    const u = new URL(raw);
    return u.protocol === "https:" || u.protocol === "http:" ? raw : null;
  } catch {
    return null;
  }
}

/**
 * Why vendors could not reach this base URL from the internet, or null when it looks reachable:
 * "loopback" (localhost, 127.0.0.0/8, ::1, *.localhost), "private" (RFC 1918, link-local, ULA and
 * other non-public addresses), "local-name" (a single-label or .local/.internal/.lan/.home.arpa
 * name), "not-https" (vendors such as Telegram and Slack only call https).
 */
export type PublicUrlProblem = "loopback" | "private" | "local-name" | "not-https";
export function publicUrlProblem(base: string | null): PublicUrlProblem | null {
  if (!base) return null;
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    return null;
  }
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host) || host === "::1" || host === "0.0.0.0") return "loopback";
  const isIp = /^[0-9.]+$/.test(host) || host.includes(":");
  if (isIp && !isPublicAddress(host)) return "private";
  if (!isIp && (!host.includes(".") || /\.(local|internal|lan|home\.arpa|intranet|corp)$/.test(host))) return "local-name";
  if (u.protocol !== "https:") return "not-https";
  return null;
}

export function webhookPath(platform: Platform, channelId: string): string {
  return `/webhooks/${platform}/${channelId}`;
}

export function webhookUrl(env: Record<string, string | undefined>, platform: Platform, channelId: string): string | null {
  const base = publicBaseUrl(env);
  return base ? base + webhookPath(platform, channelId) : null;
}

const CHANNEL_ID = /^[A-Za-z0-9]{10,64}$/;

/** `/webhooks/{platform}/{channelId}` → parts; null for anything else (no trailing parts, no encoding tricks). */
export function parseWebhookPath(pathname: string): { platform: Platform; channelId: string } | null {
  const parts = pathname.split("/");
  if (parts.length !== 4 || parts[0] !== "" || parts[1] !== "webhooks") return null;
  const [, , platform, channelId] = parts;
  if (!isPlatform(platform) || !CHANNEL_ID.test(channelId)) return null;
  return { platform, channelId };
}

/** Step-by-step setup text for SyncBoard; `url` is the channel's webhook URL. */
export function setupSteps(platform: Platform, url: string): string[] {
  const s = SECRET_NAMES[platform];
  switch (platform) {
    case "telegram":
      return [
        "Create a bot with @BotFather and copy its token.",
        `Save the token as the channel secret ${s.send}.`,
        `Generate a random secret token (1-256 characters of A-Z, a-z, 0-9, _ and -) and save it as ${s.verify}.`,
        `Call setWebhook with url=${url} and secret_token=<that token>; Telegram sends it back in X-Telegram-Bot-Api-Secret-Token.`,
      ];
    case "twilio":
      return [
        "Copy your Account SID into the channel settings (accountSid) and the number's E.164 form into fromNumber.",
        `Save the account's Auth Token as the channel secret ${s.verify}.`,
        `In the phone number's (or WhatsApp sender's) messaging configuration set "A message comes in" to HTTP POST ${url}.`,
        "The public base URL must match exactly what Twilio calls: signatures cover the full URL.",
      ];
    case "slack":
      return [
        "Create a Slack app; copy its App ID into the settings (appId).",
        `Save the Signing Secret (Basic Information) as ${s.verify} and the Bot User OAuth Token (xoxb-…) as ${s.send}.`,
        "Add the bot scopes chat:write, app_mentions:read and im:history, then install the app.",
        `Enable Event Subscriptions with Request URL ${url} and subscribe to app_mention and message.im.`,
      ];
    case "discord":
      return [
        "Create an application in the Discord Developer Portal; copy its Application ID into the settings (applicationId).",
        `Save the application's Public Key (hex) as ${s.verify} and the bot token as ${s.send}.`,
        "Register a slash command with a string option (for example /ask question:<text>).",
        `Set the Interactions Endpoint URL to ${url}; Discord sends a signed PING that Warden answers after verifying it.`,
      ];
    case "resend":
      return [
        "Set up receiving for your domain in Resend and put the sending address in the settings (fromAddress).",
        `Save a Resend API key (with sending and receiving access) as ${s.send}.`,
        `Add a webhook for the event email.received with endpoint ${url}.`,
        `Save the webhook's signing secret (whsec_…) as ${s.verify}.`,
      ];
  }
}
