/** Ed25519 verification: crypto.subtle with a cached key, @noble/ed25519 where it is missing. */
import * as ed from "@noble/ed25519";
import { cacheGet } from "./bytes";

// ---------------------------------------------------------------------------------------------
// Ed25519

const edKeyCache = new Map<string, Promise<CryptoKey | null>>();

function importEd25519(pubHex: string, pub: Uint8Array): Promise<CryptoKey | null> {
  return cacheGet(edKeyCache, pubHex.toLowerCase(), () =>
    crypto.subtle
      .importKey("raw", pub as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, ["verify"])
      .catch(() => null),
  );
}

/** RFC 8032 verification with @noble/ed25519 (strict, not ZIP-215), for runtimes without subtle Ed25519. */
export async function ed25519VerifyNoble(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): Promise<boolean> {
  try {
    return await ed.verifyAsync(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

/** Verifies an Ed25519 signature; `pubHex` is the key's hex (used as the cache id). Never throws. */
export async function ed25519Verify(
  sig: Uint8Array,
  msg: Uint8Array,
  pub: Uint8Array,
  pubHex: string,
): Promise<boolean> {
  const key = await importEd25519(pubHex, pub);
  if (key === null) return ed25519VerifyNoble(sig, msg, pub);
  try {
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      sig as Uint8Array<ArrayBuffer>,
      msg as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}
