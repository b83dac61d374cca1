/**
 * The one shape every channel vendor implements (pure types; no Convex imports). A vendor is one
 * file in this folder exporting a `PlatformAdapter`; index.ts lists them and everything else
 * (validators, routes, SyncBoard's list, dispatch) is derived from that registry.
 */
import type { z } from "zod";

export interface InboundRequest {
  method: string;
  /** The full public URL the vendor called (from configuration, never from a forwarded Host). */
  url: string;
  /** Header names in any case. */
  headers: Record<string, string>;
  /** The raw body exactly as received. */
  body: string;
}

export type VerifyFailureReason =
  | "unknown_platform"
  | "missing_secret"
  | "bad_secret"
  | "bad_request"
  | "missing_header"
  | "duplicate_header"
  | "malformed_header"
  | "bad_timestamp"
  | "stale_timestamp"
  | "future_timestamp"
  | "unsigned_body"
  | "body_hash_mismatch"
  | "signature_mismatch"
  | "verifier_error";

export type VerifyResult = { ok: true } | { ok: false; code: "WEBHOOK_SIGNATURE_INVALID"; reason: VerifyFailureReason };

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

/**
 * How a platform learns that a user is over the per-user limit or the all-users budget:
 * "status" = 429 + Retry-After; "reply" = 200 + one "slow down" reply per window;
 * "inline" = 200 with the notice as the webhook response; "drop" = 200 and nothing else.
 */
export type LimitSignal = "status" | "reply" | "inline" | "drop";

/** A webhook answer as plain data; routes.ts turns it into a Response. */
export type WebhookAnswer = { json: unknown } | { text: string; contentType: string };

export type VendorRequest = { url: string; method: "GET" | "POST"; headers: Record<string, string>; body?: string };

/** A reply as data: an HTTP request, or a message for the Twilio SDK (replies.ts performs both). */
export type ReplyPlan =
  | { kind: "http"; request: VendorRequest }
  | { kind: "twilio"; accountSid: string; authToken: string; from: string; to: string; text: string };

/** Where a queued reply goes (from the channel row and the channel user). */
export type ReplyTarget = {
  settings: Record<string, unknown>;
  platformUserId: string;
  contact?: string;
  replyTarget?: string;
  replyTargetExpired: boolean;
};

export type ReplyInput = {
  /** vendor API base (vendorBase: env override or the vendor's own) */
  base: string;
  /** the channel's send secret, read only when `reply.usesSecret` */
  secret: string | undefined;
  target: ReplyTarget;
  text: string;
  /** stable per outbox row; only vendors with `idempotentSend` use it */
  idemKey: string;
};

/** One field of the settings form in SyncBoard. */
export type SettingsField = { key: string; label: string; required: boolean; placeholder: string };

export interface PlatformAdapter {
  /** Name shown in SyncBoard. */
  label: string;
  /** Short name of the network in a sender's attribution ("Telegram", "SMS/WhatsApp"). */
  senderLabel: string;
  /** How a message arrives, in activity summaries ("on Telegram", "by email"); never user data. */
  via: string;
  /**
   * Every inbound message is third-party content, whoever the sender is (e-mail: anyone can write,
   * and a paired sender's mail carries others' text). The agent run is tainted from its start.
   */
  untrustedContent: boolean;
  /** Strict non-secret settings schema: unknown keys (e.g. a token pasted into settings) are refused. */
  settingsSchema: z.ZodType<Record<string, string | undefined>>;
  /** The settings form in SyncBoard (same keys as settingsSchema). */
  settingsFields: readonly SettingsField[];
  /** `verify` checks inbound webhooks, `send` authorizes replies, `all` is what SyncBoard asks for. */
  secrets: { verify: string; send: string; all: readonly string[] };
  /**
   * Checks the signature of a well-formed request with a non-empty secret. Only schemes that need
   * an asynchronous primitive return a Promise. `now` reads the clock in whole seconds.
   */
  verify(req: InboundRequest, secret: string, now: () => number): VerifyResult | Promise<VerifyResult>;
  /** Payload → action, only for requests whose signature verified. */
  parse(input: ParseInput): ParseResult;
  limitSignal: LimitSignal;
  /** The 200 answer after admission (control messages such as challenges answered here). */
  ack(action: InboundAction | undefined): WebhookAnswer;
  /** A notice as the webhook answer itself (no reply API call), or null: notices go out as replies. */
  inlineNotice: ((text: string) => WebhookAnswer) | null;
  reply: {
    /** Longest reply accepted in one message (characters). */
    maxChars: number;
    /** Whether sending needs the channel's `secrets.send` (read before `build`). */
    usesSecret: boolean;
    /** The request for one reply, or null when the channel is not configured to send it. */
    build(input: ReplyInput): ReplyPlan | null;
  };
  /**
   * For webhooks that carry metadata only (message kind with an `emailId` and no text): the request
   * that fetches the message with the send secret, and its response body → cleaned text ("" = none).
   * null when the webhook carries the text.
   */
  fetchText: {
    request(base: string, secret: string, id: string): VendorRequest;
    text(responseBody: string): string;
  } | null;
  /** Env var overriding the vendor API base (local mocks), and the vendor's own base. */
  vendorBase: { env: string; fallback: string };
  /**
   * Whether the send API dedupes on a key we choose; only such vendors are re-sent when a crash
   * leaves it unknown whether the vendor got the reply.
   */
  idempotentSend: boolean;
  /** Step-by-step setup text for SyncBoard; `url` is the channel's webhook URL. */
  setupSteps(url: string): string[];
}
