/**
 * Secret encryption at rest: XChaCha20-Poly1305 with a key ring.
 *
 * - A random 24-byte nonce per encryption; stored ciphertext = base64(nonce || ct || tag).
 * - Associated data binds the ciphertext to its row identity { table, ownerId, name }, so a
 *   ciphertext copied to another table, owner or name does not decrypt.
 * - Every ciphertext records the version (fingerprint) of the key that sealed it; previous keys
 *   stay readable until a re-encryption pass moves rows to the current key.
 *
 * Pure: no Convex imports, no Node built-ins imported (runs in Convex's default V8 runtime; where
 * the runtime offers Node's crypto without an import, the AEAD runs natively: crypto/xchacha.ts).
 */
import { bytesToHex, bytesToUtf8, concatBytes, hexToBytes, randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { xchachaOpen, xchachaSeal } from "./crypto/xchacha";
import { isKnownKey } from "./knownKeys";

export const KEY_ENV = "SKILL_SECRET_ENCRYPTION_KEY";
export const PREVIOUS_KEYS_ENV = "SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS";
export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** Secrets are API keys and tokens; anything larger is a bug or abuse. */
export const MAX_SECRET_BYTES = 64 * 1024;
const MASK = "••••";

export const generateKeyCommand = `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;

/** The example value used in docs and `.env.example`; rejected by `assertProductionKey`. */
export const EXAMPLE_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/**
 * Keys that are public knowledge (docs examples, test vectors, placeholders). Entries that decode
 * to 32 bytes are compared by bytes, so any encoding of the same key is refused too.
 */
export const KNOWN_EXAMPLE_KEYS: readonly string[] = Object.freeze([
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", // 32 zero bytes, base64
  "0000000000000000000000000000000000000000000000000000000000000000", // 32 zero bytes, hex
  EXAMPLE_KEY, // bytes 00..1f, base64
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", // bytes 00..1f, hex
  "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8=", // bytes 80..9f (XChaCha draft test key), base64
  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", // same, hex
  "change-me",
  "changeme",
  "change_me",
  "replace-me",
  "replace_me",
  "your-key-here",
  "your_key_here",
  "secret",
  "example",
  "test",
]);

export type SecretboxErrorCode =
  | "SECRET_DECRYPT_FAILED"
  | "SECRET_KEY_MISSING"
  | "SECRET_KEY_INVALID"
  | "SECRET_KEY_INSECURE"
  | "SECRET_TOO_LARGE"
  | "SECRET_VALUE_INVALID"
  | "SECRET_IDENTITY_INVALID";

export class SecretboxError extends Error {
  readonly code: SecretboxErrorCode;
  constructor(code: SecretboxErrorCode, message: string = code) {
    super(message);
    this.name = "SecretboxError";
    this.code = code;
  }
}

/** Where a secret lives; bound into the ciphertext as associated data. */
export type SecretIdentity = { table: string; ownerId: string; name: string };

export type EncryptedSecret = { ciphertext: string; keyVersion: string; last4: string };

/** Key material is kept out of the object so it cannot be logged or serialized by accident. */
const KEY_MATERIAL = new WeakMap<KeyRing, Map<string, Uint8Array>>();

export class KeyRing {
  readonly currentVersion: string;
  /** current first, then previous keys in the order given */
  readonly versions: readonly string[];

  constructor(current: Uint8Array, previous: readonly Uint8Array[] = []) {
    const keys = new Map<string, Uint8Array>();
    const versions: string[] = [];
    for (const key of [current, ...previous]) {
      if (!isBytes(key) || key.length !== KEY_BYTES) {
        throw new SecretboxError("SECRET_KEY_INVALID", `encryption keys must be exactly ${KEY_BYTES} bytes`);
      }
      const version = keyVersionOf(key);
      const existing = keys.get(version);
      if (existing) {
        if (!bytesEqual(existing, key)) {
          throw new SecretboxError(
            "SECRET_KEY_INVALID",
            "two different encryption keys share a key version; generate a new key",
          );
        }
        continue; // the same key listed twice
      }
      keys.set(version, Uint8Array.from(key));
      versions.push(version);
    }
    this.currentVersion = versions[0];
    this.versions = Object.freeze(versions);
    KEY_MATERIAL.set(this, keys);
    Object.freeze(this);
  }

  has(version: string): boolean {
    return keyMap(this).has(version);
  }

  toJSON(): { currentVersion: string; versions: readonly string[] } {
    return { currentVersion: this.currentVersion, versions: this.versions };
  }
}

function keyMap(ring: KeyRing): Map<string, Uint8Array> {
  const keys = KEY_MATERIAL.get(ring);
  if (!keys) throw new SecretboxError("SECRET_KEY_INVALID", "not a KeyRing");
  return keys;
}

/** Short stable fingerprint of a key: first 8 hex chars of SHA-256("warden-key-v1" || key). */
export function keyVersionOf(key: Uint8Array): string {
  return bytesToHex(sha256(concatBytes(utf8ToBytes("warden-key-v1"), key))).slice(0, 8);
}

// ---------------------------------------------------------------------------------------------
// base64 (strict; no atob/Buffer so behaviour is identical in every runtime)

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ASCII = new TextDecoder();
const UTF8 = new TextEncoder();
/** char code → 6-bit value, or -1 */
const DECODE = new Int8Array(256).fill(-1);
/** char code → 1 for "+" "/", 2 for "-" "_" (to refuse mixed alphabets), 0 otherwise */
const ALPHABET_FLAG = new Uint8Array(256);
for (let i = 0; i < 64; i++) {
  DECODE[STD.charCodeAt(i)] = i;
  DECODE[URL_SAFE.charCodeAt(i)] = i;
}
ALPHABET_FLAG[43] = ALPHABET_FLAG[47] = 1;
ALPHABET_FLAG[45] = ALPHABET_FLAG[95] = 2;

const STD_CODES = Uint8Array.from(STD, (c) => c.charCodeAt(0));
const URL_CODES = Uint8Array.from(URL_SAFE, (c) => c.charCodeAt(0));

export function encodeBase64(bytes: Uint8Array, alphabet: "std" | "url" = "std", pad = true): string {
  const table = alphabet === "url" ? URL_CODES : STD_CODES;
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = table[n >> 18];
    out[o++] = table[(n >> 12) & 63];
    out[o++] = table[(n >> 6) & 63];
    out[o++] = table[n & 63];
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
    out[o++] = table[n >> 18];
    out[o++] = table[(n >> 12) & 63];
    if (rest === 2) out[o++] = table[(n >> 6) & 63];
    if (pad) while (o % 4 !== 0) out[o++] = 61; // "="
  }
  return ASCII.decode(out.subarray(0, o));
}

/**
 * Strict base64 (standard or url alphabet, not mixed; padding optional but correct if present;
 * canonical trailing bits). Returns null on anything else.
 */
export function decodeBase64(text: string): Uint8Array | null {
  const chars = UTF8.encode(text);
  if (chars.length !== text.length) return null; // non-ASCII
  let end = chars.length;
  while (end > 0 && chars[end - 1] === 61) end--; // "="
  const padding = chars.length - end;
  if (padding > 2 || (padding > 0 && chars.length % 4 !== 0) || end % 4 === 1) return null;
  let flags = 0;
  for (let i = 0; i < end; i++) flags |= ALPHABET_FLAG[chars[i]];
  if (flags === 3) return null; // mixed alphabets
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  const full = end - (end % 4);
  let i = 0;
  let o = 0;
  for (; i < full; i += 4) {
    const a = DECODE[chars[i]];
    const b = DECODE[chars[i + 1]];
    const c = DECODE[chars[i + 2]];
    const d = DECODE[chars[i + 3]];
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  const rest = end - full; // 0, 2 or 3
  if (rest > 0) {
    const a = DECODE[chars[i]];
    const b = DECODE[chars[i + 1]];
    const c = rest === 3 ? DECODE[chars[i + 2]] : 0;
    if ((a | b | c) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = n >> 16;
    if (rest === 3) out[o++] = (n >> 8) & 0xff;
    // non-canonical: the unused low bits must be zero
    if ((rest === 2 ? n & 0xffff : n & 0xff) !== 0) return null;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// key ring loading

type Env = Record<string, string | undefined>;

function defaultEnv(): Env {
  return typeof process !== "undefined" && process.env ? process.env : {};
}

function keyProblem(label: string, detail: string): SecretboxError {
  return new SecretboxError(
    "SECRET_KEY_INVALID",
    `${label} ${detail}. It must be ${KEY_BYTES} random bytes encoded as base64 or as 64 hex characters; generate one with: ${generateKeyCommand}`,
  );
}

/** Parses one key; errors name the variable and never include the value. */
export function parseKey(raw: string, label: string = KEY_ENV): Uint8Array {
  const text = raw.trim();
  if (text === "") throw keyProblem(label, "is empty");
  let bytes: Uint8Array | null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = hexToBytes(text.toLowerCase());
  else bytes = decodeBase64(text);
  if (!bytes) throw keyProblem(label, "is not valid base64 or hex");
  if (bytes.length !== KEY_BYTES) throw keyProblem(label, `decodes to ${bytes.length} bytes instead of ${KEY_BYTES}`);
  return bytes;
}

let cached: { current: string | undefined; previous: string | undefined; ring: KeyRing } | null = null;

/**
 * Reads the key ring from the environment (current key + optional comma-separated previous keys).
 * Cached per env values; parsing happens on first use, not at import.
 */
export function loadKeyRing(env: Env = defaultEnv()): KeyRing {
  const current = env[KEY_ENV];
  const previous = env[PREVIOUS_KEYS_ENV];
  if (cached && cached.current === current && cached.previous === previous) return cached.ring;
  if (current === undefined || current.trim() === "") {
    throw new SecretboxError(
      "SECRET_KEY_MISSING",
      `${KEY_ENV} is not set. Generate a key with: ${generateKeyCommand} and set it as a Convex environment variable`,
    );
  }
  const currentKey = parseKey(current, KEY_ENV);
  const previousKeys = (previous ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s, i) => parseKey(s, `${PREVIOUS_KEYS_ENV} entry #${i + 1}`));
  const ring = new KeyRing(currentKey, previousKeys);
  cached = { current, previous, ring };
  return ring;
}

