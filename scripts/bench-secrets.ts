/**
 * Secrets benchmark: encrypt + decrypt of 1 KB secrets per second.
 *   ours: convex/lib/secretbox (XChaCha20-Poly1305, @noble/ciphers, base64 record, identity AD)
 *   node: node:crypto chacha20-poly1305 (12-byte nonce, same AD, same base64 record shape)
 * Both rows do the same surrounding work; a second pair compares the bare AEAD primitives.
 * Usage: npx tsx scripts/bench-secrets.ts   (≈ 3 s)
 */
import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { KeyRing, decryptSecret, encodeAssociatedData, encryptSecret } from "../convex/lib/secretbox";

const SECRET_BYTES = 1024;
const ROUNDS = 10;
const FULL_MS_PER_ROUND = 100; // per implementation
const RAW_MS_PER_ROUND = 40;

const key = randomBytes(32);
const ring = new KeyRing(key);
const ad = { table: "skillSecrets", ownerId: "k57a1b2c3d4e5f6g7h8j9", name: "OPENWEATHER_API_KEY" };
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const secret = Array.from(randomBytes(SECRET_BYTES), (b) => alphabet[b & 63]).join("");

function ours(): void {
  const rec = encryptSecret(secret, ad, ring);
  if (decryptSecret(rec, ad, ring) !== secret) throw new Error("secretbox round trip failed");
}

function node(): void {
  const aad = encodeAssociatedData(ad);
  const nonce = nodeRandomBytes(12);
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: Buffer.byteLength(secret) });
  const sealed = Buffer.concat([nonce, c.update(secret, "utf8"), c.final(), c.getAuthTag()]).toString("base64");
  const raw = Buffer.from(sealed, "base64");
  const d = createDecipheriv("chacha20-poly1305", key, raw.subarray(0, 12), { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: raw.length - 28 });
  d.setAuthTag(raw.subarray(raw.length - 16));
  const out = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString("utf8");
  if (out !== secret) throw new Error("node round trip failed");
}

const rawMsg = randomBytes(SECRET_BYTES);
const rawAad = encodeAssociatedData(ad);

function oursRaw(): void {
  const nonce = randomBytes(24);
  const ct = xchacha20poly1305(key, nonce, rawAad).encrypt(rawMsg);
  xchacha20poly1305(key, nonce, rawAad).decrypt(ct);
}

function nodeRaw(): void {
  const nonce = nodeRandomBytes(12);
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(rawAad, { plaintextLength: rawMsg.length });
  const ct = Buffer.concat([c.update(rawMsg), c.final()]);
  const tag = c.getAuthTag();
  const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  d.setAAD(rawAad, { plaintextLength: ct.length });
  d.setAuthTag(tag);
  Buffer.concat([d.update(ct), d.final()]);
}

function run(fn: () => void, ms: number): { ops: number; ms: number } {
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 50; i++) fn();
    ops += 50;
    now = performance.now();
  }
  return { ops, ms: now - start };
}

/** Interleaved rounds so drift (JIT, CPU frequency) hits both sides alike. */
function compare(a: () => void, b: () => void, msPerRound: number): [number, number] {
  run(a, 60); // warm-up
  run(b, 60);
  const tot = [
    { ops: 0, ms: 0 },
    { ops: 0, ms: 0 },
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, fn] of [a, b].entries()) {
      const res = run(fn, msPerRound);
      tot[i].ops += res.ops;
      tot[i].ms += res.ms;
    }
  }
  return [(tot[0].ops * 1000) / tot[0].ms, (tot[1].ops * 1000) / tot[1].ms];
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(10);

const [oursFull, nodeFull] = compare(ours, node, FULL_MS_PER_ROUND);
const [oursPrim, nodePrim] = compare(oursRaw, nodeRaw, RAW_MS_PER_ROUND);

console.log(`secrets benchmark: encrypt+decrypt of ${SECRET_BYTES}-byte secrets (${process.version})`);
console.log(`  secretbox (XChaCha20-Poly1305, @noble/ciphers)   ${fmt(oursFull)} ops/s`);
console.log(`  node:crypto chacha20-poly1305 (same record work) ${fmt(nodeFull)} ops/s`);
console.log(`  ratio ours/node: ${(oursFull / nodeFull).toFixed(2)}  (slowdown ${(nodeFull / oursFull).toFixed(2)}x; target ≤ 3x)`);
console.log(`  bare AEAD only: noble ${fmt(oursPrim)} ops/s, node ${fmt(nodePrim)} ops/s, ratio ${(oursPrim / nodePrim).toFixed(2)}`);
