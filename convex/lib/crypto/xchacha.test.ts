// XChaCha20-Poly1305 on the path this runtime takes (native under vitest; the plain path runs in
// scripts/bench/secretbox.default-runtime.test.ts), against the draft's vector and @noble/ciphers.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { xchachaNative, xchachaOpen, xchachaSeal } from "./xchacha";

// draft-irtf-cfrg-xchacha-03, A.3.1
const key = hexToBytes("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const nonce = hexToBytes("404142434445464748494a4b4c4d4e4f5051525354555657");
const aad = hexToBytes("50515253c0c1c2c3c4c5c6c7");
const plaintext = utf8ToBytes(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const expected =
  "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" +
  "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
  "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" +
  "21f9664c97637da9768812f615c68b13b52e" +
  "c0875924c1c7987947deafd8780acf49";

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

describe(`xchacha (${xchachaNative ? "native" : "plain"} path)`, () => {
  it("seals to the published ciphertext and tag, and opens it", () => {
    expect(bytesToHex(xchachaSeal(key, nonce, aad, plaintext))).toBe(expected);
    expect(bytesToHex(xchachaOpen(key, nonce, aad, hexToBytes(expected)))).toBe(bytesToHex(plaintext));
  });

  it("refuses other AD, a flipped bit anywhere, a truncated record (throws, returns nothing)", () => {
    const sealed = hexToBytes(expected);
    expect(() => xchachaOpen(key, nonce, aad.subarray(1), sealed)).toThrow();
    for (const i of [0, 40, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[i] ^= 1;
      expect(() => xchachaOpen(key, nonce, aad, bad)).toThrow();
    }
    expect(() => xchachaOpen(key, nonce, aad, sealed.subarray(0, 15))).toThrow();
    expect(() => xchachaOpen(key, nonce, aad, sealed.subarray(0, sealed.length - 1))).toThrow();
    const otherNonce = nonce.slice();
    otherNonce[20] ^= 1; // the part that becomes the IETF nonce
    expect(() => xchachaOpen(key, otherNonce, aad, sealed)).toThrow();
    otherNonce[20] ^= 1;
    otherNonce[3] ^= 1; // the part that feeds HChaCha20
    expect(() => xchachaOpen(key, otherNonce, aad, sealed)).toThrow();
  });

  it("equals @noble/ciphers on random keys, nonces, AD and messages, both ways", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(24, 24), bytes(0, 40), bytes(0, 300), (k, n, ad, msg) => {
        const ours = xchachaSeal(k, n, ad, msg);
        const ref = xchacha20poly1305(k, n, ad).encrypt(msg);
        expect(bytesToHex(ours)).toBe(bytesToHex(ref));
        expect(bytesToHex(xchachaOpen(k, n, ad, ref))).toBe(bytesToHex(msg));
        expect(bytesToHex(xchacha20poly1305(k, n, ad).decrypt(ours))).toBe(bytesToHex(msg));
      }),
      { numRuns: 300 },
    );
  });

  it("does not alter its inputs, and refuses a wrong key or nonce length", () => {
    const k = key.slice();
    const n = nonce.slice();
    xchachaSeal(k, n, aad, plaintext);
    expect(bytesToHex(k)).toBe(bytesToHex(key));
    expect(bytesToHex(n)).toBe(bytesToHex(nonce));
    expect(() => xchachaSeal(key.subarray(1), nonce, aad, plaintext)).toThrow();
    expect(() => xchachaSeal(key, nonce.subarray(1), aad, plaintext)).toThrow();
  });
});
