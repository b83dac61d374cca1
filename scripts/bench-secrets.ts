/**
 * Secrets benchmark: encrypt + decrypt of 1 KB secrets, ours against a reference in the same run.
 *   ours: convex/lib/secretbox (XChaCha20-Poly1305, base64 record, identity AD; on Node HChaCha20 +
 *   native ChaCha20-Poly1305, on the default runtime @noble/ciphers: convex/lib/crypto/xchacha.ts)
 *
 * 1. Node (Node actions, the embedded runtime). Reference: node:crypto chacha20-poly1305 (12-byte
 *    nonce, same AD, same base64 record shape).
 * 2. Convex's default runtime (queries and mutations; no Node built-ins), in a child process under
 *    scripts/bench/default-runtime.mjs. Reference: Web Crypto AES-256-GCM with a cached CryptoKey
 *    (scripts/bench/secrets-default-runtime.ts), one at a time and with 32 in flight.
 * Both sides do the same surrounding work; a second row compares the bare AEAD primitives.
 * Ratios are the median of interleaved pairs (scripts/bench/pairs.ts).
 *
 * Target: secretbox at most 3× slower than the reference (ours/ref ≥ 0.33) on the full record
 * path, in every asserted row (Node; default runtime one at a time and 32 in flight). The bare
 * primitive rows are reported, not a target. Everything is printed first; a miss exits 1.
 *
 * Usage: npm run bench:secrets   (≈ 15 s)
 */
import { spawnSync } from "node:child_process";
import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { comparePairs, ops, table, type PairResult } from "./bench/pairs";
import { MAX_SLOWDOWN, SECRET_BYTES, aad, key, ours, oursRaw, rawMsg, secret } from "./bench/secrets-common";
import type { SecretsDefaultRuntimeResult } from "./bench/secrets-default-runtime";

const PAIRS = Number(process.env.BENCH_PAIRS ?? 21);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 40);
const IN_FLIGHT = 32;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

function node(): void {
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

function nodeRaw(): void {
  const nonce = nodeRandomBytes(12);
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: rawMsg.length });
  const ct = Buffer.concat([c.update(rawMsg), c.final()]);
  const tag = c.getAuthTag();
  const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: ct.length });
  d.setAuthTag(tag);
  Buffer.concat([d.update(ct), d.final()]);
}

function defaultRuntime(): SecretsDefaultRuntimeResult {
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", "--import", "./scripts/bench/default-runtime.mjs", "scripts/bench/secrets-default-runtime.ts"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_PAIRS: String(PAIRS),
        BENCH_SLICE_MS: String(SLICE_MS),
        BENCH_IN_FLIGHT: String(IN_FLIGHT),
      },
      encoding: "utf8",
    },
  );
  if (child.status !== 0) throw new Error(`default-runtime child failed (${child.status}):\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
}

async function main() {
  ours();
  node();
  const opts = { pairs: PAIRS, sliceMs: SLICE_MS };
  const nodeFull = await comparePairs({ fn: ours }, { fn: node }, opts);
  const nodeBare = await comparePairs({ fn: oursRaw }, { fn: nodeRaw }, opts);
  const dr = defaultRuntime();

  const minRatio = 1 / MAX_SLOWDOWN;
  const rows: Array<[string, string, PairResult, boolean]> = [
    ["Node", "node:crypto chacha20-poly1305, same record work", nodeFull, true],
    ["Node", "bare AEAD: ours (HChaCha20 + native) vs node:crypto chacha20-poly1305", nodeBare, false],
    ["default runtime", "Web Crypto AES-256-GCM, cached key, same record work, 1 at a time", dr.full, true],
    [
      "default runtime",
      `Web Crypto AES-256-GCM, cached key, same record work, ${IN_FLIGHT} in flight`,
      dr.fullInFlight,
      true,
    ],
    ["default runtime", "bare AEAD: noble vs Web Crypto AES-256-GCM, 1 at a time", dr.raw, false],
  ];
  const ratio = (r: PairResult) => `${r.ratio.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  console.log(
    `secrets benchmark: encrypt+decrypt of ${SECRET_BYTES}-byte secrets (node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")})`,
  );
  console.log(
    `${PAIRS} interleaved pairs of ${SLICE_MS} ms slices per row; ratio = median pair (min–max); target ours/ref ≥ ${minRatio.toFixed(2)} (≤ ${MAX_SLOWDOWN}× slower)\n`,
  );
  console.log(
    table(
      ["runtime", "reference", "ours ops/s", "ref ops/s", "ours/ref", "slowdown", "target"],
      rows.map(([rt, name, r, asserted]) => [
        rt,
        name,
        ops(r.ours),
        ops(r.ref),
        ratio(r),
        `${(1 / r.ratio).toFixed(2)}×`,
        asserted ? (r.ratio >= minRatio ? "met" : "MISSED") : "-",
      ]),
      [false, false, true, true, true, true, false],
    ),
  );
  console.log(
    `\nIn flight: ${IN_FLIGHT} reference calls outstanding at once (crypto.subtle runs on Node's thread pool); ours is synchronous.`,
  );
  console.log("The default runtime's crypto.subtle here is Node's; Convex's own implementation may cost more or less.");
  const missed = rows.filter(([, , r, asserted]) => asserted && !(r.ratio >= minRatio));
  if (missed.length) {
    console.log(
      `\nTARGET MISSED: ${missed.map(([rt, name, r]) => `${rt} / ${name}: ${r.ratio.toFixed(2)}`).join("; ")}`,
    );
    process.exit(1);
  }
  console.log(`\ntarget met: ours/ref ≥ ${minRatio.toFixed(2)} in every asserted row`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
