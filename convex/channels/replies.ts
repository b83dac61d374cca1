"use node";
/**
 * Outbound vendor calls: replies (Telegram sendMessage, Slack chat.postMessage, Discord
 * interaction follow-up, Twilio Messages via the `twilio` package, Resend /emails) and the
 * Resend received-email fetch. Base URLs come from env (vendors.ts) so tests use local mocks.
 * Failures are recorded with a code and HTTP status only, and retried with backoff where safe.
 */
import { v } from "convex/values";
import type { FunctionArgs, FunctionReturnType } from "convex/server";
import twilio from "twilio";
import type TwilioRequestClient from "twilio/lib/base/RequestClient";
import { internalAction, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { openSecrets, readSecrets, type LoadedSecrets } from "../secrets/access";
import { ADAPTERS } from "./platforms/index";
import type { ReplyPlan } from "./platforms/types";
import { classifyResponse, retryDelayMs, vendorBase, type VendorOutcome, type VendorRequest } from "./vendors";
import { readBodyCapped } from "../lib/httpSecurity";

const TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

type Attempt = VendorOutcome | { ok: false; status: number; code: string; retryAfterMs?: number; final: true };
type Result = { outcome: Attempt; body: string };

/** One HTTP call: no redirects (a token must not follow one), abort timer, capped body. */
async function call(req: VendorRequest): Promise<Result> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "manual",
      signal,
    });
    const body = await readBodyCapped(res, MAX_RESPONSE_BYTES);
    if (body === null)
      return { outcome: { ok: false, status: res.status, code: "OUTPUT_TOO_LARGE", final: true }, body: "" };
    return { outcome: classifyResponse(res.status, res.headers, body), body };
  } catch {
    // A timeout may have delivered the message: not retried. A refused connection is.
    if (signal.aborted) return { outcome: { ok: false, status: 0, code: "TIMEOUT", final: true }, body: "" };
    return { outcome: { ok: false, status: 0 }, body: "" };
  }
}

type TwilioRequestOptions<T> = TwilioRequestClient.RequestOptions<T>;

/** twilio's own RequestClient (auth, form encoding), pointed at WARDEN_TWILIO_API_BASE. */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super({ timeout: TIMEOUT_MS });
  }
  override request<TData>(opts: TwilioRequestOptions<TData>) {
    const u = new URL(opts.uri);
    if (u.hostname === "twilio.com" || u.hostname.endsWith(".twilio.com")) opts.uri = this.base + u.pathname + u.search;
    return super.request<TData>(opts);
  }
}

/** A Twilio message (`ReplyPlan` kind "twilio"; the adapter already cut the text). */
async function twilioSend(
  base: string,
  { accountSid, authToken, from, to, text }: Extract<ReplyPlan, { kind: "twilio" }>,
): Promise<Result> {
  const custom = base !== "https://api.twilio.com";
  const client = twilio(accountSid, authToken, {
    lazyLoading: true,
    timeout: TIMEOUT_MS,
    ...(custom ? { httpClient: new BaseUrlRequestClient(base) } : {}),
  });
  try {
    await client.messages.create({ from, to, body: text });
    return { outcome: { ok: true }, body: "" };
  } catch (err: any) {
    // RestException carries the HTTP status; its message can quote the number, so it is not kept.
    const status =
      typeof err?.status === "number"
        ? err.status
        : typeof err?.response?.status === "number"
          ? err.response.status
          : 0;
    if (status === 0 && (err?.code === "ECONNABORTED" || err?.code === "ETIMEDOUT")) {
      return { outcome: { ok: false, status: 0, code: "TIMEOUT", final: true }, body: "" };
    }
    const retryAfter = Number(err?.response?.headers?.["retry-after"]);
    return { outcome: { ok: false, status, retryAfterMs: retryAfter > 0 ? retryAfter * 1000 : undefined }, body: "" };
  }
}

type Claim = NonNullable<FunctionReturnType<typeof internal.channels.delivery.claimSend>>;

/**
 * The channel's secret `name`: opened from ciphertexts a claim already loaded, else read now.
 * undefined when refused or undecryptable (logged by the secrets domain) or empty: not configured.
 */
