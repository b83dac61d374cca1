import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import {
  EXAMPLE_KEY,
  KEY_ENV,
  KNOWN_EXAMPLE_KEYS,
  MAX_SECRET_BYTES,
  PREVIOUS_KEYS_ENV,
  SecretboxError,
  assertProductionKey,
  decodeBase64,
  decryptSecret,
  encodeAssociatedData,
  encodeBase64,
  encryptSecret,
  generateKeyCommand,
  keyVersionOf,
  last4For,
  loadKeyRing,
  maskSecret,
  needsReencryption,
  parseKey,
  reencrypt,
} from "./secretbox";
import kat from "../../tests/fixtures/secretbox/xchacha-draft-a31.json";

const b64 = (bytes: Uint8Array) => encodeBase64(bytes);
const freshKey = () => b64(randomBytes(32));
const ringOf = (current: string, previous?: string) =>
  loadKeyRing({ [KEY_ENV]: current, [PREVIOUS_KEYS_ENV]: previous });

const AD = { table: "skillSecrets", ownerId: "skill_abc123", name: "OPENWEATHER_API_KEY" };

function expectCode(fn: () => unknown, code: string) {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected a throw").toBeInstanceOf(SecretboxError);
  expect((caught as SecretboxError).code).toBe(code);
  return caught as SecretboxError;
}

function flipByte(ciphertext: string, index: number): string {
  const raw = decodeBase64(ciphertext)!;
  raw[index] ^= 0x01;
  return encodeBase64(raw);
}

describe("XChaCha20-Poly1305 known answer (draft-irtf-cfrg-xchacha-03 §A.3.1)", () => {
  const key = hexToBytes(kat.key);
  const nonce = hexToBytes(kat.nonce);
  const aad = hexToBytes(kat.aad);
  const plaintext = utf8ToBytes(kat.plaintext);
  const expected = kat.sealed;

  it("encrypts to the published ciphertext and tag", () => {
    expect(bytesToHex(xchacha20poly1305(key, nonce, aad).encrypt(plaintext))).toBe(expected);
  });

  it("decrypts the published vector and rejects it under other AD", () => {
    const opened = xchacha20poly1305(key, nonce, aad).decrypt(hexToBytes(expected));
    expect(bytesToHex(opened)).toBe(bytesToHex(plaintext));
    expect(() => xchacha20poly1305(key, nonce, aad.subarray(1)).decrypt(hexToBytes(expected))).toThrow();
  });
});

describe("round trip", () => {
  const ring = ringOf(freshKey());
  const cases: Array<[string, string]> = [
    ["ascii", "sk-live-0123456789abcdef"],
    ["unicode", "pässwörd 🔑 ключ 秘密 e\u0301"],
    ["empty", ""],
    ["10 KB", "x".repeat(5 * 1024) + "й".repeat(2560)],
  ];
  for (const [label, value] of cases) {
    it(label, () => {
      const rec = encryptSecret(value, AD, ring);
      expect(rec.keyVersion).toBe(ring.currentVersion);
      expect(rec.ciphertext).not.toContain(value || "\u0000never");
      expect(decryptSecret(rec, AD, ring)).toBe(value);
    });
  }

  it("stores base64(nonce || ct || tag) with a 24-byte nonce", () => {
    const rec = encryptSecret("abc", AD, ring);
    expect(decodeBase64(rec.ciphertext)!.length).toBe(24 + 3 + 16);
  });

  it("uses a fresh nonce each time", () => {
    const a = encryptSecret("same value", AD, ring);
    const b = encryptSecret("same value", AD, ring);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(decodeBase64(a.ciphertext)!.subarray(0, 24)).not.toEqual(decodeBase64(b.ciphertext)!.subarray(0, 24));
  });

  it("returns last4 and never the plaintext", () => {
    const rec = encryptSecret("sk-abcdefgh1234", AD, ring);
    expect(rec.last4).toBe("1234");
    expect(JSON.stringify(rec)).not.toContain("abcdefgh");
  });

  it("refuses oversized values", () => {
    expectCode(() => encryptSecret("a".repeat(MAX_SECRET_BYTES + 1), AD, ring), "SECRET_TOO_LARGE");
  });

  it("refuses values that would not survive UTF-8 (lone surrogates)", () => {
    expectCode(() => encryptSecret("abc\ud800def", AD, ring), "SECRET_VALUE_INVALID");
    expectCode(() => encryptSecret("\udc00", AD, ring), "SECRET_VALUE_INVALID");
    expect(decryptSecret(encryptSecret("ok😀", AD, ring), AD, ring)).toBe("ok😀");
  });

  it("refuses an empty identity field", () => {
    expectCode(() => encryptSecret("v", { ...AD, name: "" }, ring), "SECRET_IDENTITY_INVALID");
  });
});

