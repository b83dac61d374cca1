/** Strict hex and base64 decoders (exact length, canonical form) and the encoders. */

// ---------------------------------------------------------------------------------------------
// Encodings (strict)

export function hexNibble(c: number): number {
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
