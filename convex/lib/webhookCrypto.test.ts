// Default (edge-runtime) environment; Node modules below are references only.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHash, createHmac } from "node:crypto";
import * as stablelib from "@stablelib/base64";
import * as ed from "@noble/ed25519";
import vectors from "../../tests/fixtures/webhooks/vectors.json";
import {
  base64ToBytesCanonical,
  ed25519Verify,
  ed25519VerifyNoble,
  hexToBytesStrict,
  hmacSha1,
  hmacSha256,
  hmacSha256Raw,
  secretStringEqual,
  lowerHexEqualsDigest,
  bytesEqualDigest,
  sha256Bytes,
  stablelibBase64Decode,
  utf8,
} from "./webhookCrypto";

const hex = (b: Uint8Array | string) =>
  (typeof b === "string" ? Buffer.from(b, "latin1") : Buffer.from(b)).toString("hex");
const bin = (b: Uint8Array) => Buffer.from(b).toString("latin1");

describe("HMAC / SHA-256", () => {
  it("match node:crypto on random keys and messages, across cache hits and evictions", () => {
    const secrets = Array.from({ length: 100 }, (_, i) => `secret-${i}-é`);
    fc.assert(
      fc.property(fc.nat({ max: 99 }), fc.string({ unit: "grapheme", maxLength: 3000 }), (i, msg) => {
        const s = secrets[i];
        const m = utf8(msg);
        expect(hex(hmacSha256(s, m))).toBe(createHmac("sha256", s).update(msg).digest("hex"));
        expect(hex(hmacSha1(s, m))).toBe(createHmac("sha1", s).update(msg).digest("hex"));
        expect(hex(sha256Bytes(m))).toBe(createHash("sha256").update(msg).digest("hex"));
      }),
      { numRuns: 400 },
    );
  });

  it("raw-key HMAC is keyed by its bytes, and long keys are hashed first (RFC 2104)", () => {
    const long = "k".repeat(200);
    expect(hex(hmacSha256(long, utf8("m")))).toBe(createHmac("sha256", long).update("m").digest("hex"));
    const key = new Uint8Array([0, 1, 2, 255]);
    expect(hex(hmacSha256Raw("id-1", () => key, utf8("hello")))).toBe(
      createHmac("sha256", key).update("hello").digest("hex"),
    );
    // A different cache id with different bytes must not reuse the first key.
    const key2 = new Uint8Array([9]);
    expect(hex(hmacSha256Raw("id-2", () => key2, utf8("hello")))).toBe(
      createHmac("sha256", key2).update("hello").digest("hex"),
    );
  });

  it("a lone surrogate is encoded as U+FFFD, like Buffer.from(s, 'utf-8')", () => {
    expect(hex(hmacSha1("k", utf8("a\uD800b")))).toBe(
      createHmac("sha1", "k").update(Buffer.from("a\uD800b", "utf-8")).digest("hex"),
    );
  });
});

