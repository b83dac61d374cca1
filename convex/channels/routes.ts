/**
 * POST /webhooks/{platform}/{channelId}: prepare (one query: channel + secret ciphertext) →
 * verify and parse here → admit and record the turn (one mutation, the checker inside) → answer
 * the way each vendor expects. Unknown and disabled channels get the same 404 with no hint.
 */
import type { ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import { endpoint, type HttpInput } from "../access/http";
import { errorResponse, jsonResponse } from "../lib/httpSecurity";
import { httpStatusFor } from "../lib/codes";
import type { RouteSpec } from "../routes";
import { verifyInboundEager } from "./verify";
import { parseInbound, type InboundAction } from "./payloads";
import { SECRET_NAMES, parseWebhookPath, publicBaseUrl, type Platform } from "./platforms";
import { openSecrets } from "../secrets/access";
import { LIMIT_SIGNAL, type AcceptResult } from "./inbound";
import { NOTICE_SLOW_DOWN, NOTICE_TOO_LONG, NOTICE_UNAVAILABLE } from "./vendors";

const notFound = () => errorResponse("NOT_FOUND", 404);

function headerRecord(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  req.headers.forEach((value, key) => {
    out[key.toLowerCase()] = value;
  });
  return out;
}

/** The URL the vendor called, from configuration plus the request's path and query; never from Host/X-Forwarded-Host. */
export function publicRequestUrl(env: Record<string, string | undefined>, url: URL): string | null {
  const base = publicBaseUrl(env);
  return base ? base + url.pathname + url.search : null;
}

function ack(platform: Platform): Response {
  if (platform === "twilio") {
    return new Response("<Response/>", { status: 200, headers: { "Content-Type": "text/xml; charset=utf-8" } });
  }
  if (platform === "discord") return jsonResponse({ type: 5 }); // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
  return jsonResponse({ ok: true });
}

/** Discord: an ephemeral message as the interaction response. */
function discordNotice(content: string): Response {
  return jsonResponse({ type: 4, data: { content, flags: 64 } });
}

function denied(code: string, retryAfterMs?: number): Response {
  const headers: Record<string, string> = {};
  if (code === "RATE_LIMITED" || code === "LIMIT_UNAVAILABLE") {
    headers["Retry-After"] = String(Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000)));
  }
  return errorResponse(code, httpStatusFor(code), headers);
}

export function render(platform: Platform, action: InboundAction | undefined, r: AcceptResult): Response {
  switch (r.status) {
    case "denied":
      return denied(r.code, r.retryAfterMs);
    case "duplicate":
    case "admitted":
    case "accepted":
      // Control messages get their answer only here, i.e. after verification and the checker.
      if (action?.kind === "challenge") return jsonResponse({ challenge: action.challenge });
      if (action?.kind === "ping") return jsonResponse({ type: 1 });
      if (platform === "discord" && action?.kind === "ignore") return discordNotice(NOTICE_UNAVAILABLE);
      return ack(platform);
    case "blocked":
      return platform === "discord" ? discordNotice(NOTICE_UNAVAILABLE) : ack(platform);
    case "too_long":
      return platform === "discord" ? discordNotice(NOTICE_TOO_LONG) : ack(platform);
    case "user_limited": {
      const signal = LIMIT_SIGNAL[platform];
      if (signal === "status") return denied("RATE_LIMITED", r.retryAfterMs);
      if (signal === "inline") return discordNotice(NOTICE_SLOW_DOWN);
      return ack(platform);
    }
  }
}

async function handleWebhook(ctx: ActionCtx, { req, body, ip, url }: HttpInput): Promise<Response> {
  const path = parseWebhookPath(url.pathname);
  if (!path) {
    await ctx.runMutation(internal.channels.inbound.logUnknown, { ip, platform: "?" });
    return notFound();
  }
  const { platform } = path;
  const channel = await ctx.runQuery(internal.channels.inbound.prepare, { channelId: path.channelId, platform });
  if (!channel || channel.platform !== platform) {
    await ctx.runMutation(internal.channels.inbound.logUnknown, { ip, platform, workspaceId: channel?.workspaceId });
    return notFound();
  }
  const inputBytes = new TextEncoder().encode(body).byteLength;
  if (!channel.enabled) {
    // The checker answers NOT_FOUND for a disabled channel and logs it; no secret is read.
    const r = await ctx.runMutation(internal.channels.inbound.accept, {
      channelId: channel.channelId,
      verified: false,
      payloadValid: false,
      inputBytes,
      ip,
    });
    return r.status === "denied" ? denied(r.code, r.retryAfterMs) : notFound();
  }

  const secretName = SECRET_NAMES[platform].verify;
  let secret = "";
  try {
    if (channel.verifySecret) secret = (await openSecrets(ctx, "channelSecrets", channel.channelId, channel.verifySecret))[secretName] ?? "";
  } catch {
    // Unreadable secret (key trouble, logged by the secrets domain): nothing can verify → 401.
  }
  const headers = headerRecord(req);
  const publicUrl = publicRequestUrl(process.env, url);
  const eager = publicUrl
    ? verifyInboundEager(platform, { method: req.method, url: publicUrl, headers, body }, secret)
    : { ok: false as const };
  const verification = eager instanceof Promise ? await eager : eager;

  const parsed = verification.ok
    ? parseInbound(platform, { body, headers, settings: channel.settings, idSalt: channel.idSalt })
    : undefined;
  const action = parsed?.ok ? parsed.action : undefined;
  const message =
    action?.kind === "message"
      ? {
          platformUserId: action.user.platformUserId,
          displayName: action.user.displayName,
          contact: action.user.contact,
          replyTarget: action.user.replyTarget,
          replyTargetTtlMs: action.user.replyTargetTtlMs,
          text: action.text,
          emailId: action.emailId,
        }
      : undefined;

  const result = await ctx.runMutation(internal.channels.inbound.accept, {
    channelId: channel.channelId,
    verified: verification.ok,
    payloadValid: parsed?.ok === true,
    deliveryId: parsed?.ok ? parsed.deliveryId : undefined,
    inputBytes,
    ip,
    message,
  });
  return render(platform, action, result);
}

export const webhook = endpoint("channel-webhook", handleWebhook, { cors: false });

export const channelRoutes: RouteSpec[] = [{ pathPrefix: "/webhooks/", method: "POST", handler: webhook }];
