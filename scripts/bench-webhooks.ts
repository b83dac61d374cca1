/**
 * Webhook verification throughput: ours (convex/channels/verify.ts) against each vendor's own
 * library, or a node:crypto implementation where the vendor ships none, in the same run.
 *
 *   npm run bench:webhooks [platform…]     (≈5 s per platform)
 *
 * Every call verifies a valid, realistically sized request; both sides are checked to accept it
 * before timing. Ours and the reference run in alternating slices so machine load hits both alike.
 * Headers are given lower-cased (as Node's HTTP server delivers them) to both sides.
 *
 * "ours" is what the webhook route runs: verifyInboundEager, synchronous except for Discord, and
 * a synchronous reference is called synchronously too. The last column times the Promise contract
 * (`await verifyInbound(...)`) against the same reference, i.e. including one microtask per call.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import querystring from "node:querystring";
import twilio from "twilio";
import { Webhook } from "svix";
import { verifyKey } from "discord-interactions";
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { verifyInbound, verifyInboundEager, type InboundRequest, type WebhookPlatform } from "../convex/channels/verify";
import { hmacSha256, utf8 } from "../convex/lib/webhookCrypto";

const SLICE_MS = 100;
const SLICES = 10; // per side
const WARMUP_MS = 150;

type Fn = () => unknown;

async function timeSlice(fn: Fn, isAsync: boolean, ms: number): Promise<{ n: number; t: number }> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while ((t = performance.now()) - t0 < ms) {
    if (isAsync) for (let i = 0; i < 32; i++) await fn();
    else for (let i = 0; i < 32; i++) fn();
    n += 32;
  }
  return { n, t: t - t0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Back-to-back slice pairs (order alternating), one ratio per pair; the median pair ratio is
 * reported, so a load spike during one slice does not decide the result.
 */
