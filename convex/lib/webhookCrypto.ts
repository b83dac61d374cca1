/**
 * Pure primitives for inbound webhook verification (no Convex, no Node built-ins imported).
 *
 * HMAC and SHA-256: Node's native crypto when the runtime exposes it without an import (the
 * embedded runtime, tests), else the plain-JS SHA-256/SHA-1 below (Convex's default runtime);
 * identical bytes (scripts/bench/webhookCrypto.default-runtime.test.ts runs the verifier suites
 * on the plain-JS path and checks it against node:crypto). Both paths are synchronous, so
 * the verifiers settle without a Promise; `crypto.subtle` HMAC is async (and under Node a
 * thread-pool round trip per call). Why plain JS rather than @noble/hashes, and what that path
 * costs against a Web Crypto verifier: the default-runtime section of scripts/bench-webhooks.ts.
 * Ed25519 uses `crypto.subtle` with a cached CryptoKey (≈10× @noble/ed25519) and falls back to
 * @noble/ed25519 where the runtime lacks it.
 */
import * as ed from "@noble/ed25519";

const encoder = new TextEncoder();
// Like Buffer#toString("utf8") and WHATWG "UTF-8 decode without BOM": bad sequences become U+FFFD, a BOM is kept.
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

// ---------------------------------------------------------------------------------------------
// Bounded caches (per-secret key material; at most MAX entries, oldest evicted first)

const CACHE_MAX = 64;

function cacheGet<V>(cache: Map<string, V>, key: string, make: () => V): V {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const value = make();
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, value);
  return value;
}

// ---------------------------------------------------------------------------------------------
// SHA-256 and SHA-1 (FIPS 180-4) in plain JS, for runtimes without native crypto.
//
// Why not @noble/hashes: for a webhook-sized message (0.5–1 KB) its per-call work (hash
// objects, buffers, a DataView, cloning the keyed state) cost about as much as the compression
// itself. Here a keyed HMAC is two cached 8-word states; a message is hashed straight from its
// bytes (strings are UTF-8 encoded into a reused buffer), only the last block or two are copied.
// No branch or index depends on the key or the message, as in any SHA implementation.

const SHA256_K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const SHA256_IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const SHA1_IV = Int32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);

/** Message schedule, shared (everything here is synchronous). */
const W = new Int32Array(80);

type Blocks = (st: Int32Array, b: Uint8Array, pos: number, end: number) => void;