async function secret(
  ctx: ActionCtx,
  channelId: Id<"channelConfig">,
  name: string,
  loaded?: LoadedSecrets,
): Promise<string | undefined> {
  let value: string | undefined;
  try {
    value = (
      loaded
        ? await openSecrets(ctx, "channelSecrets", channelId, loaded)
        : await readSecrets(ctx, "channelSecrets", channelId, [name])
    )[name];
  } catch {
    return undefined;
  }
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

const NOT_CONFIGURED: Result = {
  outcome: { ok: false, status: 0, code: "CHANNEL_NOT_CONFIGURED", final: true },
  body: "",
};

async function deliver(ctx: ActionCtx, c: Claim): Promise<Result> {
  const t = c.target;
  const base = vendorBase(t.platform, process.env);
  if (!base) return NOT_CONFIGURED;
  const adapter = ADAPTERS[t.platform];
  const sendSecret = adapter.reply.usesSecret
    ? await secret(ctx, t.channelId, adapter.secrets.send, c.sendSecret)
    : undefined;
  const plan = adapter.reply.build({ base, secret: sendSecret, target: t, text: c.text, idemKey: c.idemKey });
  if (!plan) return NOT_CONFIGURED;
  return plan.kind === "http" ? call(plan.request) : twilioSend(base, plan);
}

type Recorded = Omit<
  FunctionArgs<typeof internal.channels.delivery.recordResult>,
  "ok" | "code" | "status" | "willRetry" | "retryInMs"
>;

/** Records a failed attempt (code and HTTP status only); the retry delay, or null when it was final. */
async function recordFailure(ctx: ActionCtx, rec: Recorded, o: Attempt): Promise<number | null> {
  if (o.ok) throw new Error("not a failure");
  const final = "final" in o;
  const delay = final ? null : retryDelayMs(o.status, rec.attempt, o.retryAfterMs);
  await ctx.runMutation(internal.channels.delivery.recordResult, {
    ...rec,
    ok: false,
    code: "code" in o ? o.code : "VENDOR_ERROR",
    status: o.status || undefined,
    willRetry: delay !== null,
    retryInMs: delay ?? undefined,
  });
  return delay;
}

/** Test-only crash point (WARDEN_ENV=test): kills the process after the claim, before the request leaves. */
function crashPoint(name: string): void {
  if ((process.env.WARDEN_ENV ?? "").trim() !== "test" || process.env.WARDEN_TEST_CRASH_AT !== name) return;
  process.kill(process.pid, "SIGKILL");
}

/**
 * One delivery attempt of a queued reply (channelOutbox row): scheduled (a notice, a retry, a row the
 * sweeper re-queued), or run by the agent run for its answer (no scheduler hop). Only the row id is
 * an argument (`attempt` is informational). claimSend is the idempotency check: one attempt at a
 * time holds the row, and a sent row is gone. See delivery.ts for leases, retries and deadlines.
 */
export const send = internalAction({
  args: { outboxId: v.id("channelOutbox"), attempt: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, { outboxId }) => {
    const claim = await ctx.runMutation(internal.channels.delivery.claimSend, { outboxId });
    if (!claim) return null;
    crashPoint("reply.beforeDispatch");
    const attempt = claim.attempt;
    if (!(await ctx.runMutation(internal.channels.delivery.markDispatched, { outboxId, attempt }))) return null;
    const { outcome } = await deliver(ctx, claim);
    const t = claim.target;
    const rec = {
      channelId: t.channelId,
      workspaceId: t.workspaceId,
      platform: t.platform,
      attempt,
      kind: "reply" as const,
      outboxId,
    };
    if (outcome.ok)
      await ctx.runMutation(internal.channels.delivery.recordResult, { ...rec, ok: true, willRetry: false });
    else await recordFailure(ctx, rec, outcome);
    return null;
  },
});

/** Webhooks that carry metadata only (Resend): fetch the message text with the adapter's `fetchText`, then record it. */
export const fetchEmail = internalAction({
  args: { channelUserId: v.id("channelUsers"), emailId: v.string(), attempt: v.optional(v.number()) },
  returns: v.null(),
  handler: async (ctx, { channelUserId, emailId, attempt = 1 }) => {
    const t = await ctx.runQuery(internal.channels.delivery.target, { channelUserId });
    const fetcher = t ? ADAPTERS[t.platform].fetchText : null;
    if (!t || !fetcher) return null;
    const base = vendorBase(t.platform, process.env);
    const apiKey = base ? await secret(ctx, t.channelId, ADAPTERS[t.platform].secrets.send) : undefined;
    const result = base && apiKey ? await call(fetcher.request(base, apiKey, emailId)) : NOT_CONFIGURED;
    const rec = {
      channelId: t.channelId,
      workspaceId: t.workspaceId,
      platform: t.platform,
      attempt,
      kind: "fetch" as const,
    };
    if (result.outcome.ok) {
      const clean = fetcher.text(result.body);
      if (clean) await ctx.runMutation(internal.channels.inbound.recordEmail, { channelUserId, text: clean });
      return null;
    }
    const delay = await recordFailure(ctx, rec, result.outcome);
    if (delay !== null) {
      await ctx.scheduler.runAfter(delay, internal.channels.replies.fetchEmail, {
        channelUserId,
        emailId,
        attempt: attempt + 1,
      });
    }
    return null;
  },
});
