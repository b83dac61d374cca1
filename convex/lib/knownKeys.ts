/**
 * Fingerprints of every 32-byte value that appears in this repository (test keys, examples, JWK
 * coordinates, hashes…): all public, so none may be an encryption key. Only fingerprints are kept
 * here, never the values. Regenerate with `npx tsx scripts/known-keys.ts`;
 * tests/secrets/knownKeys.test.ts fails when a value in the repository is not covered.
 * Pure: no Convex imports.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, utf8ToBytes } from "@noble/ciphers/utils.js";

/** First 128 bits of SHA-256("warden-known-key-v1" || key), hex. */
export function knownKeyFingerprint(key: Uint8Array): string {
  return bytesToHex(sha256(concatBytes(utf8ToBytes("warden-known-key-v1"), key))).slice(0, 32);
}

export const KNOWN_KEY_FINGERPRINTS: readonly string[] = Object.freeze([
  // fingerprints:start
  "1f9ef39fab3159e28bbebf2202a0401e",
  "2793b43898361339b2cd7510d08ab5f7",
  "29b1d4a8c3b12b11d4ce8b52625190ac",
  "29cf5602ccfe0d956ddff6d3c1622446",
  "41f7cab79395d071015ab445058b6a47",
  "479f04c2ff4f3c4fb1032c6642f931c2",
  "6255dc0aed25d0080afd8ab069670064",
  "6501658d2e7b471da71c17e02de66e4a",
  "7ad6a00beebba25aafa9f7b1490f80a6",
  "7e9fdb4b22087665af35009a143c5e96",
  "8d3587ab34cc9893ff376f0702e8c22f",
  "9bfd76183df06b44e5c4cad96d1fd060",
  "a15eb5d7776c392f9d085a37c1d7493d",
  "b15a049005bdc8b05c243ffa48dc4d17",
  "cfe203bad9ed16dd39f9c1ff0bd56766",
  "d66f1b59beca5d8889421304e32c726f",
  "eb03bb16f3ab4b51328484626a6173b8",
  "f87d180c34b1748046607c1eab28336d",
  // fingerprints:end
]);

const SET = new Set(KNOWN_KEY_FINGERPRINTS);

export function isKnownKey(key: Uint8Array): boolean {
  return SET.has(knownKeyFingerprint(key));
}
