// @vitest-environment node
// The native fast path (Node's crypto via process.getBuiltinModule) must give the same bytes as
// @noble/hashes, which is what Convex's default runtime uses.
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { hmacSha1, hmacSha256, hmacSha256Raw, nativeCrypto, sha256Bytes, utf8 } from "./webhookCrypto";

describe("webhookCrypto native path", () => {
  test("is active under Node", () => {
    expect(nativeCrypto).not.toBeNull();
  });
  test("HMAC-SHA1/SHA256 and SHA-256 equal @noble/hashes for random strings and bytes", () => {
    fc.assert(
      // Secrets of any code units, lone surrogates included: Node keys a string with its UTF-8
      // bytes (U+FFFD for a lone surrogate), exactly like utf8() on the noble path.
      fc.property(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
          fc.string({
            unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)),
            minLength: 1,
            maxLength: 8,
          }),
        ),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        (secret, text, bytes) => {
          expect(new Uint8Array(Buffer.from(hmacSha256(secret, text), "latin1"))).toEqual(
            hmac(sha256, utf8(secret), utf8(text)),
          );
          expect(new Uint8Array(Buffer.from(hmacSha1(secret, text), "latin1"))).toEqual(
            hmac(sha1, utf8(secret), utf8(text)),
          );
          expect(new Uint8Array(Buffer.from(hmacSha256(secret, bytes), "latin1"))).toEqual(
            hmac(sha256, utf8(secret), bytes),
          );
          expect(
            new Uint8Array(
              Buffer.from(
                hmacSha256Raw(`raw:${secret}`, () => utf8(secret), text),
                "latin1",
              ),
            ),
          ).toEqual(hmac(sha256, utf8(secret), utf8(text)));
          expect(new Uint8Array(sha256Bytes(bytes))).toEqual(sha256(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });
});
