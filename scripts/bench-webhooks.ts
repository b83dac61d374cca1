/**
 * Webhook verification throughput: ours (convex/channels/verify.ts) against a reference in the
 * same run, on both runtimes our verifiers run on.
 *
 *   npm run bench:webhooks [platform…]     (≈1 min; exits 1 when a target is missed)
 *
 * 1. Node (the embedded runtime, tests): Node's native HMAC through process.getBuiltinModule.
 *    Reference: each vendor's own library, or node:crypto where the vendor ships none.
 * 2. Convex's default runtime (no Node built-ins): a child process runs the unchanged modules
 *    with the built-ins hidden (scripts/bench/default-runtime.mjs; why a child process:
 *    scripts/bench/webhooks-default-runtime.ts). Reference: what a developer writes there, Web
 *    Crypto with one cached CryptoKey per secret (crypto.subtle.verify), timed one verification
 *    at a time (what one request pays) and with 32 in flight (a busy process overlapping the
 *    async crypto calls). That crypto.subtle is Node's, not Convex's own implementation.
 *
 * Every call verifies a valid, realistically sized request; each side is checked to accept it
 * before timing. Ratios are the median of interleaved pairs (scripts/bench/pairs.ts). Headers are
 * given lower-cased (as Node's HTTP server delivers them) to both sides. "ours" is what the
 * webhook route runs: verifyInboundEager, synchronous except for Discord.
 *
 * Target, for every vendor on both runtimes (the route's path; on the default runtime both one at
 * a time and with 32 in flight): ours at least as fast as the reference, median pair ratio ≥ 1.00.
 * Telegram and Discord: parity, ≥ 0.95. There both sides spend their time in the same primitive
 * (a constant-time string compare; one crypto.subtle Ed25519 verify with a cached key), so the
 * true ratio is 1 plus what the extra checks cost, and the A/A control rows show how far identical
 * code drifts in one run. The awaited column (the Promise contract) is reported, not a target.
 * The whole table is printed first; a miss then exits non-zero.
 */
import { spawnSync } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import querystring from "node:querystring";
import twilio from "twilio";
import { Webhook } from "svix";
import { verifyKey } from "discord-interactions";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  verifyInbound,
  verifyInboundEager,
  type InboundRequest,
  type WebhookPlatform,
} from "../convex/channels/verify";
import { hmacSha256, utf8 } from "../convex/lib/webhookCrypto";
import { comparePairs, ops, slice, table, type Op } from "./bench/pairs";
import type { DefaultRuntimeResult, Ratio, WireCase } from "./bench/webhooks-default-runtime";

const PAIRS = Number(process.env.BENCH_PAIRS ?? 41);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 20);
const TARGET: Record<WebhookPlatform, number> = { telegram: 0.95, discord: 0.95, twilio: 1.0, slack: 1.0, resend: 1.0 };
/** Reference calls outstanding at once in the default runtime's second regime. */
const IN_FLIGHT = 32;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

type Fn = Op;

