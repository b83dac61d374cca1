// XChaCha20-Poly1305 on the path this runtime takes (native under vitest; the plain path runs in
// scripts/bench/secretbox.default-runtime.test.ts), against the draft's vector and @noble/ciphers.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import { xchachaNative, xchachaOpen, xchachaSeal } from "./xchacha";
import kat from "../../../tests/fixtures/secretbox/xchacha-draft-a31.json";

// draft-irtf-cfrg-xchacha-03, A.3.1
const key = hexToBytes(kat.key);
const nonce = hexToBytes(kat.nonce);
const aad = hexToBytes(kat.aad);
const plaintext = utf8ToBytes(kat.plaintext);
const expected = kat.sealed;

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