describe("fails closed", () => {
  const ring = ringOf(freshKey());
  const rec = encryptSecret("top secret value", AD, ring);

  it("tampered ciphertext byte", () => {
    expectCode(
      () => decryptSecret({ ...rec, ciphertext: flipByte(rec.ciphertext, 24) }, AD, ring),
      "SECRET_DECRYPT_FAILED",
    );
  });
  it("tampered nonce byte", () => {
    expectCode(
      () => decryptSecret({ ...rec, ciphertext: flipByte(rec.ciphertext, 3) }, AD, ring),
      "SECRET_DECRYPT_FAILED",
    );
  });
  it("tampered tag byte", () => {
    const last = decodeBase64(rec.ciphertext)!.length - 1;
    expectCode(
      () => decryptSecret({ ...rec, ciphertext: flipByte(rec.ciphertext, last) }, AD, ring),
      "SECRET_DECRYPT_FAILED",
    );
  });
  it("truncated or garbage ciphertext", () => {
    expectCode(
      () => decryptSecret({ ...rec, ciphertext: rec.ciphertext.slice(0, 20) }, AD, ring),
      "SECRET_DECRYPT_FAILED",
    );
    expectCode(() => decryptSecret({ ...rec, ciphertext: "not base64!!" }, AD, ring), "SECRET_DECRYPT_FAILED");
    expectCode(() => decryptSecret({ ...rec, ciphertext: "" }, AD, ring), "SECRET_DECRYPT_FAILED");
  });
  it("copied to another table", () => {
    expectCode(() => decryptSecret(rec, { ...AD, table: "channelSecrets" }, ring), "SECRET_DECRYPT_FAILED");
  });
  it("copied to another owner (skill)", () => {
    expectCode(() => decryptSecret(rec, { ...AD, ownerId: "skill_other" }, ring), "SECRET_DECRYPT_FAILED");
  });
  it("copied to another name", () => {
    expectCode(() => decryptSecret(rec, { ...AD, name: "OTHER_KEY" }, ring), "SECRET_DECRYPT_FAILED");
  });
  it("field boundaries are unambiguous", () => {
    const a = encodeAssociatedData({ table: "t", ownerId: "ab", name: "c" });
    const b = encodeAssociatedData({ table: "t", ownerId: "a", name: "bc" });
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
    const r = encryptSecret("v", { table: "t", ownerId: "ab", name: "c" }, ring);
    expectCode(() => decryptSecret(r, { table: "t", ownerId: "a", name: "bc" }, ring), "SECRET_DECRYPT_FAILED");
    // separators alone would not do: embedded NULs must not move a boundary either
    const z = "\u0000\u0000\u0000\u0000";
    const c = encodeAssociatedData({ table: "t", ownerId: `a${z}b`, name: "c" });
    const d = encodeAssociatedData({ table: "t", ownerId: "a", name: `b${z}c` });
    expect(bytesToHex(c)).not.toBe(bytesToHex(d));
  });
  it("AD encoding is length-prefixed (golden)", () => {
    expect(bytesToHex(encodeAssociatedData({ table: "t", ownerId: "o", name: "n" }))).toBe(
      "00000010" + bytesToHex(utf8ToBytes("warden-secret-v1")) + "0000000174" + "000000016f" + "000000016e",
    );
  });
  it("wrong key", () => {
    expectCode(() => decryptSecret(rec, AD, ringOf(freshKey())), "SECRET_DECRYPT_FAILED");
  });
  it("record claims another key version of the ring", () => {
    const old = freshKey();
    const both = ringOf(freshKey(), old);
    const sealed = encryptSecret("v", AD, both);
    expectCode(() => decryptSecret({ ...sealed, keyVersion: both.versions[1] }, AD, both), "SECRET_DECRYPT_FAILED");
  });
  it("unknown key version", () => {
    expectCode(() => decryptSecret({ ...rec, keyVersion: "deadbeef" }, AD, ring), "SECRET_DECRYPT_FAILED");
  });
  it("error carries no detail", () => {
    const err = expectCode(() => decryptSecret(rec, { ...AD, name: "x" }, ring), "SECRET_DECRYPT_FAILED");
    expect(err.message).toBe("SECRET_DECRYPT_FAILED");
  });
});