/**
 * Refuses to run with a missing, malformed, published or degenerate current key. Call it at
 * startup of a production deployment. Previous keys are only parsed (they may be the old dev key
 * that is being rotated away from).
 */
export function assertProductionKey(env: Env = defaultEnv()): void {
  loadKeyRing(env); // throws on missing or malformed keys
  const text = (env[KEY_ENV] ?? "").trim();
  const lowered = text.toLowerCase();
  const bytes = parseKey(text);
  const insecure = () =>
    new SecretboxError(
      "SECRET_KEY_INSECURE",
      `${KEY_ENV} is a published example key; generate a fresh one with: ${generateKeyCommand}`,
    );
  for (const known of KNOWN_EXAMPLE_KEYS) {
    if (lowered === known.toLowerCase()) throw insecure();
    let knownBytes: Uint8Array | null = null;
    try {
      knownBytes = parseKey(known);
    } catch {
      knownBytes = null;
    }
    if (knownBytes && bytesEqual(knownBytes, bytes)) throw insecure();
  }
  if (isKnownKey(bytes)) throw insecure(); // written somewhere in this repository (tests, fixtures, docs)
  if (bytes.every((b) => b === bytes[0])) {
    throw new SecretboxError(
      "SECRET_KEY_INSECURE",
      `${KEY_ENV} repeats a single byte; generate a fresh one with: ${generateKeyCommand}`,
    );
  }
}

