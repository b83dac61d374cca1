/**
 * The default-runtime section of `npm run bench:webhooks`, run as a child process by
 * scripts/bench-webhooks.ts under scripts/bench/default-runtime.mjs (no Node built-ins: no
 * process.getBuiltinModule, no Buffer, node:* imports from repository code throw).
 *
 * Why a child process with the built-ins hidden, rather than calling a "Web path" export:
 * convex/lib/webhookCrypto.ts decides its engine once, at module load (`nativeCrypto`), and the
 * verifiers in convex/channels/verify.ts reach it through the module's public functions. Loading
 * the unchanged modules where Node's crypto cannot be reached runs exactly the code Convex's
 * default runtime runs, and the reference code below is held to the same environment (a stray
 * Node import would throw, not silently use OpenSSL).
 *
 * Input: BENCH_WEBHOOK_CASES (JSON: signed requests built by the parent with the vendors' own
 * libraries). Output: one JSON line (`{"rows":[…],"engines":[…]}`) on stdout.
 */
import { Webhook } from "svix";
import * as ed from "@noble/ed25519";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { verifyInboundEager, type InboundRequest, type WebhookPlatform } from "../../convex/channels/verify";
import { hmacSha1, hmacSha256, nativeCrypto, utf8 } from "../../convex/lib/webhookCrypto";
import { comparePairs, slice, type Op } from "./pairs";

export interface WireCase {
  platform: WebhookPlatform;
  secret: string;
  req: InboundRequest;
}

export interface DefaultRuntimeRow {
  platform: WebhookPlatform;
  bodyBytes: number;
  reference: string;
  serial: Ratio;
  /** Null when the reference is synchronous (nothing to overlap: the same as `serial`). */
  inFlight: Ratio | null;
}

export interface Ratio {
  ours: number;
  ref: number;
  ratio: number;
  min: number;
  max: number;
}

export interface DefaultRuntimeResult {
  rows: DefaultRuntimeRow[];
  /** A/A pairs (one function against itself): the noise floor of this run. */
  controls: Array<{ name: string } & Ratio>;
  engines: Array<[string, number]>;
}

const PAIRS = Number(process.env.BENCH_PAIRS ?? 41);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 20);
/** Verifications outstanding at once in the "in flight" regime (a busy process); set by the parent. */
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);

const enc = new TextEncoder();
const WINDOW_S = 300;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error("bench setup: " + msg);
}

// ---------------------------------------------------------------------------------------------
// References: what a competent developer writes on Convex's default runtime. Web Crypto only,
// one CryptoKey per secret imported once and cached, crypto.subtle.verify (constant time) for
// the MAC comparison, the same timestamp windows as ours.