describe("key rotation", () => {
  const oldKey = freshKey();
  const newKey = freshKey();
  const oldRing = ringOf(oldKey);
  const rec = encryptSecret("rotate me", AD, oldRing);

  it("decrypts with the old key listed in PREVIOUS", () => {
    const rotated = ringOf(newKey, `${freshKey()}, ${oldKey}`);
    expect(rotated.currentVersion).toBe(keyVersionOf(parseKey(newKey)));
    expect(needsReencryption(rec.keyVersion, rotated)).toBe(true);
    expect(decryptSecret(rec, AD, rotated)).toBe("rotate me");
    const moved = reencrypt(rec, AD, rotated);
    expect(moved.keyVersion).toBe(rotated.currentVersion);
    expect(needsReencryption(moved.keyVersion, rotated)).toBe(false);
    expect(decryptSecret(moved, AD, ringOf(newKey))).toBe("rotate me");
  });

  it("fails closed once the old key is removed", () => {
    expectCode(() => decryptSecret(rec, AD, ringOf(newKey)), "SECRET_DECRYPT_FAILED");
  });

  it("key versions are stable fingerprints, equal across encodings", () => {
    const raw = randomBytes(32);
    const fromB64 = ringOf(b64(raw));
    const fromUrl = ringOf(encodeBase64(raw, "url", false));
    const fromHex = ringOf(bytesToHex(raw).toUpperCase());
    expect(fromB64.currentVersion).toMatch(/^[0-9a-f]{8}$/);
    expect(fromUrl.currentVersion).toBe(fromB64.currentVersion);
    expect(fromHex.currentVersion).toBe(fromB64.currentVersion);
  });

  it("caches per env values", () => {
    const k = freshKey();
    expect(ringOf(k)).toBe(ringOf(k));
    expect(ringOf(k)).not.toBe(ringOf(freshKey()));
  });

  it("does not expose key material when serialized", () => {
    const k = freshKey();
    const ring = ringOf(k);
    const dump = JSON.stringify(ring) + String(ring) + Object.keys(ring).join();
    expect(dump).not.toContain(k);
    expect(dump).not.toContain(bytesToHex(parseKey(k)));
  });
});

describe("base64", () => {
  it("matches btoa and round-trips in both alphabets, padded or not", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const std = encodeBase64(bytes);
        expect(std).toBe(btoa(String.fromCharCode(...bytes)));
        expect(decodeBase64(std)).toEqual(bytes);
        const url = encodeBase64(bytes, "url", false);
        expect(url).toBe(std.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
        expect(decodeBase64(url)).toEqual(bytes);
      }),
    );
  });
  it("rejects malformed input", () => {
    for (const bad of ["a", "ab=c", "abc==", "ab===", "a+b_", "ab\u00e9c", "ab c", "abcd="]) {
      expect(decodeBase64(bad), bad).toBeNull();
    }
  });
});

describe("key format validation", () => {
  const bad: Array<[string, string]> = [
    ["31 bytes", b64(randomBytes(31))],
    ["33 bytes", b64(randomBytes(33))],
    ["63 hex chars", bytesToHex(randomBytes(32)).slice(1)],
    ["garbage", "this is not a key at all!"],
    ["mixed alphabets", b64(randomBytes(32)).slice(0, 40) + "-_+/"],
  ];
  for (const [label, value] of bad) {
    it(`rejects ${label} without echoing it`, () => {
      const err = expectCode(() => ringOf(value), "SECRET_KEY_INVALID");
      expect(err.message).toContain(KEY_ENV);
      expect(err.message).not.toContain(value);
      expect(err.message).not.toContain(value.slice(0, 12));
    });
  }

  it("rejects a bad previous key, naming its variable", () => {
    const value = b64(randomBytes(16));
    const err = expectCode(() => ringOf(freshKey(), value), "SECRET_KEY_INVALID");
    expect(err.message).toContain(PREVIOUS_KEYS_ENV);
    expect(err.message).not.toContain(value);
  });

  it("rejects empty and missing keys", () => {
    expectCode(() => ringOf(""), "SECRET_KEY_MISSING");
    expectCode(() => ringOf("   "), "SECRET_KEY_MISSING");
    const err = expectCode(() => loadKeyRing({}), "SECRET_KEY_MISSING");
    expect(err.message).toContain(generateKeyCommand);
  });

  it("accepts std, url-safe, unpadded base64 and hex", () => {
    const raw = randomBytes(32);
    for (const text of [
      b64(raw),
      b64(raw).replace(/=+$/, ""),
      encodeBase64(raw, "url", true),
      bytesToHex(raw),
      ` ${bytesToHex(raw)}\n`,
    ]) {
      expect(parseKey(text)).toEqual(raw);
    }
  });

  it("rejects non-canonical base64", () => {
    // 32 bytes = 43 chars + "="; the last char carries 2 unused bits that must be zero
    const text = b64(new Uint8Array(32).fill(7));
    const last = text[42];
    const tweaked = text.slice(0, 42) + String.fromCharCode(last.charCodeAt(0) + 1) + "=";
    expect(decodeBase64(tweaked)).toBeNull();
  });
});

