/**
 * Channel test helpers: channel setup through the real management and secrets APIs, request
 * signing with each vendor's own library (or its documented scheme), and a mock vendor server.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import { Webhook } from "svix";
import * as ed from "@noble/ed25519";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { member, type T } from "../harness";
import { TEST_ENV } from "../env";
import type { Platform } from "../../convex/channels/platforms";

export const BASE = TEST_ENV.WARDEN_PUBLIC_BASE_URL;

// Test-only credentials (fake).
export const TG_SECRET = "tg-secret-token_0123456789";
export const TG_BOT = "123456789:AAtestonlytokenABCDEFGHIJKLMNOPQRSTU";
export const TWILIO_SID = "AC" + "0123456789abcdef".repeat(2);
export const TWILIO_TOKEN = "twilio-test-auth-token-0123456789";
export const TWILIO_NUMBER = "+15550001111";
export const SLACK_SECRET = "slack-signing-secret-test-0123456789";
export const SLACK_BOT = "xoxb-test-only-0123456789";
export const DISCORD_APP = "123456789012345678";
export const DISCORD_SK = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
export const RESEND_SECRET = "whsec_" + Buffer.from("resend-test-only-signing-key-32b").toString("base64");
export const RESEND_KEY = "re_test_only_0123456789";
export const RESEND_FROM = "Warden Bot <bot@warden.test>";

export async function discordPublicKeyHex(): Promise<string> {
  return Buffer.from(await ed.getPublicKeyAsync(DISCORD_SK)).toString("hex");
}

export const SETTINGS: Record<Platform, Record<string, string>> = {
  telegram: { botUsername: "warden_test_bot" },
  twilio: { accountSid: TWILIO_SID, fromNumber: TWILIO_NUMBER },
  slack: { appId: "A0TESTAPP1" },
  discord: { applicationId: DISCORD_APP },
  resend: { fromAddress: RESEND_FROM },
};

export async function secretsFor(platform: Platform): Promise<Record<string, string>> {
  switch (platform) {
    case "telegram":
      return { TELEGRAM_SECRET_TOKEN: TG_SECRET, TELEGRAM_BOT_TOKEN: TG_BOT };
    case "twilio":
      return { TWILIO_AUTH_TOKEN: TWILIO_TOKEN };
    case "slack":
      return { SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_BOT_TOKEN: SLACK_BOT };
    case "discord":
      return { DISCORD_PUBLIC_KEY: await discordPublicKeyHex(), DISCORD_BOT_TOKEN: "discord-bot-test-token" };
    case "resend":
      return { RESEND_WEBHOOK_SECRET: RESEND_SECRET, RESEND_API_KEY: RESEND_KEY };
  }
}

/** Creates, configures and enables a channel through the public APIs (owner role). */
export async function setupChannel(t: T, platform: Platform, opts: { workspace?: string; enabled?: boolean } = {}) {
  const m = await member(t, { role: "owner", workspace: opts.workspace ?? "ws-a" });
  const channelId: Id<"channelConfig"> = await m.as.mutation(api.channels.manage.create, {
    platform,
    name: `${platform} test`,
    settings: SETTINGS[platform],
  });
  for (const [name, value] of Object.entries(await secretsFor(platform))) {
    await m.as.mutation(api.secrets.manage.setChannelSecret, { channelId, name, value });
  }
  if (opts.enabled !== false) await m.as.mutation(api.channels.manage.enable, { channelId });
  return { ...m, channelId, path: `/webhooks/${platform}/${channelId}` };
}

export type SignedRequest = { headers: Record<string, string>; body: string };
const nowS = () => Math.floor(Date.now() / 1000);

export function telegramUpdate(updateId: number, chatId: number, text: string) {
  return JSON.stringify({
    update_id: updateId,
    message: {
      message_id: updateId,
      date: nowS(),
      from: { id: chatId, is_bot: false, first_name: "Ann", username: "ann" },
      chat: { id: chatId, type: "private" },
      text,
    },
  });
}
export function signTelegram(body: string, secret = TG_SECRET): SignedRequest {
  return { headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret }, body };
}

export function twilioForm(opts: { sid?: string; from?: string; body?: string; to?: string; account?: string } = {}) {
  return {
    MessageSid: opts.sid ?? "SM" + "a".repeat(32),
    AccountSid: opts.account ?? TWILIO_SID,
    From: opts.from ?? "+15557654321",
    To: opts.to ?? TWILIO_NUMBER,
    Body: opts.body ?? "hello twilio",
    NumMedia: "0",
    SmsStatus: "received",
  };
}
/** Signs with twilio's own getExpectedTwilioSignature for the URL Twilio would have called. */
export function signTwilio(params: Record<string, string>, url: string, token = TWILIO_TOKEN): SignedRequest {
  const body = new URLSearchParams(params).toString();
  return {
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": twilio.getExpectedTwilioSignature(token, url, params),
    },
    body,
  };
}

