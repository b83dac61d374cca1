/**
 * Inbound webhook signature verification for every channel (issue 7): the common checks and
 * the dispatch to each vendor adapter's scheme (./platforms/<vendor>.ts).
 *
 * Pure: no Convex imports, no Node built-ins (bundled for Convex's default runtime). It never
 * throws; every failure, including an unknown platform or an empty secret, is
 * `{ ok: false, code: "WEBHOOK_SIGNATURE_INVALID", reason }`. `reason` is for logs only.
 */
import { ADAPTERS, PLATFORMS, isPlatform, type Platform } from "./platforms/index";
import { OK, fail } from "./platforms/kit";
import type { InboundRequest, VerifyResult } from "./platforms/types";

export type { InboundRequest, VerifyFailureReason, VerifyResult } from "./platforms/types";
export { WEBHOOK_TOLERANCE_SECONDS } from "./platforms/kit";

export type WebhookPlatform = Platform;

export const WEBHOOK_PLATFORMS: readonly WebhookPlatform[] = PLATFORMS;

const OK_PROMISE: Promise<VerifyResult> = Promise.resolve(OK);

const verifierError = (): VerifyResult => fail("verifier_error");

/** The contract: always a Promise. The route calls {@link verifyInboundEager} directly. */
export function verifyInbound(
  platform: WebhookPlatform,
  req: InboundRequest,
  secret: string,
  nowSeconds?: number,
): Promise<VerifyResult> {
  const result = verifyInboundEager(platform, req, secret, nowSeconds);
  if (result === OK) return OK_PROMISE;
  return result instanceof Promise ? result : Promise.resolve(result);
}

/**
 * Same checks and results as {@link verifyInbound}, but settled synchronously for every scheme
 * that allows it; only Discord (Ed25519 through crypto.subtle) returns a Promise. Never throws,
 * and the Promise never rejects.
 */
export function verifyInboundEager(
  platform: WebhookPlatform,
  req: InboundRequest,
  secret: string,
  nowSeconds?: number,
): VerifyResult | Promise<VerifyResult> {
  try {
    const result = verifyNow(platform, req, secret, nowSeconds);
    return result instanceof Promise ? result.catch(verifierError) : result;
  } catch {
    return verifierError();
  }
}

function verifyNow(
  platform: WebhookPlatform,
  req: InboundRequest,
  secret: string,
  nowSeconds: number | undefined,
): VerifyResult | Promise<VerifyResult> {
  if (typeof secret !== "string" || secret.length === 0) return fail("missing_secret");
  if (!isInboundRequest(req)) return fail("bad_request");
  if (nowSeconds !== undefined && (typeof nowSeconds !== "number" || !Number.isFinite(nowSeconds)))
    return fail("bad_request");
  if (typeof platform !== "string" || !isPlatform(platform)) return fail("unknown_platform");
  return ADAPTERS[platform].verify(req, secret, () => nowFloor(nowSeconds));
}

/** Whole seconds; the clock is read only by the schemes that carry a timestamp. */
function nowFloor(nowSeconds: number | undefined): number {
  return Math.floor(nowSeconds === undefined ? Date.now() / 1000 : nowSeconds);
}

function isInboundRequest(req: unknown): req is InboundRequest {
  if (typeof req !== "object" || req === null) return false;
  const r = req as Record<string, unknown>;
  return (
    typeof r.method === "string" &&
    typeof r.url === "string" &&
    typeof r.body === "string" &&
    typeof r.headers === "object" &&
    r.headers !== null
  );
}