describe("assertProductionKey", () => {
  it("accepts a random key", () => {
    expect(() => assertProductionKey({ [KEY_ENV]: freshKey() })).not.toThrow();
  });
  it("rejects a missing key", () => {
    expectCode(() => assertProductionKey({}), "SECRET_KEY_MISSING");
  });
  it("rejects every listed example key that is a valid key", () => {
    let checked = 0;
    for (const known of KNOWN_EXAMPLE_KEYS) {
      let valid = true;
      try {
        parseKey(known);
      } catch {
        valid = false;
      }
      if (!valid) continue;
      checked++;
      const err = expectCode(() => assertProductionKey({ [KEY_ENV]: known }), "SECRET_KEY_INSECURE");
      expect(err.message).not.toContain(known);
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });
  it("rejects the docs example in another encoding", () => {
    const hex = bytesToHex(parseKey(EXAMPLE_KEY));
    expectCode(() => assertProductionKey({ [KEY_ENV]: hex }), "SECRET_KEY_INSECURE");
    expectCode(() => assertProductionKey({ [KEY_ENV]: EXAMPLE_KEY.replace(/=$/, "") }), "SECRET_KEY_INSECURE");
  });
  it("rejects placeholder strings", () => {
    for (const placeholder of ["change-me", "CHANGEME", "your-key-here"]) {
      expect(() => assertProductionKey({ [KEY_ENV]: placeholder })).toThrow(SecretboxError);
    }
  });
  it("rejects a key of one repeated byte", () => {
    expectCode(() => assertProductionKey({ [KEY_ENV]: b64(new Uint8Array(32).fill(0xab)) }), "SECRET_KEY_INSECURE");
  });
  it("still lets an old example key sit in PREVIOUS for rotation", () => {
    expect(() => assertProductionKey({ [KEY_ENV]: freshKey(), [PREVIOUS_KEYS_ENV]: EXAMPLE_KEY })).not.toThrow();
  });
  it("exports the generate command", () => {
    expect(generateKeyCommand).toBe(`node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`);
  });
});

describe("masking", () => {
  const cases: Array<[string, string, string]> = [
    ["", "••••", ""],
    ["abc", "••••", ""],
    ["abcdefg", "••••", ""],
    ["abcdefgh", "••••efgh", "efgh"],
    ["sk-live-1234567890", "••••7890", "7890"],
    ["🔑🔑🔑🔑🔑🔑🔑", "••••", ""], // 7 code points, 14 UTF-16 units
    ["🔑🔑🔑🔑🔑🔑🔑🔑🔑", "••••🔑🔑🔑🔑", "🔑🔑🔑🔑"],
    ["abcde\u0301fg", "••••e\u0301fg", "e\u0301fg"], // 8 code points incl. a combining accent
    ["cafe\u0301", "••••", ""], // 5 code points
  ];
  for (const [value, masked, last4] of cases) {
    it(`${JSON.stringify(value)} -> ${masked}`, () => {
      expect(maskSecret(value)).toBe(masked);
      expect(last4For(value)).toBe(last4);
      expect(maskSecret(value)).toBe("••••" + last4For(value));
    });
  }
  it("never splits a surrogate pair", () => {
    expect(maskSecret("x".repeat(10) + "😀")).toBe("••••xxx😀");
    expect(maskSecret("😀".repeat(3) + "abcd😀")).toBe("••••bcd😀");
  });
  it("agrees with a code point count on random strings", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(fc.constant("a"), fc.constant("😀"), fc.constant("\u0301"), fc.constant("\ud800")),
          maxLength: 14,
        }),
        (v) => {
          const points = Array.from(v);
          expect(last4For(v)).toBe(points.length < 8 ? "" : points.slice(-4).join(""));
        },
      ),
    );
  });
});
