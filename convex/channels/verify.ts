/**
 * Inbound webhook signature verification for every channel (issue 7).
 *
 * Pure: no Convex imports, no Node built-ins (bundled for Convex's default runtime). It never
 * throws; every failure, including an unknown platform or an empty secret, is
 * `{ ok: false, code: "WEBHOOK_SIGNATURE_INVALID", reason }`. `reason` is for logs only.
 */
import {
  base64ToBytesCanonical,
  bytesEqualDigest,
  bytesToHex,
  ed25519Verify,
  hexToBytesStrict,
  hmacSha1,
  hmacSha256,
  hmacSha256Raw,
  lowerHexEqualsDigest,
  secretStringEqual,
  sha256Bytes,
  stablelibBase64Decode,
  twilioAddPort,
  twilioLegacyQuerystring,
  twilioFormParamString,
  twilioRemovePort,
  utf8,
} from "../lib/webhookCrypto";

export type WebhookPlatform = "telegram" | "twilio" | "slack" | "discord" | "resend";

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

export type VerifyResult =
  | { ok: true }
  | { ok: false; code: "WEBHOOK_SIGNATURE_INVALID"; reason: VerifyFailureReason };

/** Slack, Svix/Resend and (our addition) Discord: 5 minutes either side of now. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export const WEBHOOK_PLATFORMS: readonly WebhookPlatform[] = ["telegram", "twilio", "slack", "discord", "resend"];

const OK: VerifyResult = Object.freeze({ ok: true });
const OK_PROMISE: Promise<VerifyResult> = Promise.resolve(OK);

function fail(reason: VerifyFailureReason): VerifyResult {
  return { ok: false, code: "WEBHOOK_SIGNATURE_INVALID", reason };
}

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
  if (nowSeconds !== undefined && (typeof nowSeconds !== "number" || !Number.isFinite(nowSeconds))) return fail("bad_request");
  switch (platform) {
    case "telegram":
      return verifyTelegram(req, secret);
    case "twilio":
      return verifyTwilio(req, secret);
    case "slack":
      return verifySlack(req, secret, nowFloor(nowSeconds));
    case "discord":
      return verifyDiscord(req, secret, nowFloor(nowSeconds));
    case "resend":
      return verifySvix(req, secret, nowFloor(nowSeconds));
    default:
      return fail("unknown_platform");
  }
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

const DUPLICATE = null;

/**
 * Case-insensitive header lookup. `undefined` = absent; `null` = present under two spellings
 * (or not a string), which is refused rather than guessed.
 */
function header(headers: Record<string, string>, lowerName: string): string | undefined | null {
  let found: string | undefined;
  for (const k in headers) {
    if (k.length !== lowerName.length) continue;
    if (k !== lowerName && k.toLowerCase() !== lowerName) continue;
    if (!Object.prototype.hasOwnProperty.call(headers, k)) continue;
    const v = headers[k];
    if (typeof v !== "string" || found !== undefined) return DUPLICATE;
    found = v;
  }
  return found;
}

function checkWindow(ts: number, now: number): VerifyResult | undefined {
  if (now - ts > WEBHOOK_TOLERANCE_SECONDS) return fail("stale_timestamp");
  if (ts - now > WEBHOOK_TOLERANCE_SECONDS) return fail("future_timestamp");
  return undefined;
}

const DECIMAL_SECONDS = /^[0-9]{1,15}$/;
const LOWER_HEX_64 = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------
// Telegram: X-Telegram-Bot-Api-Secret-Token equals the secret token set with setWebhook.

function verifyTelegram(req: InboundRequest, secret: string): VerifyResult {
  const token = header(req.headers, "x-telegram-bot-api-secret-token");
  if (token === DUPLICATE) return fail("duplicate_header");
  if (token === undefined) return fail("missing_header");
  return secretStringEqual(token, secret) ? OK : fail("signature_mismatch");
}

// ---------------------------------------------------------------------------------------------
// Slack: v0=hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).

function verifySlack(req: InboundRequest, secret: string, now: number): VerifyResult {
  const ts = header(req.headers, "x-slack-request-timestamp");
  const sig = header(req.headers, "x-slack-signature");
  if (ts === DUPLICATE || sig === DUPLICATE) return fail("duplicate_header");
  if (ts === undefined || sig === undefined) return fail("missing_header");
  if (!DECIMAL_SECONDS.test(ts)) return fail("bad_timestamp");
  const late = checkWindow(Number(ts), now);
  if (late) return late;
  if (!sig.startsWith("v0=")) return fail("malformed_header");
  const provided = sig.slice(3);
  // Same as comparing with "v0=" + lowercase hex of the MAC; the shape check below only names
  // the reason for a refusal.
  if (lowerHexEqualsDigest(provided, hmacSha256(secret, "v0:" + ts + ":" + req.body))) return OK;
  return fail(LOWER_HEX_64.test(provided) ? "signature_mismatch" : "malformed_header");
}

// ---------------------------------------------------------------------------------------------
// Discord: Ed25519 over timestamp + body with the application's public key (hex).
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
  return ed25519Verify(sig, utf8(ts + req.body), pub, publicKeyHex).then((valid) => (valid ? OK : fail("signature_mismatch")));
}

// ---------------------------------------------------------------------------------------------
// Resend = Svix (standardwebhooks 1.0 as used by svix 1.x `Webhook.verify`).

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

// ---------------------------------------------------------------------------------------------
// Twilio: base64(HMAC-SHA1(authToken, url + sorted params)), candidates as twilio-node 6.2
// `validateRequest`; JSON bodies via the bodySHA256 query parameter (`validateRequestWithBody`).

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