/** Only a test run (WARDEN_ENV=test, set by vitest.config.ts) may use a published key; every other deployment may not. */
export function keyGuardEnforced(env: Env = defaultEnv()): boolean {
  return (env.WARDEN_ENV ?? "").trim() !== "test";
}

let vetted: { current: string | undefined; previous: string | undefined } | null = null;

/**
 * The key ring every encryption and decryption uses: on any deployment but a test run it first
 * passes assertProductionKey, so the first use of a missing, malformed or published key fails
 * (there is no separate step to forget). Vetted once per env values.
 */
export function usableKeyRing(env: Env = defaultEnv()): KeyRing {
  if (keyGuardEnforced(env)) {
    const current = env[KEY_ENV];
    const previous = env[PREVIOUS_KEYS_ENV];
    if (!vetted || vetted.current !== current || vetted.previous !== previous) {
      assertProductionKey(env);
      vetted = { current, previous };
    }
  }
  return loadKeyRing(env);
}

// ---------------------------------------------------------------------------------------------
// encrypt / decrypt

/** Length-prefixed (u32 BE) encoding of a domain tag and the identity fields: unambiguous. */
export function encodeAssociatedData(id: SecretIdentity): Uint8Array {
  if (
    !id ||
    typeof id.table !== "string" ||
    typeof id.ownerId !== "string" ||
    typeof id.name !== "string" ||
    id.table === "" ||
    id.ownerId === "" ||
    id.name === ""
  ) {
    throw new SecretboxError("SECRET_IDENTITY_INVALID", "secret identity needs non-empty table, ownerId and name");
  }
  const parts = ["warden-secret-v1", id.table, id.ownerId, id.name].map((s) => utf8ToBytes(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint32(o, p.length);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function encryptSecret(plaintext: string, ad: SecretIdentity, ring: KeyRing = loadKeyRing()): EncryptedSecret {
  // a lone surrogate would silently become U+FFFD and decrypt to a different string
  if (typeof plaintext !== "string" || LONE_SURROGATE.test(plaintext)) {
    throw new SecretboxError("SECRET_VALUE_INVALID", "secret value must be a well-formed string");
  }
  const aad = encodeAssociatedData(ad);
  const message = utf8ToBytes(plaintext);
  if (message.length > MAX_SECRET_BYTES) {
    throw new SecretboxError("SECRET_TOO_LARGE", `secret values are limited to ${MAX_SECRET_BYTES} bytes`);
  }
  const key = keyMap(ring).get(ring.currentVersion)!;
  const nonce = randomBytes(NONCE_BYTES);
  const sealed = xchachaSeal(key, nonce, aad, message);
  message.fill(0);
  return {
    ciphertext: encodeBase64(concatBytes(nonce, sealed)),
    keyVersion: ring.currentVersion,
    last4: last4For(plaintext),
  };
}

/** Decrypts or throws SECRET_DECRYPT_FAILED (tampered, wrong row, unknown or removed key). */
export function decryptSecret(
  record: { ciphertext: string; keyVersion: string },
  ad: SecretIdentity,
  ring: KeyRing = loadKeyRing(),
): string {
  const aad = encodeAssociatedData(ad);
  const fail = () => new SecretboxError("SECRET_DECRYPT_FAILED");
  if (!record || typeof record.ciphertext !== "string" || typeof record.keyVersion !== "string") throw fail();
  const key = keyMap(ring).get(record.keyVersion);
  if (!key) throw fail();
  const raw = decodeBase64(record.ciphertext);
  if (!raw || raw.length < NONCE_BYTES + TAG_BYTES) throw fail();
  let message: Uint8Array;
  try {
    message = xchachaOpen(key, raw.subarray(0, NONCE_BYTES), aad, raw.subarray(NONCE_BYTES));
  } catch {
    throw fail();
  }
  const text = bytesToUtf8(message);
  message.fill(0);
  return text;
}

export function needsReencryption(keyVersion: string, ring: KeyRing = loadKeyRing()): boolean {
  return keyVersion !== ring.currentVersion;
}

/** Opens with whichever ring key sealed it and seals again with the current key (fresh nonce). */
export function reencrypt(
  record: { ciphertext: string; keyVersion: string },
  ad: SecretIdentity,
  ring: KeyRing = loadKeyRing(),
): EncryptedSecret {
  return encryptSecret(decryptSecret(record, ad, ring), ad, ring);
}

// ---------------------------------------------------------------------------------------------
// masking

/** Last 4 code points, or "" when the value has fewer than 8 (too short to reveal any of it). */
export function last4For(value: string): string {
  const text = value ?? "";
  // walk back at most 8 code points: enough to decide the length rule and find the last 4
  let i = text.length;
  let last4Start = i;
  for (let count = 0; count < 8; count++) {
    if (i === 0) return "";
    const low = text.charCodeAt(i - 1);
    const high = i >= 2 ? text.charCodeAt(i - 2) : 0;
    i -= low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? 2 : 1;
    if (count === 3) last4Start = i;
  }
  return text.slice(last4Start);
}

/** "••••" + last 4 code points; just "••••" for values shorter than 8 code points. */
export function maskSecret(value: string): string {
  return MASK + last4For(value);
}

/** Mask from a stored last4 (what SyncBoard receives). */
export function maskFromLast4(last4: string): string {
  return MASK + (last4 ?? "");
}

/** Uint8Array check that also holds across realms (e.g. test VMs). */
function isBytes(a: unknown): a is Uint8Array {
  return a instanceof Uint8Array || (ArrayBuffer.isView(a) && a.constructor?.name === "Uint8Array");
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
