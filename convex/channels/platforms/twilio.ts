/** Twilio Messaging (SMS / WhatsApp): HMAC-SHA1 signed form webhooks, replies through the SDK. */
import { z } from "zod";
import { utf8 } from "../../lib/crypto/bytes";
import { bytesEqualDigest, secretStringEqual } from "../../lib/crypto/compare";
import { base64ToBytesCanonical, bytesToHex } from "../../lib/crypto/encoding";
import { hmacSha1, sha256Bytes } from "../../lib/crypto/hmac";
import {
  parseFormBody,
  twilioAddPort,
  twilioFormParamString,
  twilioLegacyQuerystring,
  twilioRemovePort,
} from "./twilioRequest";
import { DUPLICATE, IGNORE, INVALID, OK, channelSecrets, clampTo, fail, header, pseudonym } from "./kit";
import type { InboundRequest, ParseInput, ParseResult, PlatformAdapter, VerifyResult } from "./types";

// One auth token both signs Twilio's webhooks and authorizes the REST API.
const SECRETS = channelSecrets("TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN");

const MAX_REPLY_CHARS = 1600;
const TWILIO_ADDRESS = /^(?:whatsapp:)?\+[1-9][0-9]{6,14}$/;

export function isTwilioAddress(s: string): boolean {
  return TWILIO_ADDRESS.test(s);
}

// --- verification: base64(HMAC-SHA1(authToken, url + sorted params)), candidates as twilio-node
// 6.2 `validateRequest`; JSON bodies via the bodySHA256 query parameter (`validateRequestWithBody`).

function isFormContentType(ct: string): boolean {
  const semi = ct.indexOf(";");
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase() === "application/x-www-form-urlencoded";
}

function twilioMatches(authToken: string, url: string, paramString: string, provided: Uint8Array): boolean {
  const tried: string[] = [];
  const attempt = (candidate: string): boolean => {
    if (tried.includes(candidate)) return false;
    tried.push(candidate);
    return bytesEqualDigest(provided, hmacSha1(authToken, candidate + paramString));
  };
  if (attempt(twilioRemovePort(url)) || attempt(twilioAddPort(url))) return true;
  let normalized: string;
  try {
    normalized = new URL(url).toString();
  } catch {
    return false;
  }
  const without = twilioRemovePort(normalized);
  const withPort = twilioAddPort(normalized);
  return (
    attempt(without) ||
    attempt(withPort) ||
    attempt(twilioLegacyQuerystring(without)) ||
    attempt(twilioLegacyQuerystring(withPort))
  );
}

function verifyTwilio(req: InboundRequest, authToken: string): VerifyResult {
  const sig = header(req.headers, "x-twilio-signature");
  if (sig === DUPLICATE) return fail("duplicate_header");
  if (sig === undefined) return fail("missing_header");
  // Twilio compares the header with the canonical base64 of a 20-byte HMAC-SHA1.
  const provided = base64ToBytesCanonical(sig, 20);
  if (!provided) return fail("malformed_header");

  if (req.url.indexOf("bodySHA256") > 0) {
    let bodyHash: string;
    try {
      bodyHash = new URL(req.url).searchParams.get("bodySHA256") ?? "";
    } catch {
      return fail("bad_request");
    }
    if (!twilioMatches(authToken, req.url, "", provided)) return fail("signature_mismatch");
    const actual = bytesToHex(sha256Bytes(utf8(req.body)));
    return bodyHash.length === actual.length && secretStringEqual(bodyHash, actual) ? OK : fail("body_hash_mismatch");
  }

  let paramString: string;
  const ct = header(req.headers, "content-type");
  if (ct === DUPLICATE) return fail("duplicate_header");
  if (ct !== undefined && isFormContentType(ct)) paramString = twilioFormParamString(req.body);
  else if (req.body === "") paramString = "";
  else return fail("unsigned_body"); // a body the signature would not cover
  return twilioMatches(authToken, req.url, paramString, provided) ? OK : fail("signature_mismatch");
}

// --- form fields of an incoming message ------------------------------------------------------

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

export const twilio: PlatformAdapter = {
  label: "Twilio (SMS / WhatsApp)",
  senderLabel: "SMS/WhatsApp",
  via: "by SMS/WhatsApp",
  untrustedContent: false,
  settingsSchema: z.strictObject({
    accountSid: z.string().regex(/^AC[0-9a-f]{32}$/),
    /** Replies go from the number the user wrote to; this is the fallback. */
    fromNumber: z.string().regex(TWILIO_ADDRESS).optional(),
  }),
  settingsFields: [
    { key: "accountSid", label: "Account SID", required: true, placeholder: "AC…" },
    { key: "fromNumber", label: "From number", required: false, placeholder: "+15551234567 or whatsapp:+1555…" },
  ],
  secrets: SECRETS,
  verify: (req, secret) => verifyTwilio(req, secret),
  parse: parseTwilio,
  // 429 + Retry-After: Twilio does not retry inbound message webhooks; no SMS is spent.
  limitSignal: "status",
  ack: () => ({ text: "<Response/>", contentType: "text/xml; charset=utf-8" }),
  inlineNotice: null,
  reply: {
    maxChars: MAX_REPLY_CHARS,
    usesSecret: true,
    build: ({ secret, target: t, text }) => {
      const accountSid = t.settings.accountSid;
      const from = t.replyTarget ?? (typeof t.settings.fromNumber === "string" ? t.settings.fromNumber : undefined);
      if (!secret || typeof accountSid !== "string" || !from || !t.contact) return null;
      return {
        kind: "twilio",
        accountSid,
        authToken: secret,
        from,
        to: t.contact,
        text: clampTo(MAX_REPLY_CHARS, text),
      };
    },
  },
  fetchText: null,
  vendorBase: { env: "WARDEN_TWILIO_API_BASE", fallback: "https://api.twilio.com" },
  idempotentSend: false,
  setupSteps: (url) => [
    "Copy your Account SID into the channel settings (accountSid) and the number's E.164 form into fromNumber.",
    `Save the account's Auth Token as the channel secret ${SECRETS.verify}.`,
    `In the phone number's (or WhatsApp sender's) messaging configuration set "A message comes in" to HTTP POST ${url}.`,
    "The public base URL must match exactly what Twilio calls: signatures cover the full URL.",
  ],
};
