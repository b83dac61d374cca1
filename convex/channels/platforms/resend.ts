/** Resend (e-mail): Svix-signed webhooks, received-email metadata, /emails replies. */
import { z } from "zod";
import { bytesEqualDigest } from "../../lib/crypto/compare";
import { base64ToBytesCanonical, stablelibBase64Decode } from "../../lib/crypto/encoding";
import { hmacSha256Raw } from "../../lib/crypto/hmac";
import {
  DUPLICATE,
  IGNORE,
  INVALID,
  JSON_HEADERS,
  JSON_OK,
  MAX_MESSAGE_CHARS,
  OK,
  channelSecrets,
  checkWindow,
  clampTo,
  emailOf,
  fail,
  header,
  json,
  pseudonym,
} from "./kit";
import type { InboundRequest, ParseInput, ParseResult, PlatformAdapter, VendorRequest, VerifyResult } from "./types";

const SECRETS = channelSecrets("RESEND_WEBHOOK_SECRET", "RESEND_API_KEY");
const MAX_REPLY_CHARS = 20000;

// --- Svix (standardwebhooks 1.0 as used by svix 1.x `Webhook.verify`) ------------------------

const svixKeyCache = new Map<string, Uint8Array | null>();

function svixKey(secret: string): Uint8Array | null {
  let key = svixKeyCache.get(secret);
  if (key !== undefined) return key;
  try {
    key = stablelibBase64Decode(secret.startsWith("whsec_") ? secret.slice(6) : secret);
    if (key.length === 0) key = null; // "whsec_" alone would be a key anyone can sign with
  } catch {
    key = null;
  }
  if (svixKeyCache.size >= 64) svixKeyCache.clear();
  svixKeyCache.set(secret, key);
  return key;
}

function verifySvix(req: InboundRequest, secret: string, now: number): VerifyResult {
  const key = svixKey(secret);
  if (key === null) return fail("bad_secret");
  const h = req.headers;
  const svixId = header(h, "svix-id");
  const svixTs = header(h, "svix-timestamp");
  const svixSig = header(h, "svix-signature");
  const id = svixId === undefined ? header(h, "webhook-id") : svixId;
  const tsHeader = svixTs === undefined ? header(h, "webhook-timestamp") : svixTs;
  const sigHeader = svixSig === undefined ? header(h, "webhook-signature") : svixSig;
  if (id === DUPLICATE || tsHeader === DUPLICATE || sigHeader === DUPLICATE) return fail("duplicate_header");
  if (!id || !tsHeader || !sigHeader) return fail("missing_header");
  // svix parses with parseInt and signs the parsed number, not the header text.
  const ts = parseInt(tsHeader, 10);
  if (Number.isNaN(ts)) return fail("bad_timestamp");
  const late = checkWindow(ts, now);
  if (late) return late;
  const expected = hmacSha256Raw(secret, () => key, id + "." + String(ts) + "." + req.body);
  for (const entry of sigHeader.split(" ")) {
    const [version, sig] = entry.split(",");
    if (version !== "v1" || sig === undefined) continue;
    const provided = base64ToBytesCanonical(sig, 32);
    if (provided && bytesEqualDigest(provided, expected)) return OK;
  }
  return fail("signature_mismatch");
}

// --- payloads --------------------------------------------------------------------------------

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
  const subject = (r.data.subject ?? "")
    .replace(/\p{Cc}+/gu, " ")
    .trim()
    .slice(0, 200);
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

// --- outbound --------------------------------------------------------------------------------

export function resendSendEmail(
  base: string,
  apiKey: string,
  mail: { from: string; to: string; subject: string; text: string },
  idempotencyKey?: string,
): VendorRequest {
  return {
    url: `${base}/emails`,
    method: "POST",
    headers: {
      ...JSON_HEADERS,
      Authorization: `Bearer ${apiKey}`,
      ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}),
    },
    body: JSON.stringify({
      from: mail.from,
      to: [mail.to],
      subject: mail.subject,
      text: clampTo(MAX_REPLY_CHARS, mail.text),
    }),
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

export const resend: PlatformAdapter = {
  label: "Email (Resend)",
  senderLabel: "E-mail",
  via: "by email",
  untrustedContent: true,
  settingsSchema: z.strictObject({
    /** "bot@example.com" or "Bot <bot@example.com>" on a domain verified in Resend. */
    fromAddress: z
      .string()
      .max(200)
      .refine((s) => emailOf(s) !== null),
  }),
  settingsFields: [
    { key: "fromAddress", label: "From address", required: true, placeholder: "Agent <agent@example.com>" },
  ],
  secrets: SECRETS,
  verify: (req, secret, now) => verifySvix(req, secret, now()),
  parse: parseResend,
  // 200 and dropped: Svix retries non-2xx for days; replying to a mail flood would be
  // backscatter to possibly forged senders.
  limitSignal: "drop",
  ack: () => JSON_OK,
  inlineNotice: null,
  reply: {
    maxChars: MAX_REPLY_CHARS,
    usesSecret: true,
    build: ({ base, secret, target: t, text, idemKey }) => {
      const from = t.settings.fromAddress;
      if (!secret || typeof from !== "string" || !t.contact || !emailOf(t.contact)) return null;
      return {
        kind: "http",
        request: resendSendEmail(
          base,
          secret,
          { from, to: t.contact, subject: replySubject(t.replyTarget), text },
          idemKey,
        ),
      };
    },
  },
  fetchText: {
    request: resendGetReceived,
    text: (responseBody) => {
      let text = "";
      try {
        const mail = JSON.parse(responseBody);
        text =
          typeof mail?.text === "string" && mail.text.trim()
            ? mail.text
            : typeof mail?.html === "string"
              ? htmlToText(mail.html)
              : "";
      } catch {
        text = "";
      }
      return cleanEmailText(text);
    },
  },
  vendorBase: { env: "WARDEN_RESEND_API_BASE", fallback: "https://api.resend.com" },
  // Resend dedupes on `Idempotency-Key` (kept 24 h).
  idempotentSend: true,
  setupSteps: (url) => [
    "Set up receiving for your domain in Resend and put the sending address in the settings (fromAddress).",
    `Save a Resend API key (with sending and receiving access) as ${SECRETS.send}.`,
    `Add a webhook for the event email.received with endpoint ${url}.`,
    `Save the webhook's signing secret (whsec_…) as ${SECRETS.verify}.`,
  ],
};