const hexBytes = (s: string): Uint8Array<ArrayBuffer> | null => {
  if (s.length % 2 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
};

const b64Bytes = (s: string): Uint8Array<ArrayBuffer> | null => {
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
};

function keyCache(importer: (secret: string) => Promise<CryptoKey>) {
  const keys = new Map<string, Promise<CryptoKey>>();
  return (secret: string) => {
    let k = keys.get(secret);
    if (!k) keys.set(secret, (k = importer(secret)));
    return k;
  };
}

const hmacKey = (hash: "SHA-1" | "SHA-256", raw: (s: string) => Uint8Array<ArrayBuffer>) =>
  keyCache((secret) => crypto.subtle.importKey("raw", raw(secret), { name: "HMAC", hash }, false, ["verify"]));

const withinWindow = (ts: string | undefined): boolean =>
  ts !== undefined && /^\d+$/.test(ts) && Math.abs(Math.floor(Date.now() / 1000) - Number(ts)) <= WINDOW_S;

type RefVerify = (req: InboundRequest, secret: string) => boolean | Promise<boolean>;

const references: Record<WebhookPlatform, { name: string; verify: RefVerify }> = {
  telegram: {
    name: "constant-time string compare (no crypto needed)",
    verify: (req, secret) => {
      const got = req.headers["x-telegram-bot-api-secret-token"] ?? "";
      let diff = got.length ^ secret.length;
      for (let i = 0; i < secret.length; i++) diff |= got.charCodeAt(i) ^ secret.charCodeAt(i);
      return diff === 0;
    },
  },
  slack: (() => {
    const key = hmacKey("SHA-256", (s) => enc.encode(s));
    return {
      name: "crypto.subtle.verify HMAC-SHA256, cached key",
      verify: async (req, secret) => {
        const ts = req.headers["x-slack-request-timestamp"];
        const sig = req.headers["x-slack-signature"] ?? "";
        if (!withinWindow(ts) || !sig.startsWith("v0=")) return false;
        const mac = hexBytes(sig.slice(3));
        return mac !== null && crypto.subtle.verify("HMAC", await key(secret), mac, enc.encode(`v0:${ts}:${req.body}`));
      },
    };
  })(),
  twilio: (() => {
    const key = hmacKey("SHA-1", (s) => enc.encode(s));
    return {
      name: "crypto.subtle.verify HMAC-SHA1, cached key; URLSearchParams",
      verify: async (req, authToken) => {
        const mac = b64Bytes(req.headers["x-twilio-signature"] ?? "");
        if (mac === null) return false;
        const params = new Map<string, string[]>();
        for (const [k, v] of new URLSearchParams(req.body)) params.set(k, [...(params.get(k) ?? []), v]);
        let data = req.url;
        for (const k of [...params.keys()].sort()) for (const v of [...new Set(params.get(k))].sort()) data += k + v;
        return crypto.subtle.verify("HMAC", await key(authToken), mac, enc.encode(data));
      },
    };
  })(),
  discord: (() => {
    const key = keyCache((pubHex) =>
      crypto.subtle.importKey("raw", hexBytes(pubHex) as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, [
        "verify",
      ]),
    );
    return {
      name: "crypto.subtle.verify Ed25519, cached key",
      verify: async (req, pubHex) => {
        const ts = req.headers["x-signature-timestamp"];
        const sig = hexBytes(req.headers["x-signature-ed25519"] ?? "");
        if (!withinWindow(ts) || sig === null || sig.length !== 64) return false;
        return crypto.subtle.verify({ name: "Ed25519" }, await key(pubHex), sig, enc.encode(ts + req.body));
      },
    };
  })(),
  resend: (() => {
    const key = hmacKey("SHA-256", (s) => b64Bytes(s.replace(/^whsec_/, "")) as Uint8Array<ArrayBuffer>);
    return {
      name: "crypto.subtle.verify HMAC-SHA256, cached key",
      verify: async (req, secret) => {
        const id = req.headers["svix-id"];
        const ts = req.headers["svix-timestamp"];
        if (!id || !withinWindow(ts)) return false;
        const data = enc.encode(`${id}.${ts}.${req.body}`);
        const k = await key(secret);
        for (const entry of (req.headers["svix-signature"] ?? "").split(" ")) {
          const [version, sig] = entry.split(",");
          const mac = version === "v1" && sig ? b64Bytes(sig) : null;
          if (mac && (await crypto.subtle.verify("HMAC", k, mac, data))) return true;
        }
        return false;
      },
    };
  })(),
};

// ---------------------------------------------------------------------------------------------

async function rate(fn: Op, inFlight: number): Promise<number> {
  await slice(fn, 50, inFlight);
  let best = 0;
  // Best of five short slices: these rows explain the engine choice, they are not the claim.
  for (let i = 0; i < 5; i++) {
    const r = await slice(fn, 60, inFlight);
    best = Math.max(best, (r.n / r.ms) * 1000);
  }
  return best;
}

async function engines(): Promise<Array<[string, number]>> {
  const msg = utf8("x".repeat(1100));
  const msgStr = "x".repeat(1100);
  const k = utf8("8f742231b10e8888abcd99yyyzzz85a5");
  const k256 = await crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const k1 = await crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const priv = new Uint8Array(32).fill(5);
  const pub = await ed.getPublicKeyAsync(priv);
  const sig = (await ed.signAsync(msg, priv)) as Uint8Array<ArrayBuffer>;
  const ek = await crypto.subtle.importKey("raw", pub as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, [
    "verify",
  ]);
  const secret = "8f742231b10e8888abcd99yyyzzz85a5";
  return [
    ["HMAC-SHA256 1.1 KB string, ours (webhookCrypto hmacSha256)", await rate(() => hmacSha256(secret, msgStr), 0)],
    ["HMAC-SHA256 1.1 KB, @noble/hashes hmac (keyed per call)", await rate(() => hmac(sha256, k, msg), 0)],
    [
      "HMAC-SHA256 1.1 KB, crypto.subtle.sign, cached key, one at a time",
      await rate(() => crypto.subtle.sign("HMAC", k256, msg), 1),
    ],
    [
      `HMAC-SHA256 1.1 KB, crypto.subtle.sign, cached key, ${IN_FLIGHT} in flight`,
      await rate(() => crypto.subtle.sign("HMAC", k256, msg), IN_FLIGHT),
    ],
    [
      "HMAC-SHA1 0.6 KB string, ours (webhookCrypto hmacSha1)",
      await rate(() => hmacSha1(secret, msgStr.slice(0, 600)), 0),
    ],
    ["HMAC-SHA1 0.6 KB, @noble/hashes hmac (keyed per call)", await rate(() => hmac(sha1, k, msg.subarray(0, 600)), 0)],
    [
      "HMAC-SHA1 0.6 KB, crypto.subtle.sign, cached key, one at a time",
      await rate(() => crypto.subtle.sign("HMAC", k1, msg.subarray(0, 600)), 1),
    ],
    [
      "Ed25519 verify 1.1 KB, crypto.subtle, cached key, one at a time",
      await rate(() => crypto.subtle.verify({ name: "Ed25519" }, ek, sig, msg), 1),
    ],
    ["Ed25519 verify 1.1 KB, @noble/ed25519 verifyAsync", await rate(() => ed.verifyAsync(sig, msg, pub), 1)],
  ];
}

const pick = (r: Ratio): Ratio => ({ ours: r.ours, ref: r.ref, ratio: r.ratio, min: r.min, max: r.max });

async function main() {
  assert(nativeCrypto === null, "webhookCrypto found Node's crypto: the built-ins are not hidden");
  assert(typeof (globalThis as { Buffer?: unknown }).Buffer === "undefined", "Buffer is still a global");
  const cases = JSON.parse(process.env.BENCH_WEBHOOK_CASES ?? "[]") as WireCase[];
  const rows: DefaultRuntimeRow[] = [];
  for (const c of cases) {
    const ref = references[c.platform];
    const ours = () => verifyInboundEager(c.platform, c.req, c.secret);
    const first = ours();
    const oursAsync = first instanceof Promise;
    assert((await first).ok, `ours rejected the ${c.platform} request`);
    assert(await ref.verify(c.req, c.secret), `the ${c.platform} reference rejected the request`);
    if (c.platform === "resend")
      assert(new Webhook(c.secret).verify(c.req.body, c.req.headers), "svix rejected the request");
    const refFn = () => ref.verify(c.req, c.secret);
    const refAsync = (refFn() as unknown) instanceof Promise;
    // One at a time: the cost one webhook request pays (a Convex HTTP action verifies one request).
    const serial = await comparePairs(
      { fn: ours, inFlight: oursAsync ? 1 : 0 },
      { fn: refFn, inFlight: refAsync ? 1 : 0 },
      { pairs: PAIRS, sliceMs: SLICE_MS },
    );
    // Many at once: throughput when the runtime can overlap the reference's async crypto calls.
    // Ours is synchronous except Discord, so only an async side gets IN_FLIGHT outstanding calls.
    const many = refAsync
      ? await comparePairs(
          { fn: ours, inFlight: oursAsync ? IN_FLIGHT : 0 },
          { fn: refFn, inFlight: IN_FLIGHT },
          { pairs: PAIRS, sliceMs: SLICE_MS },
        )
      : null;
    rows.push({
      platform: c.platform,
      bodyBytes: utf8(c.req.body).length,
      reference: ref.name,
      serial: pick(serial),
      inFlight: many && pick(many),
    });
  }
  const controls: DefaultRuntimeResult["controls"] = [];
  const slack = cases.find((c) => c.platform === "slack");
  if (slack) {
    const ours = () => verifyInboundEager("slack", slack.req, slack.secret);
    const ref = () => references.slack.verify(slack.req, slack.secret);
    const a = await comparePairs(
      { fn: ours },
      { fn: () => verifyInboundEager("slack", slack.req, slack.secret) },
      { pairs: PAIRS, sliceMs: SLICE_MS },
    );
    controls.push({ name: "our Slack verifier vs itself (sync)", ...pick(a) });
    const b = await comparePairs(
      { fn: ref, inFlight: 1 },
      { fn: () => references.slack.verify(slack.req, slack.secret), inFlight: 1 },
      { pairs: PAIRS, sliceMs: SLICE_MS },
    );
    controls.push({ name: "Slack reference vs itself (1 at a time)", ...pick(b) });
  }
  const out: DefaultRuntimeResult = {
    rows,
    controls,
    engines: process.env.BENCH_ENGINES === "0" ? [] : await engines(),
  };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