async function compare(ours: Fn, oursAsync: boolean, ref: Fn, refAsync: boolean) {
  await timeSlice(ours, oursAsync, WARMUP_MS);
  await timeSlice(ref, refAsync, WARMUP_MS);
  const a = { n: 0, t: 0 };
  const b = { n: 0, t: 0 };
  const ratios: number[] = [];
  for (let i = 0; i < SLICES; i++) {
    const first = i % 2 === 0;
    const x0 = first ? await timeSlice(ours, oursAsync, SLICE_MS) : undefined;
    const y = await timeSlice(ref, refAsync, SLICE_MS);
    const x = x0 ?? (await timeSlice(ours, oursAsync, SLICE_MS));
    a.n += x.n;
    a.t += x.t;
    b.n += y.n;
    b.t += y.t;
    ratios.push(x.n / x.t / (y.n / y.t));
  }
  return { ours: (a.n / a.t) * 1000, ref: (b.n / b.t) * 1000, ratio: median(ratios) };
}

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
    const body = JSON.stringify({ update_id: 1, message: { message_id: 7, from: { id: 42, first_name: "Ann" }, chat: { id: 42, type: "private" }, date: now, text: jsonPad(250) } });
    const req: InboundRequest = { method: "POST", url: "https://w.example/tg", headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret }, body };
    // Like ours (and every other reference here), it gets the secret as a string per call.
    const ref = () => {
      const expected = Buffer.from(secret);
      const got = Buffer.from(req.headers["x-telegram-bot-api-secret-token"] ?? "");
      return got.length === expected.length && timingSafeEqual(got, expected);
    };
    assert(ref(), "telegram ref");
    cases.push({ platform: "telegram", secret, req, reference: "Buffer + crypto.timingSafeEqual", ref, refAsync: false });
  }

  // Twilio: inbound SMS form post, ~20 params.
  {
    const token = "0123456789abcdef0123456789abcdef";
    const url = "https://w.example/hooks/twilio/sms";
    const params: Record<string, string> = {
      ToCountry: "US", ToState: "CA", SmsMessageSid: "SM" + "a".repeat(32), NumMedia: "0", ToCity: "SAN FRANCISCO",
      FromZip: "94105", SmsSid: "SM" + "a".repeat(32), FromState: "CA", SmsStatus: "received", FromCity: "SAN FRANCISCO",
      Body: "Hello, can you check my order status? " + jsonPad(80), FromCountry: "US", To: "+14155550100", ToZip: "94107",
      NumSegments: "1", MessageSid: "SM" + "a".repeat(32), AccountSid: "AC" + "b".repeat(32), From: "+14155550199", ApiVersion: "2010-04-01",
    };
    const body = querystring.stringify(params);
    const sig = twilio.getExpectedTwilioSignature(token, url, params);
    const req: InboundRequest = { method: "POST", url, headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig }, body };
    const ref = () => twilio.validateRequest(token, req.headers["x-twilio-signature"], url, querystring.parse(req.body));
    assert(ref(), "twilio ref");
    cases.push({ platform: "twilio", secret: token, req, reference: "twilio validateRequest (+ querystring.parse)", ref, refAsync: false });
  }

  // Slack: ~1.2 KB Events API callback.
  {
    const secret = "8f742231b10e8888abcd99yyyzzz85a5";
    const body = JSON.stringify({ token: "x", team_id: "T1", api_app_id: "A1", event: { type: "message", channel: "C1", user: "U1", text: jsonPad(900), ts: `${now}.000100` }, type: "event_callback", event_id: "Ev1", event_time: now });
    const ts = String(now);
    const sig = "v0=" + createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex");
    const req: InboundRequest = { method: "POST", url: "https://w.example/slack", headers: { "content-type": "application/json", "x-slack-request-timestamp": ts, "x-slack-signature": sig }, body };
    const ref = () => {
      const t = req.headers["x-slack-request-timestamp"];
      if (!/^\d+$/.test(t) || Math.abs(Math.floor(Date.now() / 1000) - Number(t)) > 300) return false;
      const expected = Buffer.from("v0=" + createHmac("sha256", secret).update(`v0:${t}:${req.body}`).digest("hex"));
      const got = Buffer.from(req.headers["x-slack-signature"]);
      return got.length === expected.length && timingSafeEqual(got, expected);
    };
    assert(ref(), "slack ref");
    cases.push({ platform: "slack", secret, req, reference: "node:crypto HMAC + timingSafeEqual", ref, refAsync: false });
  }

  // Discord: ~1 KB interaction.
  {
    const priv = new Uint8Array(32).fill(7);
    const pub = hex(await ed.getPublicKeyAsync(priv));
    const body = JSON.stringify({ type: 2, id: "1", application_id: "2", token: jsonPad(150), data: { name: "ask", options: [{ name: "q", value: jsonPad(700) }] } });
    const ts = String(now);
    const sig = hex(await ed.signAsync(new TextEncoder().encode(ts + body), priv));
    const req: InboundRequest = { method: "POST", url: "https://w.example/discord", headers: { "content-type": "application/json", "x-signature-ed25519": sig, "x-signature-timestamp": ts }, body };
    const ref = () => verifyKey(req.body, req.headers["x-signature-ed25519"], req.headers["x-signature-timestamp"], pub);
    assert(await ref(), "discord ref");
    cases.push({ platform: "discord", secret: pub, req, reference: "discord-interactions verifyKey", ref, refAsync: true });
  }

  // Resend via Svix: ~600 B email event.
  {
    const secret = "whsec_" + Buffer.from(new Uint8Array(24).fill(3)).toString("base64");
    const body = JSON.stringify({ type: "email.received", created_at: new Date(now * 1000).toISOString(), data: { from: "a@example.com", to: ["b@w.example"], subject: "Hi", text: jsonPad(400) } });
    const id = "msg_2pDqgL6nZ4dLh0X7sX7f0b3Yk1Q";
    const wh = new Webhook(secret);
    const sig = wh.sign(id, new Date(now * 1000), body);
    const req: InboundRequest = { method: "POST", url: "https://w.example/resend", headers: { "content-type": "application/json", "svix-id": id, "svix-timestamp": String(now), "svix-signature": sig }, body };
    const ref = () => wh.verify(req.body, req.headers);
    assert(ref(), "svix ref");
    cases.push({ platform: "resend", secret, req, reference: "svix Webhook.verify", ref, refAsync: false });
  }
  return cases;
}

