/** UTF-8 helpers and the bounded per-secret caches the crypto modules share. */

export const encoder = new TextEncoder();
// Like Buffer#toString("utf8") and WHATWG "UTF-8 decode without BOM": bad sequences become U+FFFD, a BOM is kept.
export const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

// ---------------------------------------------------------------------------------------------
// Bounded caches (per-secret key material; at most MAX entries, oldest evicted first)

const CACHE_MAX = 64;

export function cacheGet<V>(cache: Map<string, V>, key: string, make: () => V): V {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const value = make();
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, value);
  return value;
}
