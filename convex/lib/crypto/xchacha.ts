/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): @noble/ciphers everywhere, or — when the runtime
 * offers Node's crypto without an import (the embedded runtime, Node actions; see hmac.ts) —
 * HChaCha20 from @noble/ciphers for the subkey plus Node's native IETF ChaCha20-Poly1305 with the
 * nonce 0x00000000 || nonce[16..24]. Identical bytes on both paths (tested); Convex's default
 * runtime takes the noble path.
 */
import { hchacha, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { nativeCrypto } from "./hmac";

type Aead = {
  setAAD(aad: Uint8Array, o: { plaintextLength: number }): void;
  update(b: Uint8Array): Uint8Array;
  final(): Uint8Array;
};
type NativeAead = {
  createCipheriv(
    alg: "chacha20-poly1305",
    key: Uint8Array,
    iv: Uint8Array,
    o: { authTagLength: 16 },
  ): Aead & {
    getAuthTag(): Uint8Array;
  };
  createDecipheriv(
    alg: "chacha20-poly1305",
    key: Uint8Array,
    iv: Uint8Array,
    o: { authTagLength: 16 },
  ): Aead & {
    setAuthTag(tag: Uint8Array): void;
  };
};

const native = nativeCrypto as unknown as NativeAead | null;
export const xchachaNative = native !== null && new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const TAG = 16;
// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** The HChaCha20 subkey and the 12-byte IETF nonce for a 32-byte key and a 24-byte nonce. */
function derive(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  if (key.length !== 32 || nonce.length !== 24) throw new Error("xchacha: key must be 32 bytes, nonce 24");
  const k32 = new Uint32Array(key.slice().buffer);
  const n32 = new Uint32Array(nonce.slice(0, 16).buffer);
  const out = new Uint32Array(8);
  hchacha(SIGMA, k32, n32, out);
  k32.fill(0);
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16), 4);
  return { subkey: new Uint8Array(out.buffer), iv };
}

/** ciphertext || tag */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, message: Uint8Array): Uint8Array {
  if (!native || !xchachaNative) return xchacha20poly1305(key, nonce, aad).encrypt(message);
  const { subkey, iv } = derive(key, nonce);
  try {
    const c = native.createCipheriv("chacha20-poly1305", subkey, iv, { authTagLength: TAG });
    c.setAAD(aad, { plaintextLength: message.length });
    const head = c.update(message);
    const tail = c.final();
    const out = new Uint8Array(head.length + tail.length + TAG);
    out.set(head, 0);
    out.set(tail, head.length);
    out.set(c.getAuthTag(), head.length + tail.length);
    return out;
  } finally {
    subkey.fill(0);
  }
}

/** The message, or throws when the tag does not verify. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (!native || !xchachaNative) return xchacha20poly1305(key, nonce, aad).decrypt(sealed);
  if (sealed.length < TAG) throw new Error("xchacha: ciphertext shorter than its tag");
  const { subkey, iv } = derive(key, nonce);
  try {
    const d = native.createDecipheriv("chacha20-poly1305", subkey, iv, { authTagLength: TAG });
    d.setAAD(aad, { plaintextLength: sealed.length - TAG });
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const head = d.update(sealed.subarray(0, sealed.length - TAG));
    let tail: Uint8Array;
    try {
      tail = d.final(); // throws on a bad tag
    } catch (e) {
      head.fill(0); // unauthenticated plaintext never leaves
      throw e;
    }
    const out = new Uint8Array(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  } finally {
    subkey.fill(0);
  }
}
