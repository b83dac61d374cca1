/** Per-platform request builders for the webhook tests: valid, forged and malformed variants. */
import type { Platform } from "../../convex/channels/platforms";
import {
  BASE,
  discordCommand,
  resendReceived,
  signDiscord,
  signResend,
  signSlack,
  signTelegram,
  signTwilio,
  slackEvent,
  telegramUpdate,
  twilioForm,
  type SignedRequest,
} from "./helpers";

export type Ch = { path: string };
const sid = (n: number) => "SM" + n.toString(16).padStart(32, "0");
const old = () => Math.floor(Date.now() / 1000) - 301;

export type Kit = {
  platform: Platform;
  /** a valid, signed user message; `n` makes the delivery id unique */
  valid(ch: Ch, n: number, text?: string): Promise<SignedRequest>;
  /** same signature, body changed after signing (Telegram signs no body: its token is altered instead) */
  tampered(ch: Ch, n: number): Promise<SignedRequest>;
  wrongSecret(ch: Ch, n: number): Promise<SignedRequest>;
  missingHeaders(ch: Ch, n: number): Promise<SignedRequest>;
  malformedHeaders(ch: Ch, n: number): Promise<SignedRequest[]>;
  /** timestamped schemes only (Slack, Discord, Resend) */
  stale?(ch: Ch, n: number): Promise<SignedRequest>;
  /** correctly signed, but not a payload of the platform's schema */
  malformedPayload(ch: Ch): Promise<SignedRequest>;
  /** the signature/timestamp header names */
  sigHeaders: string[];
};

function drop(r: SignedRequest, names: string[]): SignedRequest {
  const headers = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !names.includes(k.toLowerCase())));
  return { ...r, headers };
}
function withHeaders(r: SignedRequest, h: Record<string, string>): SignedRequest {
  return { ...r, headers: { ...r.headers, ...h } };
}

