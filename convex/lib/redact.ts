/**
 * Redaction for anything that is logged, previewed or shown: known secret values, common token
 * shapes, credential-looking key/value pairs, and (separately) PII. Pure; no Convex imports.
 */

export const REDACTED = "[REDACTED]";
/** Shorter known secrets are ignored: they would shred ordinary text. */
export const MIN_SECRET_LENGTH = 4;
const MARKER_CANDIDATES = [REDACTED, "[HIDDEN]", "*****"];
const MAX_PASSES = 8;

// ---------------------------------------------------------------------------------------------
// sensitive key names

const SENSITIVE_ANYWHERE = /(password|passwd|passphrase|pwd)/;
const SENSITIVE_SUFFIXES = [
  "secret",
  "token",
  "apikey",
  "accesskey",
  "secretkey",
  "privatekey",
  "signingkey",
  "encryptionkey",
  "authorization",
  "cookie",
  "credential",
  "credentials",
];
const SENSITIVE_EXACT = new Set(["auth", "bearer", "jwt", "pat", "otp", "pin", "cvv", "ssn"]);

/**
 * True for key names whose value is a credential: `password`, `db_password`, `apiKey`,
 * `x-api-key`, `client_secret`, `accessToken`, `Authorization`, `Set-Cookie`…
 * Not for counters and names: `maxTokens`, `promptTokens`, `secretName`.
 */
export function isSensitiveKey(key: string): boolean {
  const n = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (n === "") return false;
  if (SENSITIVE_EXACT.has(n) || SENSITIVE_ANYWHERE.test(n)) return true;
  return SENSITIVE_SUFFIXES.some((s) => n.endsWith(s));
}

// ---------------------------------------------------------------------------------------------
// token shapes

type Rule = { re: RegExp; replace: (marker: string, match: string, ...groups: string[]) => string };

const hasMix = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);

