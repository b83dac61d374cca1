/** SHA-256 and SHA-1 in plain JS, with keyed HMAC states (runtimes without native crypto). */
import { encoder } from "./bytes";

// ---------------------------------------------------------------------------------------------
// SHA-256 and SHA-1 (FIPS 180-4) in plain JS, for runtimes without native crypto.
//
// Why not @noble/hashes: for a webhook-sized message (0.5–1 KB) its per-call work (hash
// objects, buffers, a DataView, cloning the keyed state) cost about as much as the compression
// itself. Here a keyed HMAC is two cached 8-word states; a message is hashed straight from its
// bytes (strings are UTF-8 encoded into a reused buffer), only the last block or two are copied.
// No branch or index depends on the key or the message, as in any SHA implementation.

const SHA256_K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const SHA256_IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const SHA1_IV = Int32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);

/** Message schedule, shared (everything here is synchronous). */
const W = new Int32Array(80);

type Blocks = (st: Int32Array, b: Uint8Array, pos: number, end: number) => void;

/** Compresses the 64-byte blocks b[pos, end) into the state st (8 words). */
function sha256Blocks(st: Int32Array, b: Uint8Array, pos: number, end: number): void {
  const w = W;
  const k = SHA256_K;
  let h0 = st[0],
    h1 = st[1],
    h2 = st[2],
    h3 = st[3],
    h4 = st[4],
    h5 = st[5],
    h6 = st[6],
    h7 = st[7];
  for (; pos < end; pos += 64) {
    for (let i = 0, j = pos; i < 16; i++, j += 4) w[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (s1 + w[i - 7] + s0 + w[i - 16]) | 0;
    }
    let a = h0,
      bb = h1,
      c = h2,
      d = h3,
      e = h4,
      f = h5,
      g = h6,
      h = h7;
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
  let h0 = st[0],
    h1 = st[1],
    h2 = st[2],
    h3 = st[3],
    h4 = st[4];
  for (; pos < end; pos += 64) {
    for (let i = 0, j = pos; i < 16; i++, j += 4) w[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0,
      bb = h1,
      c = h2,
      d = h3,
      e = h4;
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

export interface JsAlg {
  blocks: Blocks;
  iv: Int32Array;
  /** Digest length in 32-bit words. */
  words: number;
}
export const JS_SHA256: JsAlg = { blocks: sha256Blocks, iv: SHA256_IV, words: 8 };
export const JS_SHA1: JsAlg = { blocks: sha1Blocks, iv: SHA1_IV, words: 5 };

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

export function messageBytes(msg: Uint8Array | string): Uint8Array {
  if (typeof msg !== "string") return msg;
  if (msg.length > SCRATCH_UNITS) return encoder.encode(msg);
  if (scratch.length < msg.length * 3)
    scratch = new Uint8Array(Math.min(SCRATCH_UNITS * 3, Math.max(msg.length * 3, scratch.length * 2)));
  // Lone surrogates become U+FFFD, exactly as encoder.encode (and Node's UTF-8) does.
  return scratch.subarray(0, encoder.encodeInto(msg, scratch).written);
}

export function jsDigestBytes(alg: JsAlg, msg: Uint8Array): Uint8Array {
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
export interface JsKey {
  alg: JsAlg;
  inner: Int32Array;
  outer: Int32Array;
}

export function jsKey(alg: JsAlg, keyBytes: Uint8Array): JsKey {
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

export function jsMac(k: JsKey, msg: Uint8Array): string {
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
