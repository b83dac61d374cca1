/**
 * The default-runtime section of `npm run bench:secrets`, run as a child process by
 * scripts/bench-secrets.ts under scripts/bench/default-runtime.mjs (no Node built-ins), because
 * secretbox runs in Convex's default runtime (queries, mutations) where node:crypto does not exist.
 *
 * Reference: what a developer writes there without a library: Web Crypto AES-256-GCM (Web Crypto
 * has no ChaCha20-Poly1305) with the CryptoKey imported once and cached, a random 12-byte nonce,
 * the same associated data and the same base64(nonce || ct || tag) record (btoa/atob: no Buffer).
 * Output: one JSON line on stdout.
 */
import { comparePairs, type PairResult } from "./pairs";
import { aad, key, ours, oursRaw, rawMsg, secret } from "./secrets-common";

const PAIRS = Number(process.env.BENCH_PAIRS ?? 21);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 40);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const aesKey = crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, { name: "AES-GCM" }, false, [
  "encrypt",
  "decrypt",
]);
const additionalData = aad as Uint8Array<ArrayBuffer>;

function toB64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
}

function fromB64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function webRecord(): Promise<void> {
  const k = await aesKey;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, k, enc.encode(secret)),
  );
  const sealed = new Uint8Array(12 + ct.length);
  sealed.set(iv);
  sealed.set(ct, 12);
  const record = toB64(sealed);
  const raw = fromB64(record);
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: raw.subarray(0, 12), additionalData },
    k,
    raw.subarray(12),
  );
  if (dec.decode(pt) !== secret) throw new Error("AES-GCM round trip failed");
}

const rawBytes = rawMsg as Uint8Array<ArrayBuffer>;
async function webRaw(): Promise<void> {
  const k = await aesKey;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, k, rawBytes);
  await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData }, k, ct);
}

export interface SecretsDefaultRuntimeResult {
  full: PairResult;
  fullInFlight: PairResult;
  raw: PairResult;
}

async function main() {
  if (typeof (globalThis as { Buffer?: unknown }).Buffer !== "undefined")
    throw new Error("bench setup: Buffer is still a global");
  ours();
  await webRecord();
  const opts = { pairs: PAIRS, sliceMs: SLICE_MS };
  const out: SecretsDefaultRuntimeResult = {
    // One secret at a time (a mutation or action opening the secret it needs).
    full: await comparePairs({ fn: ours }, { fn: webRecord, inFlight: 1 }, opts),
    // Many at once (the reference's crypto.subtle calls overlap on Node's thread pool; ours is synchronous).
    fullInFlight: await comparePairs({ fn: ours }, { fn: webRecord, inFlight: IN_FLIGHT }, opts),
    raw: await comparePairs({ fn: oursRaw }, { fn: webRaw, inFlight: 1 }, opts),
  };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
