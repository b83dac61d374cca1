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
import { parseWebhookPath, publicBaseUrl } from "./platforms";
import { ADAPTERS, type Platform } from "./platforms/index";
import type { WebhookAnswer } from "./platforms/types";
import { openSecrets } from "../secrets/access";
import type { AcceptResult } from "./inbound";
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

function answer(a: WebhookAnswer): Response {
  if ("json" in a) return jsonResponse(a.json);
  return new Response(a.text, { status: 200, headers: { "Content-Type": a.contentType } });
}

/** The notice as the webhook answer where the vendor shows it inline; otherwise the plain ack. */
function noticeOrAck(platform: Platform, content: string): Response {
  const adapter = ADAPTERS[platform];
  return answer(adapter.inlineNotice ? adapter.inlineNotice(content) : adapter.ack(undefined));
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
      return answer(ADAPTERS[platform].ack(action));
    case "blocked":
      return noticeOrAck(platform, NOTICE_UNAVAILABLE);
    case "too_long":
      return noticeOrAck(platform, NOTICE_TOO_LONG);
    case "user_limited": {
      const signal = ADAPTERS[platform].limitSignal;
      if (signal === "status") return denied("RATE_LIMITED", r.retryAfterMs);
      if (signal === "inline") return noticeOrAck(platform, NOTICE_SLOW_DOWN);
      return answer(ADAPTERS[platform].ack(undefined));
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

  const secretName = ADAPTERS[platform].secrets.verify;
  let secret = "";
  try {
    if (channel.verifySecret)
      secret = (await openSecrets(ctx, "channelSecrets", channel.channelId, channel.verifySecret))[secretName] ?? "";
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
