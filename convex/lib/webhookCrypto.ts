/**
 * Pure primitives for inbound webhook verification (no Convex, no Node built-ins imported), one
 * module per primitive under lib/crypto/; the vendor adapters import
 * those directly; this index gathers them for the crypto test suites and the benches.
 *
 * HMAC and SHA-256 (crypto/hmac.ts): Node's native crypto when the runtime exposes it without an
 * import (the embedded runtime, tests), else the plain-JS SHA-256/SHA-1 (crypto/sha.ts; Convex's
 * default runtime); identical bytes (scripts/bench/webhookCrypto.default-runtime.test.ts runs the
 * verifier suites on the plain-JS path and checks it against node:crypto). Both paths are
 * synchronous, so the verifiers settle without a Promise. Why plain JS rather than @noble/hashes,
 * and what that path costs against a Web Crypto verifier: the default-runtime section of
 * scripts/bench-webhooks.ts. Ed25519 (crypto/ed25519.ts) uses `crypto.subtle` with a cached
 * CryptoKey and falls back to @noble/ed25519.
 * Twilio's URL and form rules belong to the Twilio adapter (channels/platforms/twilioRequest.ts).
 */
export { utf8 } from "./crypto/bytes";
export { nativeCrypto, hmacSha1, hmacSha256, hmacSha256Raw, sha256Bytes } from "./crypto/hmac";
export { secretStringEqual, lowerHexEqualsDigest, bytesEqualDigest } from "./crypto/compare";
export { hexToBytesStrict, bytesToHex, base64ToBytesCanonical, stablelibBase64Decode } from "./crypto/encoding";
export { ed25519VerifyNoble, ed25519Verify } from "./crypto/ed25519";
