import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { nativeCrypto } from "./crypto/hmac";
import { randomToken, sha256Hex } from "./tokens";

async function subtleHex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(d).toString("hex");
}

describe("sha256Hex", () => {
  it("takes the native path under Node", () => {
    expect(nativeCrypto).not.toBeNull();
  });

  it("is the FIPS 180-2 digest", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("equals Web Crypto and node:crypto on any string, lone surrogates included (encoded as U+FFFD)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), async (s) => {
        const ours = await sha256Hex(s);
        expect(ours).toBe(await subtleHex(s));
        expect(ours).toBe(createHash("sha256").update(Buffer.from(s, "utf8")).digest("hex"));
      }),
      { numRuns: 300 },
    );
    expect(await sha256Hex("\ud800")).toBe(await subtleHex("\ufffd"));
  });
});

describe("randomToken", () => {
  it("is the prefix plus unpadded base64url of the requested bytes", () => {
    const t = randomToken("wdn_", 32);
    expect(t).toMatch(/^wdn_[A-Za-z0-9_-]{43}$/);
    expect(randomToken("x", 32)).not.toBe(randomToken("x", 32));
  });
});
