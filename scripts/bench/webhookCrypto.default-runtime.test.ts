// The webhook verifiers on Convex's default-runtime path (plain-JS HMAC/SHA, no Node crypto).
//
// Under vitest, process.getBuiltinModule exists, so convex/lib/webhookCrypto.ts takes Node's native
// path and the verifier suites test that path only. This file hides getBuiltinModule while the
// modules load (vitest gives each test file its own module graph), then runs the unchanged
// suites — vendor test vectors, cross-checks against node:crypto and the vendors' libraries, every
// refusal — against the plain-JS path that Convex runs, plus the cases that path adds (block
// boundaries, long keys, messages past the reused encode buffer). It sits next to the benchmark
// whose default-runtime numbers it makes meaningful (scripts/bench-webhooks.ts).
import { describe, expect, it } from "vitest";
import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";

type ProcessWithBuiltins = { getBuiltinModule?: unknown };
const proc = process as unknown as ProcessWithBuiltins;
const saved = Object.getOwnPropertyDescriptor(proc, "getBuiltinModule");
delete proc.getBuiltinModule;
let js: typeof import("../../convex/lib/webhookCrypto");
try {
  js = await import("../../convex/lib/webhookCrypto");
  await import("../../convex/lib/webhookCrypto.test");
  await import("../../convex/channels/platforms/twilioRequest.test");
  await import("../../convex/channels/verify.test");
} finally {
  if (saved) Object.defineProperty(proc, "getBuiltinModule", saved);
}

const hex = (s: string | Uint8Array) =>
  (typeof s === "string" ? Buffer.from(s, "latin1") : Buffer.from(s)).toString("hex");

describe("webhookCrypto plain-JS path (Convex's default runtime)", () => {
  it("is the path under test here", () => {
    expect(js.nativeCrypto).toBeNull();
  });

  it("HMAC-SHA256/SHA1 and SHA-256 equal node:crypto at every length around the block boundaries", () => {
    const keys = ["", "k", "x".repeat(63), "x".repeat(64), "x".repeat(65), "é".repeat(40), "k".repeat(200)];
    for (let len = 0; len <= 260; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 131 + len) & 255);
      const text = "aé€😀".repeat(len).slice(0, len);
      expect(hex(js.sha256Bytes(bytes))).toBe(createHash("sha256").update(bytes).digest("hex"));
      for (const k of keys) {
        if (k === "") continue; // the verifiers refuse an empty secret before hashing
        expect(hex(js.hmacSha256(k, bytes))).toBe(createHmac("sha256", k).update(bytes).digest("hex"));
        expect(hex(js.hmacSha1(k, text))).toBe(createHmac("sha1", k).update(text).digest("hex"));
      }
      expect(hex(js.hmacSha256Raw(`len-${len}`, () => bytes, text))).toBe(
        createHmac("sha256", bytes).update(text).digest("hex"),
      );
    }
  });

  it("messages longer than the reused encode buffer, and 1 MB bodies", () => {
    const long = "ü€x\uD800".repeat(40_000); // lone surrogates included: encoded as U+FFFD
    expect(hex(js.hmacSha256("s", long))).toBe(
      createHmac("sha256", "s").update(Buffer.from(long, "utf-8")).digest("hex"),
    );
    expect(hex(js.hmacSha1("s", long.slice(0, 21_000)))).toBe(
      createHmac("sha1", "s")
        .update(Buffer.from(long.slice(0, 21_000), "utf-8"))
        .digest("hex"),
    );
    const mb = new Uint8Array(1 << 20).map((_, i) => i * 7);
    expect(hex(js.sha256Bytes(mb))).toBe(createHash("sha256").update(mb).digest("hex"));
    // A short message after a long one: the reused buffers hold no stale bytes.
    expect(hex(js.hmacSha256("s", "abc"))).toBe(createHmac("sha256", "s").update("abc").digest("hex"));
  });

  it("secretStringEqual finds a difference at every position, and any length mismatch", () => {
    for (let n = 0; n <= 40; n++) {
      const secret = "tg_A1b2C3d4é".repeat(4).slice(0, n);
      expect(js.secretStringEqual(secret, secret)).toBe(true);
      for (let i = 0; i < n; i++)
        expect(js.secretStringEqual(secret.slice(0, i) + "\u0001" + secret.slice(i + 1), secret)).toBe(false);
      for (let m = 0; m <= n + 5; m++)
        if (m !== n) expect(js.secretStringEqual(secret.padEnd(m, "x").slice(0, m), secret)).toBe(false);
    }
  });

  it("equals node:crypto on random keys and messages, interleaving algorithms and keys", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.oneof(fc.string({ unit: "grapheme", maxLength: 2000 }), fc.string({ unit: "binary", maxLength: 300 })),
        fc.uint8Array({ maxLength: 2000 }),
        (secret, rawKey, text, bytes) => {
          expect(hex(js.hmacSha256(secret, text))).toBe(createHmac("sha256", secret).update(text).digest("hex"));
          expect(hex(js.hmacSha1(secret, bytes))).toBe(createHmac("sha1", secret).update(bytes).digest("hex"));
          expect(hex(js.hmacSha256Raw(`raw:${hex(rawKey)}`, () => rawKey, bytes))).toBe(
            createHmac("sha256", rawKey).update(bytes).digest("hex"),
          );
          expect(hex(js.sha256Bytes(bytes))).toBe(createHash("sha256").update(bytes).digest("hex"));
        },
      ),
      { numRuns: 300 },
    );
  });
});