export function slackEvent(eventId: string, user: string, text: string, channel = "D0TESTDM1") {
  return JSON.stringify({
    type: "event_callback",
    team_id: "T0TESTTEAM",
    api_app_id: "A0TESTAPP1",
    event_id: eventId,
    event_time: nowS(),
    event: { type: "message", channel_type: "im", user, text, channel, ts: "1700000000.000100" },
  });
}
/** Slack's documented scheme: v0= hex HMAC-SHA256 of "v0:{ts}:{body}". */
export function signSlack(body: string, opts: { secret?: string; ts?: number } = {}): SignedRequest {
  const ts = String(opts.ts ?? nowS());
  const sig =
    "v0=" +
    createHmac("sha256", opts.secret ?? SLACK_SECRET)
      .update(`v0:${ts}:${body}`)
      .digest("hex");
  return {
    headers: { "Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig },
    body,
  };
}

export function discordCommand(id: string, userId: string, text: string, token = "itok_" + "x".repeat(40)) {
  return JSON.stringify({
    type: 2,
    id,
    application_id: DISCORD_APP,
    token,
    data: { id: "999999999999999999", name: "ask", options: [{ name: "question", type: 3, value: text }] },
    member: { user: { id: userId, username: "dana" } },
    guild_id: "888888888888888888",
    channel_id: "777777777777777777",
  });
}
/** Ed25519 over timestamp + body with a test key (@noble/ed25519). */
export async function signDiscord(body: string, opts: { sk?: Uint8Array; ts?: number } = {}): Promise<SignedRequest> {
  const ts = String(opts.ts ?? nowS());
  const sig = await ed.signAsync(new TextEncoder().encode(ts + body), opts.sk ?? DISCORD_SK);
  return {
    headers: {
      "Content-Type": "application/json",
      "X-Signature-Ed25519": Buffer.from(sig).toString("hex"),
      "X-Signature-Timestamp": ts,
    },
    body,
  };
}

export function resendReceived(emailId: string, from: string, text?: string) {
  return JSON.stringify({
    type: "email.received",
    created_at: new Date().toISOString(),
    data: {
      email_id: emailId,
      created_at: new Date().toISOString(),
      from,
      to: ["bot@warden.test"],
      cc: [],
      bcc: [],
      message_id: "<m1@example>",
      subject: "Question",
      attachments: [],
      ...(text === undefined ? {} : { text }),
    },
  });
}
/** Signs with svix's own Webhook.sign. */
export function signResend(body: string, msgId: string, opts: { secret?: string; at?: Date } = {}): SignedRequest {
  const at = opts.at ?? new Date(nowS() * 1000);
  const sig = new Webhook(opts.secret ?? RESEND_SECRET).sign(msgId, at, body);
  return {
    headers: {
      "Content-Type": "application/json",
      "svix-id": msgId,
      "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
      "svix-signature": sig,
    },
    body,
  };
}

/**
 * Runs scheduled work to completion on real timers (fake timers would also fire the HTTP
 * client's own connect timeouts while a request to the mock vendor is in flight).
 */
export async function drain(t: T, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await t.finishInProgressScheduledFunctions();
    const open = await t.run(async (ctx) => {
      const all = await ctx.db.system.query("_scheduled_functions").collect();
      return all.filter((j) => j.state.kind === "pending" || j.state.kind === "inProgress").length;
    });
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`scheduled functions still open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function post(t: T, path: string, r: SignedRequest, extraHeaders: Record<string, string> = {}) {
  return await t.fetch(path, { method: "POST", headers: { ...r.headers, ...extraHeaders }, body: r.body });
}

// ---------------------------------------------------------------------------------------------
// Mock vendor server on 127.0.0.1

export type Captured = { method: string; url: string; headers: IncomingMessage["headers"]; body: string };
export type MockReply = { status: number; body?: unknown; headers?: Record<string, string> };

export class MockVendor {
  server!: Server;
  base = "";
  requests: Captured[] = [];
  /** Override to answer differently; default is each vendor's success shape. */
  respond: (req: Captured) => MockReply = defaultReply;

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const captured = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.requests.push(captured);
        const r = this.respond(captured);
        res.writeHead(r.status, { "Content-Type": "application/json", ...(r.headers ?? {}) });
        res.end(r.body === undefined ? "" : JSON.stringify(r.body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  async stop() {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
  reset() {
    this.requests = [];
    this.respond = defaultReply;
  }
  /** Points every vendor base URL at this server. */
  useForAllVendors() {
    process.env.WARDEN_TELEGRAM_API_BASE = this.base + "/telegram";
    process.env.WARDEN_SLACK_API_BASE = this.base + "/slack/api";
    process.env.WARDEN_DISCORD_API_BASE = this.base + "/discord/api/v10";
    process.env.WARDEN_TWILIO_API_BASE = this.base + "/twilio";
    process.env.WARDEN_RESEND_API_BASE = this.base + "/resend";
  }
}

function defaultReply(req: Captured): MockReply {
  if (req.url.startsWith("/twilio/")) return { status: 201, body: { sid: "SM" + "f".repeat(32), status: "queued" } };
  if (req.url.startsWith("/telegram/")) return { status: 200, body: { ok: true, result: { message_id: 1 } } };
  if (req.url.startsWith("/slack/")) return { status: 200, body: { ok: true, ts: "1.2" } };
  if (req.url.startsWith("/resend/emails/receiving/"))
    return { status: 200, body: { object: "email", text: "Hello from email\n\n> quoted old text" } };
  if (req.url.startsWith("/resend/")) return { status: 200, body: { id: "email-sent-1" } };
  return { status: 200, body: { id: "1" } };
}

export const VENDOR_ENV = [
  "WARDEN_TELEGRAM_API_BASE",
  "WARDEN_SLACK_API_BASE",
  "WARDEN_DISCORD_API_BASE",
  "WARDEN_TWILIO_API_BASE",
  "WARDEN_RESEND_API_BASE",
];