const RULES: Rule[] = [
  // HTTP header lines carrying credentials: the whole value up to the end of the line
  {
    re: /(?<![\w-])((?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token)([ \t]*:[ \t]*)(?!\[)([^\r\n"']+)/gi,
    replace: (m, _all, name, sep) => `${name}${sep}${m}`,
  },
  // auth schemes: Bearer / Basic / Token <credential>
  {
    re: /\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9\-._~+/]{4,}=*)/gi,
    replace: (m, _all, scheme, sp) => `${scheme}${sp}${m}`,
  },
  // JWT / JWS: base64url header (always starts with `{"` → "eyJ") . payload . signature
  { re: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g, replace: (m) => m },
  // OpenAI / Anthropic / Stripe style secret and restricted keys
  { re: /\b(?:sk|rk)[-_][A-Za-z0-9_-]{16,}/g, replace: (m) => m },
  // Svix / Stripe webhook secrets
  { re: /\bwhsec_[A-Za-z0-9+/=_-]{16,}/g, replace: (m) => m },
  // Slack tokens
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replace: (m) => m },
  { re: /\bxapp-[A-Za-z0-9-]{10,}/g, replace: (m) => m },
  // GitHub tokens
  { re: /\bgh[pousr]_[A-Za-z0-9]{20,}/g, replace: (m) => m },
  { re: /\bgithub_pat_[A-Za-z0-9_]{20,}/g, replace: (m) => m },
  // AWS access key ids
  { re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b/g, replace: (m) => m },
  // long hex runs (hashes, raw keys)
  { re: /(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])/g, replace: (m) => m },
  // long base64 / base64url runs with mixed case and digits (random keys, not words or paths)
  {
    re: /[A-Za-z0-9+/_-]{40,}={0,2}/g,
    replace: (m, all) => (hasMix(all) ? m : all),
  },
  // key=value / key: value / "key": "value" pairs whose key names a credential (only such keys
  // are matched, so an ordinary pair never swallows a credential pair nested in its value)
  {
    re: /(?<![\w.-])(\\?["']?)((?:[\w.-]{0,40}?(?:password|passwd|passphrase|pwd)[\w.-]{0,40}?|[\w.-]{0,40}?(?:secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|signing[_-]?key|encryption[_-]?key|authorization|cookie|credentials?)|auth|bearer|jwt|pat|otp|pin|cvv|ssn))(\1)([ \t]*[:=][ \t]*)(\\"(?:[^"\\\n]|\\(?!")){0,4096}\\"|"(?:[^"\\\n]|\\.){0,4096}"|'[^'\n]{0,4096}'|[^\s&,;"'<>{}[\]]{1,4096})/gi,
    replace: (m, all, q1, key, q2, sep, value) => {
      if (!isSensitiveKey(key)) return all;
      const inner = value.replace(/^\\?["']|\\?["']$/g, "");
      if (inner === "" || inner === m || /^(?:null|true|false|undefined)$/.test(inner)) return all;
      const open = value.match(/^\\?["']/)?.[0] ?? "";
      const close = value.match(/\\?["']$/)?.[0] ?? "";
      return `${q1}${key}${q2}${sep}${open}${m}${close}`;
    },
  },
];

const GROUP_COUNTS = RULES.map((r) => new RegExp(`${r.re.source}|`).exec("")!.length - 1);

function applyRules(text: string, marker: string): string {
  let out = text;
  RULES.forEach((rule, i) => {
    const n = GROUP_COUNTS[i];
    out = out.replace(rule.re, (all: string, ...rest: unknown[]) =>
      rule.replace(marker, all, ...rest.slice(0, n).map((g) => (typeof g === "string" ? g : ""))),
    );
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// known secrets

/**
 * One text to look for. Base64 needles are the characters that depend only on the secret's own
 * bits; `edge` is the alphabet of the neighbouring character that mixes secret bits with a
 * neighbour's, removed with the match when present (`lead` before, `trail` after).
 */
type Needle = { text: string; lead: boolean; trail: boolean; edge?: RegExp };

/** The needles for one set of secrets, built once and reused for every string redacted with it. */
export type SecretMatcher = { readonly needles: readonly Needle[]; readonly marker: string };

/** Encoded needles shorter than this are not matched: too many chance hits in ordinary base64/hex. */
const MIN_ENCODED_LENGTH = 6;
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_EDGE = /[A-Za-z0-9+/]/;
const B64URL_EDGE = /[A-Za-z0-9_-]/;

function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.ceil((Math.min(3, bytes.length - i) * 8) / 6);
    for (let c = 0; c < chars; c++) out += B64[(n >> (18 - 6 * c)) & 63];
  }
  return out; // unpadded
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Base64 of the secret at each byte alignment (0, 1, 2 bytes before it), reduced to the characters
 * that no neighbouring byte influences, so the secret is found inside any longer base64 text,
 * padded or not. Standard and URL alphabets.
 */
function base64Needles(bytes: Uint8Array): Needle[] {
  const out: Needle[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = new Uint8Array(k + bytes.length);
    padded.set(bytes, k);
    const startBit = 8 * k;
    const endBit = 8 * (k + bytes.length);
    const std = base64(padded).slice(Math.ceil(startBit / 6), Math.floor(endBit / 6));
    const lead = startBit % 6 !== 0;
    const trail = endBit % 6 !== 0;
    const url = std.replace(/\+/g, "-").replace(/\//g, "_");
    out.push({ text: std, lead, trail, edge: B64_EDGE });
    if (url !== std) out.push({ text: url, lead, trail, edge: B64URL_EDGE });
    // in a URL query or behind a JSON encoder that escapes "/"
    const uri = std.replace(/\+/g, "%2B").replace(/\//g, "%2F");
    if (uri !== std) out.push({ text: uri, lead: false, trail: false });
    if (std.includes("/")) out.push({ text: std.replace(/\//g, "\\/"), lead: false, trail: false });
  }
  return out;
}

const utf8 = new TextEncoder();

/** Every form a secret takes in text: as is, JSON-escaped (once, twice), URL-encoded, base64, base64url, hex. */
function needlesFor(secrets: readonly string[]): Needle[] {
  const plain = new Set<string>();
  const byText = new Map<string, Needle>();
  const add = (n: Needle) => {
    const seen = byText.get(n.text);
    // same text from two alignments: remove the neighbours either would
    if (seen)
      byText.set(n.text, {
        ...seen,
        lead: seen.lead || n.lead,
        trail: seen.trail || n.trail,
        edge: seen.edge ?? n.edge,
      });
    else byText.set(n.text, n);
  };
  for (const s of secrets) {
    if (typeof s !== "string" || s.length < MIN_SECRET_LENGTH) continue;
    plain.add(s);
    const json = JSON.stringify(s).slice(1, -1);
    plain.add(json);
    plain.add(JSON.stringify(json).slice(1, -1)); // escaped twice (JSON inside a JSON string)
    try {
      plain.add(encodeURIComponent(s));
    } catch {
      // lone surrogates cannot be URI-encoded; the raw form is still matched
    }
    const bytes = utf8.encode(s);
    const encoded = [...base64Needles(bytes), { text: hex(bytes), lead: false, trail: false }];
    encoded.push({ text: encoded[encoded.length - 1].text.toUpperCase(), lead: false, trail: false });
    for (const n of encoded) if (n.text.length >= MIN_ENCODED_LENGTH) add(n);
  }
  for (const p of plain) add({ text: p, lead: false, trail: false });
  // longest first so a secret containing another is removed whole
  return [...byText.values()].sort((a, b) => b.text.length - a.text.length);
}

function pickMarker(needles: readonly Needle[]): string {
  for (const m of MARKER_CANDIDATES) if (!needles.some((n) => m.includes(n.text))) return m;
  return "";
}

const EMPTY: SecretMatcher = { needles: [], marker: REDACTED };

/** Precomputes the needles of a secret set; pass the result wherever a secret list is accepted. */
export function secretMatcher(secrets: readonly string[] | SecretMatcher = []): SecretMatcher {
  if (!Array.isArray(secrets)) return secrets as SecretMatcher;
  const list = secrets as readonly string[];
  if (list.length === 0) return EMPTY;
  const needles = needlesFor(list);
  return { needles, marker: pickMarker(needles) };
}

function replaceNeedle(text: string, n: Needle, marker: string): string {
  let i = text.indexOf(n.text);
  if (i < 0) return text;
  let out = "";
  let copied = 0;
  while (i >= 0) {
    let start = i;
    let end = i + n.text.length;
    if (n.lead && start > copied && n.edge!.test(text[start - 1])) start--;
    if (n.trail && end < text.length && n.edge!.test(text[end])) end++;
    out += text.slice(copied, start) + marker;
    copied = end;
    i = text.indexOf(n.text, end);
  }
  return out + text.slice(copied);
}

const leaks = (text: string, m: SecretMatcher) => m.needles.some((n) => text.includes(n.text));

function scrub(text: string, m: SecretMatcher, rules: boolean): string {
  let out = text;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const before = out;
    for (const n of m.needles) out = replaceNeedle(out, n, m.marker);
    if (rules) out = applyRules(out, m.marker);
    if (out === before || !leaks(out, m)) return out; // unchanged: no needle was there
  }
  return m.marker;
}

/**
 * Replaces known secret values (≥ 4 chars; raw, JSON-escaped, URL-encoded, base64/base64url at any
 * alignment, hex) and common credential shapes with "[REDACTED]". Repeats until no known secret
 * remains, so replacements cannot glue fragments back into a secret; if that does not converge the
 * whole text is withheld.
 */
export function redact(text: string, knownSecrets: readonly string[] | SecretMatcher = []): string {
  if (typeof text !== "string") text = String(text);
  return scrub(text, secretMatcher(knownSecrets), true);
}

/** Only the known secrets (every form `redact` knows), no credential-shape rules: for text that must keep its meaning, like tool schemas. */
export function redactKnown(text: string, knownSecrets: readonly string[] | SecretMatcher): string {
  if (typeof text !== "string") text = String(text);
  const m = secretMatcher(knownSecrets);
  return m.needles.length === 0 ? text : scrub(text, m, false);
}

// ---------------------------------------------------------------------------------------------
// structured values

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 32;

/**
 * Deep copy as JSON-safe data with credential-named keys blanked and every string (keys too)
 * passed through `redact`. Cycles, functions, symbols, bigints, dates, errors and binary data are
 * turned into plain JSON values; error stacks are dropped.
 */
export function redactValue(value: unknown, knownSecrets: readonly string[] | SecretMatcher = []): JsonValue {
  const m = secretMatcher(knownSecrets);
  return walkJson(value, (s) => scrub(s, m, true), true) ?? null;
}

/**
 * Deep copy as JSON-safe data with only the known secrets removed from every string and key
 * (`redactKnown`); key names are not judged. For values whose shape must survive (tool schemas).
 */
export function redactKnownValue(value: unknown, knownSecrets: readonly string[] | SecretMatcher): JsonValue {
  const m = secretMatcher(knownSecrets);
  return walkJson(value, (s) => (m.needles.length === 0 ? s : scrub(s, m, false)), false) ?? null;
}

function walkJson(value: unknown, clean: (s: string) => string, blankSensitiveKeys: boolean): JsonValue | undefined {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): JsonValue | undefined => {
    if (v === null) return null;
    switch (typeof v) {
      case "string":
        return clean(v);
      case "number":
        return Number.isFinite(v) ? v : null;
      case "boolean":
        return v;
      case "bigint":
        return clean(v.toString());
      case "undefined":
      case "function":
      case "symbol":
        return undefined;
    }
    const obj = v as object;
    if (depth >= MAX_DEPTH) return "[MaxDepth]";
    if (seen.has(obj)) return "[Circular]";
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
    if (obj instanceof ArrayBuffer || ArrayBuffer.isView(obj)) {
      return `[binary ${(obj as ArrayBuffer | ArrayBufferView).byteLength} bytes]`;
    }
    seen.add(obj);
    try {
      if (Array.isArray(obj)) return obj.map((item) => walk(item, depth + 1) ?? null);
      if (obj instanceof Set) return [...obj].map((item) => walk(item, depth + 1) ?? null);
      const entries: Array<[unknown, unknown]> =
        obj instanceof Map
          ? [...obj.entries()]
          : obj instanceof Error
            ? [
                ["name", obj.name],
                ["message", obj.message],
              ]
            : Object.entries(obj);
      const out: { [key: string]: JsonValue } = {};
      for (const [k, item] of entries) {
        const key = String(k);
        if (
          blankSensitiveKeys &&
          isSensitiveKey(key) &&
          item !== null &&
          item !== undefined &&
          typeof item !== "boolean"
        ) {
          out[clean(key)] = REDACTED;
          continue;
        }
        const walked = walk(item, depth + 1);
        if (walked !== undefined) out[clean(key)] = walked;
      }
      return out;
    } finally {
      seen.delete(obj); // a repeated (non-cyclic) reference is fine
    }
  };
  return walk(value, 0);
}

// ---------------------------------------------------------------------------------------------
// truncation and previews

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Replaces lone surrogates with U+FFFD so the string encodes to valid UTF-8. */
export function toWellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/**
 * Cuts to at most `maxBytes` UTF-8 bytes on a code point boundary and appends
 * "…[truncated N bytes]" (N = bytes dropped). Output is always well-formed.
 */
export function truncate(text: string, maxBytes: number): string {
  const limit = Number.isFinite(maxBytes) && maxBytes > 0 ? Math.floor(maxBytes) : 0;
  const bytes = encoder.encode(text); // lone surrogates become U+FFFD here
  if (bytes.length <= limit) return toWellFormed(text);
  let cut = limit;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--; // back off continuation bytes
  return `${decoder.decode(bytes.subarray(0, cut))}…[truncated ${bytes.length - cut} bytes]`;
}

/** JSON.stringify → redact → truncate: what logs and dashboards store for a payload. */
export function preview(value: unknown, knownSecrets: readonly string[] | SecretMatcher = [], maxBytes = 1024): string {
  const m = secretMatcher(knownSecrets);
  const json = JSON.stringify(redactValue(value, m));
  return truncate(redact(json, m), maxBytes);
}

// ---------------------------------------------------------------------------------------------
// PII

export const EMAIL_MASK = "[email]";
export const PHONE_MASK = "[phone]";

// matched from the "@" (local part expanded by hand) so scanning stays linear on long runs
const EMAIL_DOMAIN_RE =
  /@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;
const EMAIL_LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
// "+" prefixed (E.164, separators optional) or grouped with spaces, dots, dashes, parentheses
const PHONE_RE =
  /(?<![\w+.:/-])(?:\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?)(?:[ .-]?\d{2,5}){1,5}|\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]\d{2,5}){0,3}|\d{2,5}(?:[ .-]\d{2,5}){2,4})(?![\w.:/-]?\d)/g;

function looksLikePhone(match: string): boolean {
  const digits = match.replace(/\D/g, "");
  if (digits.length < 7 || digits.length > 15) return false;
  if (match.startsWith("+")) return true;
  if (/^\d{4}-\d{2}-\d{2}$/.test(match)) return false; // ISO date
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(match)) return false; // IPv4
  if (/^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/.test(match)) return false; // other dates
  return true;
}

/** Masks e-mail addresses and phone numbers (E.164 and common national formats) for logs. */
export function redactPII(text: string): string {
  return maskEmails(text).replace(PHONE_RE, (m) => (looksLikePhone(m) ? PHONE_MASK : m));
}

function maskEmails(text: string): string {
  let out = "";
  let copied = 0;
  EMAIL_DOMAIN_RE.lastIndex = 0;
  for (let m = EMAIL_DOMAIN_RE.exec(text); m; m = EMAIL_DOMAIN_RE.exec(text)) {
    let start = m.index;
    while (start > copied && EMAIL_LOCAL_CHAR.test(text[start - 1])) start--;
    if (start === m.index) continue; // no local part
    out += text.slice(copied, start) + EMAIL_MASK;
    copied = m.index + m[0].length;
  }
  return out + text.slice(copied);
}
