/** Discord interactions: Ed25519 signatures, slash commands, deferred answers and follow-ups. */
import { z } from "zod";
import { utf8 } from "../../lib/crypto/bytes";
import { ed25519Verify } from "../../lib/crypto/ed25519";
import { hexToBytesStrict } from "../../lib/crypto/encoding";
import {
  DECIMAL_SECONDS,
  DUPLICATE,
  INVALID,
  JSON_HEADERS,
  NOTICE_UNAVAILABLE,
  OK,
  channelSecrets,
  checkWindow,
  clampTo,
  fail,
  header,
  json,
  shortName,
} from "./kit";
import type {
  InboundRequest,
  ParseInput,
  ParseResult,
  PlatformAdapter,
  VendorRequest,
  VerifyResult,
  WebhookAnswer,
} from "./types";

// Interaction follow-ups authenticate with the interaction token; the bot token is kept for
// registering commands and future bot-initiated messages.
const SECRETS = channelSecrets("DISCORD_PUBLIC_KEY", "DISCORD_BOT_TOKEN");
const MAX_REPLY_CHARS = 2000;
/** Discord interaction tokens are valid for 15 minutes. */
export const DISCORD_TOKEN_TTL_MS = 15 * 60_000;

// Ed25519 over timestamp + body with the application's public key (hex).
// Discord documents no timestamp window; we also refuse timestamps more than 5 minutes off.
function verifyDiscord(req: InboundRequest, publicKeyHex: string, now: number): VerifyResult | Promise<VerifyResult> {
  const pub = hexToBytesStrict(publicKeyHex, 32);
  if (!pub) return fail("bad_secret");
  const sigHex = header(req.headers, "x-signature-ed25519");
  const ts = header(req.headers, "x-signature-timestamp");
  if (sigHex === DUPLICATE || ts === DUPLICATE) return fail("duplicate_header");
  if (sigHex === undefined || ts === undefined) return fail("missing_header");
  const sig = hexToBytesStrict(sigHex, 64);
  if (!sig) return fail("malformed_header");
  if (!DECIMAL_SECONDS.test(ts)) return fail("bad_timestamp");
  const late = checkWindow(Number(ts), now);
  if (late) return late;
  return ed25519Verify(sig, utf8(ts + req.body), pub, publicKeyHex).then((valid) =>
    valid ? OK : fail("signature_mismatch"),
  );
}

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
    options: z
      .array(z.object({ name: z.string(), type: z.number().int(), value: z.unknown().optional() }))
      .max(25)
      .optional(),
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

/** An ephemeral message as the interaction response. */
function notice(content: string): WebhookAnswer {
  return { json: { type: 4, data: { content, flags: 64 } } };
}

/** Follow-up to a deferred interaction; after a type-5 response it replaces the "thinking…" message. */
export function discordFollowup(
  base: string,
  applicationId: string,
  interactionToken: string,
  text: string,
): VendorRequest {
  return {
    url: `${base}/webhooks/${encodeURIComponent(applicationId)}/${encodeURIComponent(interactionToken)}`,
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ content: clampTo(MAX_REPLY_CHARS, text), allowed_mentions: { parse: [] } }),
  };
}

export const discord: PlatformAdapter = {
  label: "Discord",
  senderLabel: "Discord",
  via: "on Discord",
  untrustedContent: false,
  settingsSchema: z.strictObject({
    applicationId: z.string().regex(/^[0-9]{17,20}$/),
  }),
  settingsFields: [
    { key: "applicationId", label: "Application ID", required: true, placeholder: "123456789012345678" },
  ],
  secrets: SECRETS,
  verify: (req, secret, now) => verifyDiscord(req, secret, now()),
  parse: parseDiscord,
  // 200 with an ephemeral notice as the interaction response (inline, no API call); any other
  // answer shows "This interaction failed".
  limitSignal: "inline",
  ack: (action) => {
    if (action?.kind === "ping") return { json: { type: 1 } };
    if (action?.kind === "ignore") return notice(NOTICE_UNAVAILABLE);
    return { json: { type: 5 } }; // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
  },
  inlineNotice: notice,
  reply: {
    maxChars: MAX_REPLY_CHARS,
    usesSecret: false,
    build: ({ base, target: t, text }) => {
      const appId = t.settings.applicationId;
      if (typeof appId !== "string" || !t.replyTarget || t.replyTargetExpired) return null;
      return { kind: "http", request: discordFollowup(base, appId, t.replyTarget, text) };
    },
  },
  fetchText: null,
  vendorBase: { env: "WARDEN_DISCORD_API_BASE", fallback: "https://discord.com/api/v10" },
  idempotentSend: false,
  setupSteps: (url) => [
    "Create an application in the Discord Developer Portal; copy its Application ID into the settings (applicationId).",
    `Save the application's Public Key (hex) as ${SECRETS.verify} and the bot token as ${SECRETS.send}.`,
    "Register a slash command with a string option (for example /ask question:<text>).",
    `Set the Interactions Endpoint URL to ${url}; Discord sends a signed PING that Warden answers after verifying it.`,
  ],
};