export const KITS: Kit[] = [
  {
    platform: "telegram",
    sigHeaders: ["x-telegram-bot-api-secret-token"],
    valid: async (_ch, n, text = "hello telegram") => signTelegram(telegramUpdate(n, 4242, text)),
    tampered: async (_ch, n) => signTelegram(telegramUpdate(n, 4242, "hello"), "tg-secret-token_0123456788"),
    wrongSecret: async (_ch, n) => signTelegram(telegramUpdate(n, 4242, "hello"), "another-secret"),
    missingHeaders: async (_ch, n) =>
      drop(signTelegram(telegramUpdate(n, 4242, "hello")), ["x-telegram-bot-api-secret-token"]),
    malformedHeaders: async (_ch, n) => [
      withHeaders(signTelegram(telegramUpdate(n, 4242, "hello")), { "X-Telegram-Bot-Api-Secret-Token": "" }),
      // a prefix and an extension of the real token (length handling of the comparison)
      withHeaders(signTelegram(telegramUpdate(n, 4242, "hello")), {
        "X-Telegram-Bot-Api-Secret-Token": "tg-secret-token_012345678",
      }),
      withHeaders(signTelegram(telegramUpdate(n, 4242, "hello")), {
        "X-Telegram-Bot-Api-Secret-Token": "tg-secret-token_0123456789x",
      }),
    ],
    malformedPayload: async () => signTelegram(JSON.stringify({ message: { text: "no update id" } })),
  },
  {
    platform: "twilio",
    sigHeaders: ["x-twilio-signature"],
    valid: async (ch, n, text = "hello twilio") => signTwilio(twilioForm({ sid: sid(n), body: text }), BASE + ch.path),
    tampered: async (ch, n) => {
      const r = signTwilio(twilioForm({ sid: sid(n), body: "hello" }), BASE + ch.path);
      return { ...r, body: r.body.replace("hello", "hellO") };
    },
    wrongSecret: async (ch, n) => signTwilio(twilioForm({ sid: sid(n) }), BASE + ch.path, "wrong-auth-token"),
    missingHeaders: async (ch, n) =>
      drop(signTwilio(twilioForm({ sid: sid(n) }), BASE + ch.path), ["x-twilio-signature"]),
    malformedHeaders: async (ch, n) => [
      withHeaders(signTwilio(twilioForm({ sid: sid(n) }), BASE + ch.path), { "X-Twilio-Signature": "not base64 !!" }),
      withHeaders(signTwilio(twilioForm({ sid: sid(n) }), BASE + ch.path), { "X-Twilio-Signature": "" }),
    ],
    malformedPayload: async (ch) => signTwilio({ From: "+15557654321", Body: "no sid" }, BASE + ch.path),
  },
  {
    platform: "slack",
    sigHeaders: ["x-slack-signature", "x-slack-request-timestamp"],
    valid: async (_ch, n, text = "hello slack") =>
      signSlack(slackEvent(`Ev${String(n).padStart(8, "0")}`, "U0TESTUSER", text)),
    tampered: async (_ch, n) => {
      const r = signSlack(slackEvent(`Ev${String(n).padStart(8, "0")}`, "U0TESTUSER", "hello"));
      return { ...r, body: r.body.replace("hello", "hellO") };
    },
    wrongSecret: async (_ch, n) =>
      signSlack(slackEvent(`Ev${String(n).padStart(8, "0")}`, "U0TESTUSER", "hello"), { secret: "wrong" }),
    missingHeaders: async (_ch, n) =>
      drop(signSlack(slackEvent(`Ev${String(n).padStart(8, "0")}`, "U0TESTUSER", "hi")), ["x-slack-signature"]),
    malformedHeaders: async (_ch, n) => {
      const r = signSlack(slackEvent(`Ev${String(n).padStart(8, "0")}`, "U0TESTUSER", "hi"));
      return [
        withHeaders(r, { "X-Slack-Signature": r.headers["X-Slack-Signature"].replace("v0=", "v1=") }),
        withHeaders(r, { "X-Slack-Request-Timestamp": "yesterday" }),
        withHeaders(r, { "X-Slack-Signature": "v0=zz" }),
      ];
    },
    stale: async (_ch, n) =>
      signSlack(slackEvent(`Ev${String(n).padStart(8, "0")}`, "U0TESTUSER", "hi"), { ts: old() }),
    malformedPayload: async () =>
      signSlack(JSON.stringify({ type: "event_callback", event_id: "not an id", event: {} })),
  },
  {
    platform: "discord",
    sigHeaders: ["x-signature-ed25519", "x-signature-timestamp"],
    valid: async (_ch, n, text = "hello discord") =>
      signDiscord(discordCommand(String(100000000000000000n + BigInt(n)), "222222222222222222", text)),
    tampered: async (_ch, n) => {
      const r = await signDiscord(
        discordCommand(String(100000000000000000n + BigInt(n)), "222222222222222222", "hello"),
      );
      return { ...r, body: r.body.replace("hello", "hellO") };
    },
    wrongSecret: async (_ch, n) =>
      signDiscord(discordCommand(String(100000000000000000n + BigInt(n)), "222222222222222222", "hi"), {
        sk: new Uint8Array(32).fill(9),
      }),
    missingHeaders: async (_ch, n) =>
      drop(await signDiscord(discordCommand(String(100000000000000000n + BigInt(n)), "222222222222222222", "hi")), [
        "x-signature-ed25519",
      ]),
    malformedHeaders: async (_ch, n) => {
      const r = await signDiscord(discordCommand(String(100000000000000000n + BigInt(n)), "222222222222222222", "hi"));
      return [
        withHeaders(r, { "X-Signature-Ed25519": "zz" + r.headers["X-Signature-Ed25519"].slice(2) }),
        withHeaders(r, { "X-Signature-Timestamp": "soon" }),
      ];
    },
    stale: async (_ch, n) =>
      signDiscord(discordCommand(String(100000000000000000n + BigInt(n)), "222222222222222222", "hi"), { ts: old() }),
    malformedPayload: async () => signDiscord(JSON.stringify({ type: 2, id: "1" })),
  },
  {
    platform: "resend",
    sigHeaders: ["svix-signature", "svix-timestamp", "svix-id"],
    valid: async (_ch, n, text = "hello resend") =>
      signResend(resendReceived(`email-${n}-0000`, "Erin <erin@example.org>", text), `msg_${n}`),
    tampered: async (_ch, n) => {
      const r = signResend(resendReceived(`email-${n}-0000`, "erin@example.org", "hello"), `msg_${n}`);
      return { ...r, body: r.body.replace("hello", "hellO") };
    },
    wrongSecret: async (_ch, n) =>
      signResend(resendReceived(`email-${n}-0000`, "erin@example.org", "hi"), `msg_${n}`, {
        secret: "whsec_" + Buffer.from("another-key-another-key-another!").toString("base64"),
      }),
    missingHeaders: async (_ch, n) =>
      drop(signResend(resendReceived(`email-${n}-0000`, "erin@example.org", "hi"), `msg_${n}`), ["svix-signature"]),
    malformedHeaders: async (_ch, n) => {
      const r = signResend(resendReceived(`email-${n}-0000`, "erin@example.org", "hi"), `msg_${n}`);
      return [
        withHeaders(r, { "svix-signature": "v1" }),
        withHeaders(r, { "svix-timestamp": "later" }),
        withHeaders(r, { "svix-signature": "v2," + r.headers["svix-signature"].slice(3) }),
      ];
    },
    stale: async (_ch, n) =>
      signResend(resendReceived(`email-${n}-0000`, "erin@example.org", "hi"), `msg_${n}`, {
        at: new Date(old() * 1000),
      }),
    malformedPayload: async () =>
      signResend(
        JSON.stringify({ type: "email.received", data: { email_id: "x", from: "not an address", to: [] } }),
        "msg_bad",
      ),
  },
];
