/**
 * What bench:secrets measures as "ours", shared by its Node section (scripts/bench-secrets.ts) and
 * its default-runtime child (secrets-default-runtime.ts): encrypt + decrypt of one 1 KB secret
 * with convex/lib/secretbox (XChaCha20-Poly1305, base64 record, identity AD), and the bare AEAD
 * underneath it (convex/lib/crypto/xchacha: HChaCha20 + Node's native ChaCha20-Poly1305 where the
 * runtime offers node:crypto without an import, @noble/ciphers on the default runtime). No imports
 * of Node built-ins.
 */
import { randomBytes } from "@noble/ciphers/utils.js";
import { xchachaOpen, xchachaSeal } from "../../convex/lib/crypto/xchacha";
import { KeyRing, decryptSecret, encodeAssociatedData, encryptSecret } from "../../convex/lib/secretbox";

export const SECRET_BYTES = 1024;
/** Target: secretbox at most 3× slower than the reference (ours/ref ≥ 1/3). */
export const MAX_SLOWDOWN = 3;

export const key = randomBytes(32);
export const ring = new KeyRing(key);
export const ad = { table: "skillSecrets", ownerId: "k57a1b2c3d4e5f6g7h8j9", name: "OPENWEATHER_API_KEY" };
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
export const secret = Array.from(randomBytes(SECRET_BYTES), (b) => alphabet[b & 63]).join("");
export const aad = encodeAssociatedData(ad);
export const rawMsg = randomBytes(SECRET_BYTES);

export function ours(): void {
  const rec = encryptSecret(secret, ad, ring);
  if (decryptSecret(rec, ad, ring) !== secret) throw new Error("secretbox round trip failed");
}

export function oursRaw(): void {
  const nonce = randomBytes(24);
  const ct = xchachaSeal(key, nonce, aad, rawMsg);
  xchachaOpen(key, nonce, aad, ct);
}