function assert(cond: unknown, msg: string): void {
  if (!cond) throw new Error("bench setup: " + msg);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const now = Math.floor(Date.now() / 1000);
const jsonPad = (n: number) => "x".repeat(n);

interface Case {
  platform: WebhookPlatform;
  secret: string;
  req: InboundRequest;
  reference: string;
  ref: Fn;
  refAsync: boolean;
}

async function buildCases(): Promise<Case[]> {
  const cases: Case[] = [];

  // Telegram: ~400 B update.
  {
    const secret = "tg_" + "A1b2C3d4".repeat(4);
    const body = JSON.stringify({
      update_id: 1,
      message: {
        message_id: 7,
        from: { id: 42, first_name: "Ann" },
        chat: { id: 42, type: "private" },
        date: now,
        text: jsonPad(250),
      },
    });
    const req: InboundRequest = {
      method: "POST",
      url: "https://w.example/tg",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body,
    };
    // Like ours (and every other reference here), it gets the secret as a string per call.
    const ref = () => {
      const expected = Buffer.from(secret);
      const got = Buffer.from(req.headers["x-telegram-bot-api-secret-token"] ?? "");
      return got.length === expected.length && timingSafeEqual(got, expected);
    };
    assert(ref(), "telegram ref");
    cases.push({
      platform: "telegram",
      secret,
      req,
      reference: "Buffer + crypto.timingSafeEqual",
      ref,
      refAsync: false,
    });
  }

  // Twilio: inbound SMS form post, ~20 params.
  {
    const token = "0123456789abcdef0123456789abcdef";
    const url = "https://w.example/hooks/twilio/sms";
    const params: Record<string, string> = {
      ToCountry: "US",
      ToState: "CA",
      SmsMessageSid: "SM" + "a".repeat(32),
      NumMedia: "0",
      ToCity: "SAN FRANCISCO",
      FromZip: "94105",
      SmsSid: "SM" + "a".repeat(32),
      FromState: "CA",
      SmsStatus: "received",
      FromCity: "SAN FRANCISCO",
      Body: "Hello, can you check my order status? " + jsonPad(80),
      FromCountry: "US",
      To: "+14155550100",
      ToZip: "94107",
      NumSegments: "1",
      MessageSid: "SM" + "a".repeat(32),
      AccountSid: "AC" + "b".repeat(32),
      From: "+14155550199",
      ApiVersion: "2010-04-01",
    };
    const body = querystring.stringify(params);
    const sig = twilio.getExpectedTwilioSignature(token, url, params);
    const req: InboundRequest = {
      method: "POST",
      url,
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig },
      body,
    };
    const ref = () =>
      twilio.validateRequest(token, req.headers["x-twilio-signature"], url, querystring.parse(req.body));
    assert(ref(), "twilio ref");
    cases.push({
      platform: "twilio",
      secret: token,
      req,
      reference: "twilio validateRequest (+ querystring.parse)",
      ref,
      refAsync: false,
    });
  }

  // Slack: ~1.2 KB Events API callback.
  {
    const secret = "8f742231b10e8888abcd99yyyzzz85a5";
    const body = JSON.stringify({
      token: "x",
      team_id: "T1",
      api_app_id: "A1",
      event: { type: "message", channel: "C1", user: "U1", text: jsonPad(900), ts: `${now}.000100` },
      type: "event_callback",
      event_id: "Ev1",
      event_time: now,
    });
    const ts = String(now);
    const sig = "v0=" + createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex");
    const req: InboundRequest = {
      method: "POST",
      url: "https://w.example/slack",
      headers: { "content-type": "application/json", "x-slack-request-timestamp": ts, "x-slack-signature": sig },
      body,
    };
    const ref = () => {
      const t = req.headers["x-slack-request-timestamp"];
      if (!/^\d+$/.test(t) || Math.abs(Math.floor(Date.now() / 1000) - Number(t)) > 300) return false;
      const expected = Buffer.from("v0=" + createHmac("sha256", secret).update(`v0:${t}:${req.body}`).digest("hex"));
      const got = Buffer.from(req.headers["x-slack-signature"]);
      return got.length === expected.length && timingSafeEqual(got, expected);
    };
    assert(ref(), "slack ref");
    cases.push({
      platform: "slack",
      secret,
      req,
      reference: "node:crypto HMAC + timingSafeEqual",
      ref,
      refAsync: false,
    });
  }

  // Discord: ~1 KB interaction.
  {
    const priv = new Uint8Array(32).fill(7);
    const pub = hex(await ed.getPublicKeyAsync(priv));
    const body = JSON.stringify({
      type: 2,
      id: "1",
      application_id: "2",
      token: jsonPad(150),
      data: { name: "ask", options: [{ name: "q", value: jsonPad(700) }] },
    });
    const ts = String(now);
    const sig = hex(await ed.signAsync(new TextEncoder().encode(ts + body), priv));
    const req: InboundRequest = {
      method: "POST",
      url: "https://w.example/discord",
      headers: { "content-type": "application/json", "x-signature-ed25519": sig, "x-signature-timestamp": ts },
      body,
    };
    const ref = () =>
      verifyKey(req.body, req.headers["x-signature-ed25519"], req.headers["x-signature-timestamp"], pub);
    assert(await ref(), "discord ref");
    cases.push({
      platform: "discord",
      secret: pub,
      req,
      reference: "discord-interactions verifyKey",
      ref,
      refAsync: true,
    });
  }

  // Resend via Svix: ~600 B email event.
  {
    const secret = "whsec_" + Buffer.from(new Uint8Array(24).fill(3)).toString("base64");
    const body = JSON.stringify({
      type: "email.received",
      created_at: new Date(now * 1000).toISOString(),
      data: { from: "a@example.com", to: ["b@w.example"], subject: "Hi", text: jsonPad(400) },
    });
    const id = "msg_2pDqgL6nZ4dLh0X7sX7f0b3Yk1Q";
    const wh = new Webhook(secret);
    const sig = wh.sign(id, new Date(now * 1000), body);
    const req: InboundRequest = {
      method: "POST",
      url: "https://w.example/resend",
      headers: {
        "content-type": "application/json",
        "svix-id": id,
        "svix-timestamp": String(now),
        "svix-signature": sig,
      },
      body,
    };
    const ref = () => wh.verify(req.body, req.headers);
    assert(ref(), "svix ref");
    cases.push({ platform: "resend", secret, req, reference: "svix Webhook.verify", ref, refAsync: false });
  }
  return cases;
}