describe("comparisons", () => {
  it("lowerHexEqualsDigest is exactly `hex === lowercase hex of the digest`", () => {
    const d = bin(new Uint8Array([0, 1, 0xab, 0xff]));
    expect(lowerHexEqualsDigest("0001abff", d)).toBe(true);
    expect(lowerHexEqualsDigest("0001ABFF", d)).toBe(false);
    expect(lowerHexEqualsDigest("0001abfe", d)).toBe(false);
    expect(lowerHexEqualsDigest("0001abff0", d)).toBe(false);
    expect(lowerHexEqualsDigest("0001abf", d)).toBe(false);
    expect(lowerHexEqualsDigest("0001ab\u0166", d)).toBe(false); // low bits of U+0166 spell "f"
    const hexish = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFgz\u0130\u0661"), maxLength: 10 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5 }), fc.oneof(hexish, fc.string({ maxLength: 10 })), (bytes, guess) => {
        const truth = Buffer.from(bytes).toString("hex");
        expect(lowerHexEqualsDigest(truth, bin(bytes))).toBe(true);
        expect(lowerHexEqualsDigest(guess, bin(bytes))).toBe(guess === truth);
      }),
      { numRuns: 3000 },
    );
  });

  it("bytesEqualDigest compares bytes with a binary-string digest", () => {
    expect(bytesEqualDigest(new Uint8Array([1, 255]), "\u0001\u00ff")).toBe(true);
    expect(bytesEqualDigest(new Uint8Array([1, 254]), "\u0001\u00ff")).toBe(false);
    expect(bytesEqualDigest(new Uint8Array([1]), "\u0001\u00ff")).toBe(false);
    expect(bytesEqualDigest(new Uint8Array([0xff]), "\u01ff")).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        expect(bytesEqualDigest(a, bin(b))).toBe(Buffer.from(a).equals(Buffer.from(b)));
      }),
    );
  });

  it("secretStringEqual is exactly string equality", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.string({ unit: "grapheme", maxLength: 40 }),
        (a, b) => {
          expect(secretStringEqual(a, b)).toBe(a === b);
          expect(secretStringEqual(b, b)).toBe(true);
          expect(secretStringEqual(b + "\u0000", b)).toBe(false);
          expect(secretStringEqual(b, b + "\u0000")).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("encodings", () => {
  it("hexToBytesStrict", () => {
    expect(hexToBytesStrict("00ff10Ab", 4)).toEqual(new Uint8Array([0, 255, 16, 171]));
    expect(hexToBytesStrict("00ff10Ab", 4, true)).toBeNull();
    expect(hexToBytesStrict("00ff10ab", 4, true)).toEqual(new Uint8Array([0, 255, 16, 171]));
    for (const bad of ["00ff10a", "00ff10abc", "0g", "zz", " 0ff10ab", "+0ff10ab"])
      expect(hexToBytesStrict(bad, 4)).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (b) => {
        expect(hexToBytesStrict(hex(b), b.length, true)).toEqual(b);
        expect(hexToBytesStrict(hex(b).toUpperCase(), b.length)).toEqual(b);
      }),
    );
  });

  it("base64ToBytesCanonical accepts exactly the canonical encoding", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        expect(base64ToBytesCanonical(Buffer.from(b).toString("base64"), b.length)).toEqual(b);
      }),
    );
    const alphabet = fc.constantFrom(
      ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ .".split(""),
    );
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 26, maxLength: 30 }), fc.constantFrom(20, 32), (chars, len) => {
        const s = chars.join("");
        const out = base64ToBytesCanonical(s, len);
        if (out) expect(Buffer.from(out).toString("base64")).toBe(s);
      }),
      { numRuns: 1000 },
    );
    // Non-zero trailing bits are refused even though Buffer would decode them.
    expect(base64ToBytesCanonical("GvWf1cFY/Q7PnoempGyD5oXAezd=", 20)).toBeNull();
    expect(base64ToBytesCanonical("GvWf1cFY/Q7PnoempGyD5oXAezc=", 20)).not.toBeNull();
  });

  it("stablelibBase64Decode behaves exactly as @stablelib/base64 decode", () => {
    const alphabet = fc.constantFrom(..."AZaz09+/=-_ !".split(""), "Q", "w");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 24 }), (chars) => {
        const s = chars.join("");
        let ref: Uint8Array | string;
        try {
          ref = stablelib.decode(s);
        } catch {
          ref = "throws";
        }
        let ours: Uint8Array | string;
        try {
          ours = stablelibBase64Decode(s);
        } catch {
          ours = "throws";
        }
        expect(ours).toEqual(ref);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("Ed25519", () => {
  const R = vectors.rfc8032Test1;
  const pub = Buffer.from(R.publicKey, "hex");
  const sig = Buffer.from(R.signature, "hex");

  it("RFC 8032 TEST 1 verifies on both paths (subtle and noble) and fails when tampered", async () => {
    const empty = new Uint8Array(0);
    expect(await ed25519Verify(sig, empty, pub, R.publicKey)).toBe(true);
    expect(await ed25519VerifyNoble(sig, empty, pub)).toBe(true);
    expect(await ed25519Verify(sig, new Uint8Array([0]), pub, R.publicKey)).toBe(false);
    expect(await ed25519VerifyNoble(sig, new Uint8Array([0]), pub)).toBe(false);
  });

  it("subtle and noble paths agree on random keys, messages and tampering; bad keys fail without throwing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: 63 }),
        fc.boolean(),
        async (priv, msg, at, tamper) => {
          const p = await ed.getPublicKeyAsync(priv);
          const s = await ed.signAsync(msg, priv);
          if (tamper) s[at] ^= 1;
          const a = await ed25519Verify(s, msg, p, hex(p));
          const b = await ed25519VerifyNoble(s, msg, p);
          expect(a).toBe(b);
          expect(a).toBe(!tamper);
        },
      ),
      { numRuns: 40 },
    );
    const junkKey = new Uint8Array(32).fill(0xff);
    expect(await ed25519Verify(sig, new Uint8Array(0), junkKey, hex(junkKey))).toBe(false);
    expect(await ed25519VerifyNoble(sig, new Uint8Array(0), junkKey)).toBe(false);
  });
});