/** Compresses the 64-byte blocks b[pos, end) into the state st (8 words). */
function sha256Blocks(st: Int32Array, b: Uint8Array, pos: number, end: number): void {
  const w = W;
  const k = SHA256_K;
  let h0 = st[0], h1 = st[1], h2 = st[2], h3 = st[3], h4 = st[4], h5 = st[5], h6 = st[6], h7 = st[7];
  for (; pos < end; pos += 64) {
    for (let i = 0, j = pos; i < 16; i++, j += 4) w[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (s1 + w[i - 7] + s0 + w[i - 16]) | 0;
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + k[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  st[0] = h0;
  st[1] = h1;
  st[2] = h2;
  st[3] = h3;
  st[4] = h4;
  st[5] = h5;
  st[6] = h6;
  st[7] = h7;
}

/** Compresses the 64-byte blocks b[pos, end) into the state st (5 words). */
function sha1Blocks(st: Int32Array, b: Uint8Array, pos: number, end: number): void {
  const w = W;
  let h0 = st[0], h1 = st[1], h2 = st[2], h3 = st[3], h4 = st[4];
  for (; pos < end; pos += 64) {
    for (let i = 0, j = pos; i < 16; i++, j += 4) w[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4;
    let i = 0;
    for (; i < 20; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    for (; i < 40; i++) {
      const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    for (; i < 60; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e + 0x8f1bbcdc + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    for (; i < 80; i++) {
      const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0xca62c1d6 + w[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  st[0] = h0;
  st[1] = h1;
  st[2] = h2;
  st[3] = h3;
  st[4] = h4;
}

interface JsAlg {
  blocks: Blocks;
  iv: Int32Array;
  /** Digest length in 32-bit words. */
  words: number;
}
const JS_SHA256: JsAlg = { blocks: sha256Blocks, iv: SHA256_IV, words: 8 };
const JS_SHA1: JsAlg = { blocks: sha1Blocks, iv: SHA1_IV, words: 5 };

/** The last one or two blocks: message tail, 0x80, zeros, 64-bit big-endian bit length. */
const TAIL = new Uint8Array(128);

/**
 * Hashes `msg` into `st`, which has already absorbed `prefix` bytes (a multiple of 64), and
 * applies the final padding.
 */
function absorbFinal(alg: JsAlg, st: Int32Array, msg: Uint8Array, prefix: number): void {
  const len = msg.length;
  const full = len - (len & 63);
  if (full > 0) alg.blocks(st, msg, 0, full);
  const rest = len - full;
  const tail = TAIL;
  for (let i = 0; i < rest; i++) tail[i] = msg[full + i];
  tail[rest] = 0x80;
  const tailLen = rest < 56 ? 64 : 128;
  tail.fill(0, rest + 1, tailLen - 8);
  const total = prefix + len;
  const hi = Math.floor(total / 0x20000000); // bits / 2^32
  const lo = (total % 0x20000000) * 8;
  tail[tailLen - 8] = hi >>> 24;
  tail[tailLen - 7] = hi >>> 16;
  tail[tailLen - 6] = hi >>> 8;
  tail[tailLen - 5] = hi;
  tail[tailLen - 4] = lo >>> 24;
  tail[tailLen - 3] = lo >>> 16;
  tail[tailLen - 2] = lo >>> 8;
  tail[tailLen - 1] = lo;
  alg.blocks(st, tail, 0, tailLen);
}

/** Strings up to this many UTF-16 units are encoded into a reused buffer (3 bytes per unit at most). */
const SCRATCH_UNITS = 21_845;
let scratch = new Uint8Array(1024);

function messageBytes(msg: Uint8Array | string): Uint8Array {
  if (typeof msg !== "string") return msg;
  if (msg.length > SCRATCH_UNITS) return encoder.encode(msg);
  if (scratch.length < msg.length * 3) scratch = new Uint8Array(Math.min(SCRATCH_UNITS * 3, Math.max(msg.length * 3, scratch.length * 2)));
  // Lone surrogates become U+FFFD, exactly as encoder.encode (and Node's UTF-8) does.
  return scratch.subarray(0, encoder.encodeInto(msg, scratch).written);
}

function jsDigestBytes(alg: JsAlg, msg: Uint8Array): Uint8Array {
  const st = alg.iv.slice();
  absorbFinal(alg, st, msg, 0);
  const out = new Uint8Array(alg.words * 4);
  for (let i = 0; i < alg.words; i++) {
    const x = st[i];
    out[4 * i] = x >>> 24;
    out[4 * i + 1] = x >>> 16;
    out[4 * i + 2] = x >>> 8;
    out[4 * i + 3] = x;
  }
  return out;
}

/** HMAC key material: the states after absorbing K⊕ipad and K⊕opad (RFC 2104). */
interface JsKey {
  alg: JsAlg;
  inner: Int32Array;
  outer: Int32Array;
}

function jsKey(alg: JsAlg, keyBytes: Uint8Array): JsKey {
  const block = new Uint8Array(64);
  block.set(keyBytes.length > 64 ? jsDigestBytes(alg, keyBytes) : keyBytes);
  const inner = alg.iv.slice();
  const outer = alg.iv.slice();
  for (let i = 0; i < 64; i++) block[i] ^= 0x36;
  alg.blocks(inner, block, 0, 64);
  for (let i = 0; i < 64; i++) block[i] ^= 0x36 ^ 0x5c;
  alg.blocks(outer, block, 0, 64);
  block.fill(0);
  W.fill(0);
  return { alg, inner, outer };
}

const macState = new Int32Array(8);
/** The outer hash's only block: inner digest, 0x80, zeros, bit length of (64 + digest) bytes. */
const OUTER_BLOCK = new Uint8Array(64);

function jsMac(k: JsKey, msg: Uint8Array): string {
  const { alg } = k;
  const st = macState;
  st.set(k.inner);
  absorbFinal(alg, st, msg, 64);
  const ob = OUTER_BLOCK;
  const n = alg.words;
  for (let i = 0; i < n; i++) {
    const x = st[i];
    ob[4 * i] = x >>> 24;
    ob[4 * i + 1] = x >>> 16;
    ob[4 * i + 2] = x >>> 8;
    ob[4 * i + 3] = x;
  }
  ob[4 * n] = 0x80;
  ob.fill(0, 4 * n + 1, 62);
  const bits = (64 + 4 * n) * 8;
  ob[62] = bits >>> 8;
  ob[63] = bits & 255;
  st.set(k.outer);
  alg.blocks(st, ob, 0, 64);
  let s = "";
  for (let i = 0; i < n; i++) {
    const x = st[i];
    s += String.fromCharCode(x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// HMAC with the keyed inner/outer state computed once per secret

/**
 * Node's native crypto when the runtime offers it without an import (Node ≥ 20.16:
 * process.getBuiltinModule), so nothing Node-only is bundled; Convex's default runtime has no such
 * function and uses the plain-JS hashes above. Both give identical bytes (tested).
 */
type NativeKey = { readonly type: "secret" };
type NativeCrypto = {
  createSecretKey(key: Uint8Array): NativeKey;
  createHmac(alg: string, key: NativeKey): { update(b: Uint8Array | string): { digest(enc: "latin1"): string } };
  createHash(alg: string): { update(b: Uint8Array): { digest(): Uint8Array } };
};
export const nativeCrypto: NativeCrypto | null = (() => {
  try {
    const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    return typeof get === "function" ? ((get("node:crypto") as NativeCrypto | undefined) ?? null) : null;
  } catch {
    return null;
  }
})();

/*
 * MACs are returned as binary strings (one char 0–255 per byte): Node's digest("latin1") makes
 * no ArrayBuffer, which measured ≈1 µs cheaper per call than digest() on a 1 KB webhook.
 */

type Alg = "sha1" | "sha256";

/**
 * Per-key material, cached: a native KeyObject (skips Node's per-call key import) or the plain-JS
 * keyed inner/outer state per algorithm. Secret-keyed and raw-keyed MACs use separate rings, so
 * a secret string can never collide with a raw-key cache id.
 */
interface KeyRing {
  native: Map<string, NativeKey>;
  js: Map<string, JsKey>;
}
const secretKeys: KeyRing = { native: new Map(), js: new Map() };
const rawKeys: KeyRing = { native: new Map(), js: new Map() };

function mac(alg: Alg, ring: KeyRing, cacheId: string, key: () => Uint8Array, msg: Uint8Array | string): string {
  const native = nativeCrypto;
  // Strings are hashed as their UTF-8 bytes on both paths.
  if (native) return native.createHmac(alg, cacheGet(ring.native, cacheId, () => native.createSecretKey(key()))).update(msg).digest("latin1");
  const k = cacheGet(ring.js, alg + "\u0000" + cacheId, () => jsKey(alg === "sha1" ? JS_SHA1 : JS_SHA256, key()));
  return jsMac(k, messageBytes(msg));
}

/** HMAC-SHA1 keyed with the UTF-8 bytes of `secret`, as a binary string. */
export function hmacSha1(secret: string, msg: Uint8Array | string): string {
  return mac("sha1", secretKeys, secret, () => utf8(secret), msg);
}

/** HMAC-SHA256 keyed with the UTF-8 bytes of `secret`, as a binary string. */
export function hmacSha256(secret: string, msg: Uint8Array | string): string {
  return mac("sha256", secretKeys, secret, () => utf8(secret), msg);
}

/** HMAC-SHA256 keyed with raw bytes, as a binary string; `cacheId` must identify those bytes uniquely. */
export function hmacSha256Raw(cacheId: string, key: () => Uint8Array, msg: Uint8Array | string): string {
  return mac("sha256", rawKeys, cacheId, key, msg);
}

export function sha256Bytes(msg: Uint8Array): Uint8Array {
  if (nativeCrypto) return nativeCrypto.createHash("sha256").update(msg).digest();
  return jsDigestBytes(JS_SHA256, msg);
}

// ---------------------------------------------------------------------------------------------
// Constant-time comparison

/**
 * Compares a caller-supplied string with a secret. Runs over the secret's length whatever the
 * supplied length, so timing reveals neither content nor where a mismatch is.
 */
export function secretStringEqual(supplied: string, secret: string): boolean {
  let diff = supplied.length ^ secret.length;
  const n = secret.length;
  let i = 0;
  // Four characters per step (≈12% faster for a 35-character token); branches only on lengths.
  for (; i + 4 <= n; i += 4) {
    diff |=
      ((supplied.charCodeAt(i) | 0) ^ secret.charCodeAt(i)) |
      ((supplied.charCodeAt(i + 1) | 0) ^ secret.charCodeAt(i + 1)) |
      ((supplied.charCodeAt(i + 2) | 0) ^ secret.charCodeAt(i + 2)) |
      ((supplied.charCodeAt(i + 3) | 0) ^ secret.charCodeAt(i + 3));
  }
  for (; i < n; i++) diff |= (supplied.charCodeAt(i) | 0) ^ secret.charCodeAt(i);
  return diff === 0;
}

/** Lowercase hex digit values; 256 marks anything else (uppercase included). */
const LOWER_HEX_VALUE = (() => {
  const t = new Int16Array(128).fill(256);
  for (let i = 0; i < 16; i++) t["0123456789abcdef".charCodeAt(i)] = i;
  return t;
})();

/**
 * Whether `hex` is exactly the lowercase hex encoding of `digest` (a binary string). Reads every
 * digest byte whatever the input, so timing reveals nothing about it; it branches only on `hex`.
 */
export function lowerHexEqualsDigest(hex: string, digest: string): boolean {
  const n = digest.length;
  if (hex.length !== 2 * n) return false;
  let diff = 0;
  for (let i = 0; i < n; i++) {
    const a = hex.charCodeAt(2 * i);
    const b = hex.charCodeAt(2 * i + 1);
    const hi = a < 128 ? LOWER_HEX_VALUE[a] : 256;
    const lo = b < 128 ? LOWER_HEX_VALUE[b] : 256;
    diff |= ((hi << 4) | lo) ^ digest.charCodeAt(i);
  }
  return diff === 0;
}

/** Equal-length check of bytes against a binary-string digest without early exit. */
export function bytesEqualDigest(bytes: Uint8Array, digest: string): boolean {
  if (bytes.length !== digest.length) return false;
  let diff = 0;
  for (let i = 0; i < bytes.length; i++) diff |= bytes[i] ^ digest.charCodeAt(i);
  return diff === 0;
}

// ---------------------------------------------------------------------------------------------
// Encodings (strict)

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Strict hex → bytes of exactly `len` bytes; `lowerOnly` rejects A–F. Null if malformed. */
export function hexToBytesStrict(s: string, len: number, lowerOnly = false): Uint8Array | null {
  if (s.length !== len * 2) return null;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const c1 = s.charCodeAt(2 * i);
    const c2 = s.charCodeAt(2 * i + 1);
    if (lowerOnly && ((c1 >= 65 && c1 <= 70) || (c2 >= 65 && c2 <= 70))) return null;
    const hi = hexNibble(c1);
    const lo = hexNibble(c2);
    if (hi < 0 || lo < 0) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const HEX = "0123456789abcdef";
export function bytesToHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

function b64Value(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43) return 62;
  if (c === 47) return 63;
  return -1;
}

/**
 * Decodes standard padded base64 only if `s` is the canonical encoding of exactly `len` bytes
 * (so accepting the decoded bytes is the same as comparing `s` with the canonical string).
 */
export function base64ToBytesCanonical(s: string, len: number): Uint8Array | null {
  const full = Math.floor(len / 3);
  const rest = len % 3;
  if (s.length !== 4 * Math.ceil(len / 3)) return null;
  const out = new Uint8Array(len);
  let o = 0;
  let i = 0;
  for (let g = 0; g < full; g++, i += 4) {
    const a = b64Value(s.charCodeAt(i));
    const b = b64Value(s.charCodeAt(i + 1));
    const c = b64Value(s.charCodeAt(i + 2));
    const d = b64Value(s.charCodeAt(i + 3));
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (rest === 1) {
    const a = b64Value(s.charCodeAt(i));
    const b = b64Value(s.charCodeAt(i + 1));
    if ((a | b) < 0 || (b & 15) !== 0 || s[i + 2] !== "=" || s[i + 3] !== "=") return null;
    out[o] = (a << 2) | (b >> 4);
  } else if (rest === 2) {
    const a = b64Value(s.charCodeAt(i));
    const b = b64Value(s.charCodeAt(i + 1));
    const c = b64Value(s.charCodeAt(i + 2));
    if ((a | b | c) < 0 || (c & 3) !== 0 || s[i + 3] !== "=") return null;
    out[o++] = (a << 2) | (b >> 4);
    out[o] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

/**
 * Base64 decoding exactly as @stablelib/base64 `decode` (used by svix/standardwebhooks for the
 * `whsec_` secret): lenient about length and trailing bits, throws on bad characters or padding.
 */
export function stablelibBase64Decode(s: string): Uint8Array {
  if (s.length === 0) return new Uint8Array(0);
  let pad = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === "="; i--) pad++;
  if (s.length < 4 || pad > 2) throw new Error("base64: incorrect padding");
  const length = s.length - pad;
  const out = new Uint8Array(((length / 4) * 3) | 0);
  let op = 0;
  let bad = false;
  let v0 = 0;
  let v1 = 0;
  let v2 = 0;
  let v3 = 0;
  const val = (i: number) => {
    const v = b64Value(s.charCodeAt(i));
    if (v < 0) bad = true;
    return v & 63;
  };
  let i = 0;
  for (; i < length - 4; i += 4) {
    v0 = val(i);
    v1 = val(i + 1);
    v2 = val(i + 2);
    v3 = val(i + 3);
    out[op++] = (v0 << 2) | (v1 >>> 4);
    out[op++] = (v1 << 4) | (v2 >>> 2);
    out[op++] = (v2 << 6) | v3;
  }
  if (i < length - 1) {
    v0 = val(i);
    v1 = val(i + 1);
    out[op++] = (v0 << 2) | (v1 >>> 4);
  }
  if (i < length - 2) {
    v2 = val(i + 2);
    out[op++] = (v1 << 4) | (v2 >>> 2);
  }
  if (i < length - 3) {
    v3 = val(i + 3);
    out[op++] = (v2 << 6) | v3;
  }
  if (bad) throw new Error("base64: incorrect characters");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ed25519

const edKeyCache = new Map<string, Promise<CryptoKey | null>>();

function importEd25519(pubHex: string, pub: Uint8Array): Promise<CryptoKey | null> {
  return cacheGet(edKeyCache, pubHex.toLowerCase(), () =>
    crypto.subtle
      .importKey("raw", pub as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, ["verify"])
      .catch(() => null),
  );
}

/** RFC 8032 verification with @noble/ed25519 (strict, not ZIP-215), for runtimes without subtle Ed25519. */
export async function ed25519VerifyNoble(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): Promise<boolean> {
  try {
    return await ed.verifyAsync(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

/** Verifies an Ed25519 signature; `pubHex` is the key's hex (used as the cache id). Never throws. */
export async function ed25519Verify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array, pubHex: string): Promise<boolean> {
  const key = await importEd25519(pubHex, pub);
  if (key === null) return ed25519VerifyNoble(sig, msg, pub);
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, key, sig as Uint8Array<ArrayBuffer>, msg as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Twilio: URL candidates exactly as twilio-node 6.2 `validateRequest` builds them

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

function splitUrl(url: string): UrlParts | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!m) return null;
  const [prefix, scheme, authority] = m;
  const userInfoEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

export function twilioAddPort(url: string): string {
  const p = splitUrl(url);
  if (!p || p.port) return url;
  const port = p.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return p.scheme + p.userInfo + p.host + port + p.rest;
}

export function twilioRemovePort(url: string): string {
  const p = splitUrl(url);
  if (!p) return url;
  return p.scheme + p.userInfo + p.host + p.rest;
}

/** Re-encodes the query the way Node's legacy `querystring.stringify(parse(q))` does. */
export function twilioLegacyQuerystring(url: string): string {
  const q = url.indexOf("?");
  if (q === -1 || q === url.length - 1) return url;
  return url.slice(0, q) + "?" + nodeQsStringify(nodeQsParse(url.slice(q + 1)));
}

export type FormParams = Record<string, string | string[]>;

/** Twilio's data string after the URL: sorted keys; array values de-duplicated and sorted. */
export function twilioParamString(params: FormParams): string {
  let s = "";
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    if (Array.isArray(value)) {
      for (const v of Array.from(new Set(value)).sort()) s += key + v;
    } else {
      s += key + value;
    }
  }
  return s;
}

/**
 * application/x-www-form-urlencoded → params, repeated keys as arrays (as Express gives them).
 * Same result as the WHATWG parser (`URLSearchParams`) for strings without lone surrogates
 * (which a body decoded from bytes never has), without its per-pair allocation cost.
 */
export function parseFormBody(body: string): FormParams {
  const out: FormParams = Object.create(null);
  forEachFormPair(body, (name, value) => addKeyVal(out, name, value));
  return out;
}

/** Twilio's data string straight from a form body: `twilioParamString(parseFormBody(body))`. */
export function twilioFormParamString(body: string): string {
  // A Map, not a null-prototype object: key order and lookups stay fast with many fields.
  const byKey = new Map<string, string | string[]>();
  forEachFormPair(body, (name, value) => {
    const cur = byKey.get(name);
    if (cur === undefined) byKey.set(name, value);
    else if (Array.isArray(cur)) cur.push(value);
    else byKey.set(name, [cur, value]);
  });
  let s = "";
  for (const key of Array.from(byKey.keys()).sort()) {
    const value = byKey.get(key) as string | string[];
    if (Array.isArray(value)) {
      for (const v of Array.from(new Set(value)).sort()) s += key + v;
    } else {
      s += key + value;
    }
  }
  return s;
}

function forEachFormPair(body: string, visit: (name: string, value: string) => void): void {
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf("&", start);
    if (end === -1) end = body.length;
    if (end > start) {
      const eq = body.indexOf("=", start);
      const hasEq = eq !== -1 && eq < end;
      visit(formDecode(body.slice(start, hasEq ? eq : end)), hasEq ? formDecode(body.slice(eq + 1, end)) : "");
    }
    start = end + 1;
  }
}

function formDecode(s: string): string {
  if (s.indexOf("+") !== -1) s = s.replace(/\+/g, " ");
  if (s.indexOf("%") === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return percentDecodeLenient(s);
  }
}

/** WHATWG percent-decode of the UTF-8 bytes (bad escapes kept literally), then lenient UTF-8 decode. */
function percentDecodeLenient(s: string): string {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 37 && i + 2 < bytes.length) {
      const hi = hexNibble(bytes[i + 1]);
      const lo = hexNibble(bytes[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[o++] = b;
  }
  return lenientDecoder.decode(out.subarray(0, o));
}

function addKeyVal(obj: FormParams, key: string, value: string): void {
  const cur = obj[key];
  if (cur === undefined) obj[key] = value;
  else if (Array.isArray(cur)) cur.push(value);
  else obj[key] = [cur, value];
}

// Node's legacy querystring (lib/querystring.js, Node 20), reproduced for twilioLegacyQuerystring.

function isHexCode(c: number): boolean {
  return hexNibble(c) >= 0;
}

// Only reached after decodeURIComponent failed; "+" was already turned into " " by the parser.
function nodeUnescapeBuffer(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  let index = 0;
  let o = 0;
  const maxLength = s.length - 2;
  while (index < s.length) {
    let c = s.charCodeAt(index);
    if (c === 37 && index < maxLength) {
      c = s.charCodeAt(++index);
      const hi = hexNibble(c);
      if (hi < 0) {
        out[o++] = 37;
        continue;
      }
      const lo = hexNibble(s.charCodeAt(++index));
      if (lo < 0) {
        out[o++] = 37;
        index--;
      } else {
        c = hi * 16 + lo;
      }
    }
    out[o++] = c & 255;
    index++;
  }
  return out.subarray(0, o);
}


function nodeQsUnescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return lenientDecoder.decode(nodeUnescapeBuffer(s));
  }
}

export function nodeQsParse(qs: string): FormParams {
  const obj: FormParams = Object.create(null);
  if (qs.length === 0) return obj;
  let pairs = 1000;
  let lastPos = 0;
  let sepIdx = 0;
  let eqIdx = 0;
  let key = "";
  let value = "";
  let keyEncoded = false;
  let valEncoded = false;
  let encodeCheck = 0;
  const add = () => {
    if (key.length > 0 && keyEncoded) key = nodeQsUnescape(key);
    if (value.length > 0 && valEncoded) value = nodeQsUnescape(value);
    addKeyVal(obj, key, value);
  };
  for (let i = 0; i < qs.length; ++i) {
    const code = qs.charCodeAt(i);
    if (code === 38 /* & */) {
      if (++sepIdx === 1) {
        const end = i;
        if (eqIdx < 1) {
          if (lastPos < end) {
            key += qs.slice(lastPos, end);
          } else if (key.length === 0) {
            if (--pairs === 0) return obj;
            lastPos = i + 1;
            sepIdx = eqIdx = 0;
            continue;
          }
        } else if (lastPos < end) {
          value += qs.slice(lastPos, end);
        }
        add();
        if (--pairs === 0) return obj;
        keyEncoded = valEncoded = false;
        key = value = "";
        encodeCheck = 0;
        lastPos = i + 1;
        sepIdx = eqIdx = 0;
      }
    } else {
      sepIdx = 0;
      if (eqIdx < 1) {
        if (code === 61 /* = */) {
          if (++eqIdx === 1) {
            const end = i;
            if (lastPos < end) key += qs.slice(lastPos, end);
            encodeCheck = 0;
            lastPos = i + 1;
          }
          continue;
        } else {
          eqIdx = 0;
          if (!keyEncoded) {
            if (code === 37) {
              encodeCheck = 1;
              continue;
            } else if (encodeCheck > 0) {
              if (isHexCode(code)) {
                if (++encodeCheck === 3) keyEncoded = true;
                continue;
              } else {
                encodeCheck = 0;
              }
            }
          }
        }
        if (code === 43 /* + */) {
          if (lastPos < i) key += qs.slice(lastPos, i);
          key += " ";
          lastPos = i + 1;
          continue;
        }
      }
      if (code === 43) {
        if (lastPos < i) value += qs.slice(lastPos, i);
        value += " ";
        lastPos = i + 1;
      } else if (!valEncoded) {
        if (code === 37) {
          encodeCheck = 1;
        } else if (encodeCheck > 0) {
          if (isHexCode(code)) {
            if (++encodeCheck === 3) valEncoded = true;
          } else {
            encodeCheck = 0;
          }
        }
      }
    }
  }
  if (lastPos < qs.length) {
    if (eqIdx < 1) key += qs.slice(lastPos);
    else if (sepIdx < 1) value += qs.slice(lastPos);
  } else if (eqIdx === 0 && key.length === 0) {
    return obj;
  }
  add();
  return obj;
}

export function nodeQsStringify(obj: FormParams): string {
  let fields = "";
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const ks = encodeURIComponent(k) + "=";
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      if (fields) fields += "&";
      for (let j = 0; j < v.length; ++j) {
        if (j) fields += "&";
        fields += ks + encodeURIComponent(v[j]);
      }
    } else {
      if (fields) fields += "&";
      fields += ks + encodeURIComponent(v);
    }
  }
  return fields;
}