const fmtRatio = (r: { ratio: number; min: number; max: number }) =>
  `${r.ratio.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;

/** Section 2: the same requests in a child process without Node built-ins. */
function defaultRuntime(cases: Case[]): DefaultRuntimeResult {
  const wire: WireCase[] = cases.map((c) => ({ platform: c.platform, secret: c.secret, req: c.req }));
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", "--import", "./scripts/bench/default-runtime.mjs", "scripts/bench/webhooks-default-runtime.ts"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_WEBHOOK_CASES: JSON.stringify(wire),
        BENCH_IN_FLIGHT: String(IN_FLIGHT),
        BENCH_PAIRS: String(PAIRS),
        BENCH_SLICE_MS: String(SLICE_MS),
      },
      encoding: "utf8",
      maxBuffer: 1 << 24,
    },
  );
  if (child.status !== 0) throw new Error(`default-runtime child failed (${child.status}):\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
}

async function main() {
  const only = process.argv.slice(2);
  const cases = (await buildCases()).filter((c) => only.length === 0 || only.includes(c.platform));
  if (process.env.BENCH_WEBHOOKS_DUMP === "1") {
    // The signed requests (valid for 5 minutes), for profiling one path by hand.
    console.log(JSON.stringify(cases.map((c): WireCase => ({ platform: c.platform, secret: c.secret, req: c.req }))));
    return;
  }
  // Warm every path first (also the megamorphic sites every platform shares, as in the route).
  for (const c of cases) {
    await slice(() => verifyInboundEager(c.platform, c.req, c.secret), 150, c.platform === "discord" ? 1 : 0);
    await slice(c.ref, 150, c.refAsync ? 1 : 0);
  }
  const misses: string[] = [];
  const check = (platform: WebhookPlatform, what: string, r: Ratio) => {
    const target = TARGET[platform];
    if (!(r.ratio >= target)) misses.push(`${platform}, ${what}: ${r.ratio.toFixed(2)} < ${target.toFixed(2)}`);
  };

  const nodeRows: string[][] = [];
  for (const c of cases) {
    const res = await verifyInbound(c.platform, c.req, c.secret);
    assert(res.ok, `ours rejected the ${c.platform} request: ${JSON.stringify(res)}`);
    const eager = verifyInboundEager(c.platform, c.req, c.secret);
    const oursAsync = eager instanceof Promise;
    assert((await eager).ok, `eager path rejected the ${c.platform} request`);
    const opts = { pairs: PAIRS, sliceMs: SLICE_MS };
    const refSide = { fn: c.ref, inFlight: c.refAsync ? 1 : 0 };
    const r = await comparePairs(
      { fn: () => verifyInboundEager(c.platform, c.req, c.secret), inFlight: oursAsync ? 1 : 0 },
      refSide,
      opts,
    );
    const p = await comparePairs({ fn: () => verifyInbound(c.platform, c.req, c.secret), inFlight: 1 }, refSide, opts);
    check(c.platform, "Node, ours/ref", r);
    nodeRows.push([
      c.platform,
      `${utf8(c.req.body).length} B`,
      ops(r.ours),
      ops(r.ref),
      fmtRatio(r),
      fmtRatio(p),
      c.reference,
    ]);
  }

  // A/A: our Slack verifier against itself, the noise floor of this section.
  const slack = cases.find((c) => c.platform === "slack");
  const control = slack
    ? await comparePairs(
        { fn: () => verifyInboundEager("slack", slack.req, slack.secret) },
        { fn: () => verifyInboundEager("slack", slack.req, slack.secret) },
        { pairs: PAIRS, sliceMs: SLICE_MS },
      )
    : null;

  const dr = defaultRuntime(cases);
  const drRows = dr.rows.map((row) => {
    check(row.platform, "default runtime, one at a time", row.serial);
    if (row.inFlight) check(row.platform, `default runtime, ${IN_FLIGHT} in flight`, row.inFlight);
    return [
      row.platform,
      `${row.bodyBytes} B`,
      ops(row.serial.ours),
      ops(row.serial.ref),
      fmtRatio(row.serial),
      row.inFlight ? ops(row.inFlight.ref) : "-",
      row.inFlight ? fmtRatio(row.inFlight) : "n/a (sync ref)",
      row.reference,
    ];
  });

  const num = (n: number, from: number, to: number) => Array.from({ length: n }, (_, i) => i >= from && i <= to);
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}; ${PAIRS} interleaved pairs of ${SLICE_MS} ms slices per cell; ratio = median pair (min–max)\n`,
  );
  console.log("1. Node (embedded runtime): Node's native HMAC via process.getBuiltinModule, Ed25519 via crypto.subtle");
  console.log(
    table(
      ["platform", "body", "ours ops/s", "ref ops/s", "ours/ref", "awaited/ref", "reference"],
      nodeRows,
      num(7, 1, 5),
    ),
  );
  console.log(
    "ours/ref: the route's path (verifyInboundEager). awaited/ref: `await verifyInbound(...)` (the Promise contract).",
  );
  if (control) console.log(`A/A control, our Slack verifier vs itself: ${fmtRatio(control)}`);
  console.log("");
  console.log(
    "2. Convex default runtime (child process, Node built-ins hidden): ours = pure JS HMAC, Ed25519 via crypto.subtle",
  );
  console.log(
    table(
      [
        "platform",
        "body",
        "ours ops/s",
        "ref ops/s 1-at-a-time",
        "ours/ref 1-at-a-time",
        `ref ops/s ${IN_FLIGHT} in flight`,
        `ours/ref ${IN_FLIGHT} in flight`,
        "reference",
      ],
      drRows,
      num(8, 1, 6),
    ),
  );
  console.log("1-at-a-time: each verification awaited before the next (the cost one request pays).");
  console.log(
    `${IN_FLIGHT} in flight: ${IN_FLIGHT} reference calls outstanding at once (Node runs crypto.subtle on its thread pool, i.e. on other cores);`,
  );
  console.log(
    "ours is synchronous there (only Discord is async), so its figure is its one-core throughput; the reference's",
  );
  console.log(`figure grows with idle cores (4 thread-pool threads by default).`);
  console.log(
    "The reference's crypto.subtle is Node's; Convex's runtime has its own implementation, whose cost this machine cannot measure.",
  );
  for (const c of dr.controls) console.log(`A/A control, ${c.name}: ${fmtRatio(c)}`);
  console.log("");
  if (dr.engines.length) {
    console.log("engines on the default-runtime path (best of 5 slices, ops/s):");
    const w = Math.max(...dr.engines.map(([k]) => k.length));
    for (const [k, v] of dr.engines) console.log(`  ${k.padEnd(w)}  ${ops(v).padStart(9)}`);
    console.log("");
  }
  await nodeEngines();

  const targets = "ours/ref ≥ 1.00 (Telegram, Discord: parity, ≥ 0.95) for every vendor and asserted column";
  if (misses.length) {
    console.log(`\nTARGET MISSED (${targets}):`);
    for (const m of misses) console.log(`  ${m}`);
    process.exit(1);
  }
  console.log(`\ntarget met: ${targets}`);
}

/** Why those engines under Node: serial ops/s of each candidate primitive in this process. */
async function nodeEngines() {
  const rate = async (fn: Fn, inFlight: number) => {
    await slice(fn, 50, inFlight);
    let best = 0;
    for (let i = 0; i < 5; i++) {
      const r = await slice(fn, 60, inFlight);
      best = Math.max(best, (r.n / r.ms) * 1000);
    }
    return ops(best);
  };
  const msg = utf8("x".repeat(1100));
  const priv = new Uint8Array(32).fill(5);
  const pub = await ed.getPublicKeyAsync(priv);
  const sig = (await ed.signAsync(msg, priv)) as Uint8Array<ArrayBuffer>;
  const ekey = await crypto.subtle.importKey("raw", pub as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, [
    "verify",
  ]);
  const out: Array<[string, string]> = [
    [
      "HMAC-SHA256 1.1 KB, node:crypto, cached KeyObject (ours under Node)",
      await rate(() => hmacSha256("secret", msg), 0),
    ],
    [
      "HMAC-SHA256 1.1 KB, node:crypto createHmac with the secret string",
      await rate(() => createHmac("sha256", "secret").update(msg).digest(), 0),
    ],
    [
      "Ed25519 verify, crypto.subtle (cached key)",
      await rate(() => crypto.subtle.verify({ name: "Ed25519" }, ekey, sig, msg), 1),
    ],
    ["Ed25519 verify, @noble/ed25519 verifyAsync", await rate(() => ed.verifyAsync(sig, msg, pub), 1)],
  ];
  ed.hashes.sha512 = sha512; // this process only
  out.push([
    "Ed25519 verify, @noble/ed25519 sync + @noble/hashes sha512",
    await rate(() => ed.verify(sig, msg, pub), 0),
  ]);
  console.log("engines under Node (best of 5 slices, ops/s):");
  const w = Math.max(...out.map(([k]) => k.length));
  for (const [k, v] of out) console.log(`  ${k.padEnd(w)}  ${v.padStart(9)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