async function main() {
  const only = process.argv.slice(2);
  const cases = (await buildCases()).filter((c) => only.length === 0 || only.includes(c.platform));
  // Warm every path first (also the megamorphic sites every platform shares, as in the route).
  for (const c of cases) {
    await timeSlice(() => verifyInboundEager(c.platform, c.req, c.secret), c.platform === "discord", WARMUP_MS);
    await timeSlice(c.ref, c.refAsync, WARMUP_MS);
  }
  const rows: string[][] = [];
  for (const c of cases) {
    const res = await verifyInbound(c.platform, c.req, c.secret);
    assert(res.ok, `ours rejected the ${c.platform} request: ${JSON.stringify(res)}`);
    const eager = verifyInboundEager(c.platform, c.req, c.secret);
    const oursAsync = eager instanceof Promise;
    assert((await eager).ok, `eager path rejected the ${c.platform} request`);
    const r = await compare(() => verifyInboundEager(c.platform, c.req, c.secret), oursAsync, c.ref, c.refAsync);
    const p = await compare(() => verifyInbound(c.platform, c.req, c.secret), true, c.ref, c.refAsync);
    const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
    rows.push([c.platform, `${Buffer.byteLength(c.req.body)} B`, fmt(r.ours), fmt(r.ref), r.ratio.toFixed(2), p.ratio.toFixed(2), c.reference]);
  }
  const head = ["platform", "body", "ours ops/s", "ref ops/s", "ours/ref", "awaited/ref", "reference"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 1 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  console.log(`node ${process.version}, ${SLICES}×${SLICE_MS} ms per side in back-to-back pairs; ratios are the median pair`);
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log("ours/ref: the route's path (verifyInboundEager). awaited/ref: `await verifyInbound(...)` (the Promise contract).");
  console.log("ours: Node's native HMAC reached via process.getBuiltinModule (@noble/hashes in Convex's runtime); Ed25519 via crypto.subtle with a cached key.");
  await engines();
}

/** Why those engines: serial ops/s of each candidate primitive in this process. */
async function engines() {
  const rate = async (fn: Fn, isAsync: boolean) => {
    await timeSlice(fn, isAsync, 50);
    const r = await timeSlice(fn, isAsync, 300);
    return Math.round((r.n / r.t) * 1000).toLocaleString("en-US");
  };
  const msg = utf8("x".repeat(1100));
  const hkeyBytes = utf8("secret");
  const hkey = await crypto.subtle.importKey("raw", hkeyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const priv = new Uint8Array(32).fill(5);
  const pub = await ed.getPublicKeyAsync(priv);
  const sig = (await ed.signAsync(msg, priv)) as Uint8Array<ArrayBuffer>;
  const ekey = await crypto.subtle.importKey("raw", pub as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, ["verify"]);
  const out: Array<[string, string]> = [
    ["HMAC-SHA256 1.1 KB, node:crypto createHmac (ours under Node)", await rate(() => hmacSha256("secret", msg), false)],
    ["HMAC-SHA256 1.1 KB, @noble/hashes (ours in Convex's runtime)", await rate(() => hmac(sha256, hkeyBytes, msg), false)],
    ["HMAC-SHA256 1.1 KB, crypto.subtle.sign (cached key)", await rate(() => crypto.subtle.sign("HMAC", hkey, msg), true)],
    ["Ed25519 verify, crypto.subtle (cached key)", await rate(() => crypto.subtle.verify({ name: "Ed25519" }, ekey, sig, msg), true)],
    ["Ed25519 verify, @noble/ed25519 verifyAsync", await rate(() => ed.verifyAsync(sig, msg, pub), true)],
  ];
  ed.hashes.sha512 = sha512; // this process only
  out.push(["Ed25519 verify, @noble/ed25519 sync + @noble/hashes sha512", await rate(() => ed.verify(sig, msg, pub), false)]);
  console.log("\nengine choice (serial ops/s):");
  const w = Math.max(...out.map(([k]) => k.length));
  for (const [k, v] of out) console.log(`  ${k.padEnd(w)}  ${v.padStart(9)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
