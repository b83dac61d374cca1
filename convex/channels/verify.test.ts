// Runs in the default edge-runtime environment (closest to Convex's runtime); the vendor
// libraries used as references are loaded by Node as usual.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHmac, timingSafeEqual } from "node:crypto";
import querystring from "node:querystring";
import twilio from "twilio";
import { Webhook } from "svix";
import { verifyKey } from "discord-interactions";
import * as ed from "@noble/ed25519";
import vectors from "../../tests/fixtures/webhooks/vectors.json";
import {
  verifyInbound,
  verifyInboundEager,
  WEBHOOK_PLATFORMS,
  type InboundRequest,
  type WebhookPlatform,
} from "./verify";

const INVALID = "WEBHOOK_SIGNATURE_INVALID";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const nowS = () => Math.floor(Date.now() / 1000);

function req(headers: Record<string, string>, body = "", url = "https://warden.example/hooks/x"): InboundRequest {
  return { method: "POST", url, headers, body };
}

async function reason(p: WebhookPlatform, r: InboundRequest, secret: string, now?: number) {
  const res = await verifyInbound(p, r, secret, now);
  // The route's eager entry point must agree exactly, and settle synchronously except for Discord.
  const eager = verifyInboundEager(p, r, secret, now);
  const reachedSignature = res.ok || res.reason === "signature_mismatch";
  expect(eager instanceof Promise).toBe(p === "discord" && reachedSignature);
  expect(await eager).toEqual(res);
  if (res.ok) return "ok";
  expect(res.code).toBe(INVALID);
  return res.reason;
}

// ---------------------------------------------------------------------------------------------
describe("verifyInbound: fail closed", () => {
  it("rejects an unknown platform, an empty secret and malformed requests without throwing", async () => {
    const good = req({ "x-telegram-bot-api-secret-token": "s3cret" });
    expect(await verifyInbound("telegram", good, "s3cret")).toEqual({ ok: true });
    expect(await verifyInbound("whatsapp" as WebhookPlatform, good, "s3cret")).toMatchObject({
      ok: false,
      code: INVALID,
      reason: "unknown_platform",
    });
    for (const p of WEBHOOK_PLATFORMS) {
      expect(await verifyInbound(p, good, "")).toMatchObject({ ok: false, code: INVALID, reason: "missing_secret" });
      expect(await verifyInbound(p, good, undefined as unknown as string)).toMatchObject({ ok: false, code: INVALID });
      expect(await verifyInbound(p, null as unknown as InboundRequest, "x")).toMatchObject({
        ok: false,
        code: INVALID,
      });
      expect(await verifyInbound(p, { ...good, headers: undefined } as unknown as InboundRequest, "x")).toMatchObject({
        ok: false,
        code: INVALID,
      });
      expect(await verifyInbound(p, { ...good, body: 5 } as unknown as InboundRequest, "x")).toMatchObject({
        ok: false,
        code: INVALID,
      });
      expect(await verifyInbound(p, good, "x", NaN)).toMatchObject({ ok: false, code: INVALID });
    }
  });

  it("reads own header properties only (an inherited header is absent)", async () => {
    const inherited = Object.create({ "x-telegram-bot-api-secret-token": "s3cret" }) as Record<string, string>;
    expect(await verifyInbound("telegram", req(inherited), "s3cret")).toMatchObject({
      ok: false,
      reason: "missing_header",
    });
    expect(await reason("telegram", req({ "X-Telegram-Bot-Api-Secret-Token": "s3cret" }), "s3cret")).toBe("ok");
    expect(
      await reason(
        "telegram",
        req({ "X-Telegram-Bot-Api-Secret-Token": "s3cret", "x-telegram-bot-api-secret-token": "s3cret" }),
        "s3cret",
      ),
    ).toBe("duplicate_header");
  });

  it("never throws and never accepts arbitrary junk", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...WEBHOOK_PLATFORMS, "nope"),
        fc.anything(),
        fc.string(),
        fc.option(fc.double(), { nil: undefined }),
        async (p, r, secret, now) => {
          const res = await verifyInbound(p as WebhookPlatform, r as InboundRequest, secret, now);
          expect(res.ok).toBe(false);
          expect(await verifyInboundEager(p as WebhookPlatform, r as InboundRequest, secret, now)).toEqual(res);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a signature header given twice under different spellings", async () => {
    const v = vectors.slack;
    const r = req(
      { "X-Slack-Request-Timestamp": v.timestamp, "X-Slack-Signature": v.signature, "x-slack-signature": v.signature },
      v.body,
    );
    expect(await reason("slack", r, v.secret, Number(v.timestamp))).toBe("duplicate_header");
    const t = req({ "X-Telegram-Bot-Api-Secret-Token": "a", "x-telegram-bot-api-secret-token": "a" });
    expect(await reason("telegram", t, "a")).toBe("duplicate_header");
  });
});

// ---------------------------------------------------------------------------------------------
describe("telegram", () => {
  const SECRET = "tg_Secret-Token_0123456789abcdef";
  const tg = (token: string, name = "X-Telegram-Bot-Api-Secret-Token") => req({ [name]: token }, '{"update_id":1}');

  it("accepts the configured secret token under any header case", async () => {
    for (const name of [
      "X-Telegram-Bot-Api-Secret-Token",
      "x-telegram-bot-api-secret-token",
      "X-TELEGRAM-BOT-API-SECRET-TOKEN",
    ]) {
      expect(await reason("telegram", tg(SECRET, name), SECRET)).toBe("ok");
    }
  });

  it("rejects wrong, truncated, extended, empty and missing tokens", async () => {
    expect(await reason("telegram", tg("wrong"), SECRET)).toBe("signature_mismatch");
    expect(await reason("telegram", tg(SECRET.slice(0, -1)), SECRET)).toBe("signature_mismatch");
    expect(await reason("telegram", tg(SECRET + "x"), SECRET)).toBe("signature_mismatch");
    expect(await reason("telegram", tg(SECRET.slice(0, -1) + "X"), SECRET)).toBe("signature_mismatch");
    expect(await reason("telegram", tg(""), SECRET)).toBe("signature_mismatch");
    expect(await reason("telegram", req({ "content-type": "application/json" }), SECRET)).toBe("missing_header");
    expect(await reason("telegram", tg(SECRET), "other-secret")).toBe("signature_mismatch");
  });

  it("agrees with === and timingSafeEqual on random tokens", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 64, unit: "grapheme" }),
        fc.string({ maxLength: 64, unit: "grapheme" }),
        fc.boolean(),
        async (secret, other, same) => {
          const token = same ? secret : other;
          const a = Buffer.from(token);
          const b = Buffer.from(secret);
          const ref = a.length === b.length && timingSafeEqual(a, b);
          const res = await verifyInbound("telegram", tg(token), secret);
          expect(res.ok).toBe(token === secret);
          expect(res.ok).toBe(ref);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe("slack", () => {
  const V = vectors.slack;
  const T = Number(V.timestamp);
  const sr = (h: Record<string, string>, body = V.body) => req(h, body);
  const std = (sig = V.signature, ts = V.timestamp) => ({ "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig });
  const sign = (secret: string, ts: string, body: string) =>
    "v0=" + createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex");

  it("accepts Slack's documented example at its timestamp, and only then", async () => {
    expect(await reason("slack", sr(std()), V.secret, T)).toBe("ok");
    // nowSeconds defaults to the real clock, where the 2018 example is stale.
    expect(await reason("slack", sr(std()), V.secret)).toBe("stale_timestamp");
  });

  it("header names in any case", async () => {
    expect(
      await reason(
        "slack",
        sr({ "x-slack-request-timestamp": V.timestamp, "x-slack-signature": V.signature }),
        V.secret,
        T,
      ),
    ).toBe("ok");
    expect(
      await reason(
        "slack",
        sr({ "X-SLACK-REQUEST-TIMESTAMP": V.timestamp, "X-SLACK-SIGNATURE": V.signature }),
        V.secret,
        T,
      ),
    ).toBe("ok");
  });

  it("rejects a tampered body, a wrong secret, a changed timestamp", async () => {
    expect(await reason("slack", sr(std(), V.body + "&x=1"), V.secret, T)).toBe("signature_mismatch");
    expect(await reason("slack", sr(std(), V.body.replace("roadrunner", "roadrunnes")), V.secret, T)).toBe(
      "signature_mismatch",
    );
    expect(await reason("slack", sr(std()), V.secret + "0", T)).toBe("signature_mismatch");
    expect(await reason("slack", sr(std(V.signature, String(T + 1))), V.secret, T)).toBe("signature_mismatch");
  });

  it("rejects missing and malformed headers", async () => {
    expect(await reason("slack", sr({ "X-Slack-Signature": V.signature }), V.secret, T)).toBe("missing_header");
    expect(await reason("slack", sr({ "X-Slack-Request-Timestamp": V.timestamp }), V.secret, T)).toBe("missing_header");
    const hexPart = V.signature.slice(3);
    for (const bad of [
      hexPart,
      "v1=" + hexPart,
      "v0:" + hexPart,
      "v0=" + hexPart.toUpperCase(),
      "v0=" + hexPart.slice(2),
      "v0=" + hexPart + "00",
      "v0=" + "g" + hexPart.slice(1),
      "v0=",
      "",
    ]) {
      expect(await reason("slack", sr(std(bad)), V.secret, T)).toBe("malformed_header");
    }
    for (const ts of ["abc", "", "1531420618.0", "-1531420618", " 1531420618", "0x5B4764CA", "1e9"]) {
      expect(await reason("slack", sr(std(sign(V.secret, ts, V.body), ts)), V.secret, T)).toBe("bad_timestamp");
    }
  });

  it("5-minute window both ways, boundaries included", async () => {
    expect(await reason("slack", sr(std()), V.secret, T + 300)).toBe("ok");
    expect(await reason("slack", sr(std()), V.secret, T + 301)).toBe("stale_timestamp");
    expect(await reason("slack", sr(std()), V.secret, T - 300)).toBe("ok");
    expect(await reason("slack", sr(std()), V.secret, T - 301)).toBe("future_timestamp");
    const now = nowS();
    const fresh = String(now);
    expect(await reason("slack", sr(std(sign("k", fresh, "b"), fresh), "b"), "k")).toBe("ok");
  });

  it("agrees with a node:crypto implementation of the documented scheme", async () => {
    const reference = (secret: string, r: InboundRequest, now: number) => {
      const ts = r.headers["X-Slack-Request-Timestamp"];
      if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > 300) return false;
      const a = Buffer.from(r.headers["X-Slack-Signature"]);
      const b = Buffer.from(sign(secret, ts, r.body));
      return a.length === b.length && timingSafeEqual(a, b);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, unit: "grapheme" }),
        fc.string({ unit: "grapheme", maxLength: 2000 }),
        fc.integer({ min: -700, max: 700 }),
        fc.constantFrom("valid", "body", "secret", "sig"),
        fc.string({ unit: "grapheme" }),
        async (secret, body, offset, mutation, other) => {
          const now = 1_700_000_000;
          const ts = String(now + offset);
          const sig = mutation === "sig" ? sign(secret + "x", ts, body) : sign(secret, ts, body);
          const r = req(
            { "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig },
            mutation === "body" ? body + other + "!" : body,
          );
          const useSecret = mutation === "secret" ? secret + other + "?" : secret;
          const ours = (await verifyInbound("slack", r, useSecret, now)).ok;
          expect(ours).toBe(reference(useSecret, r, now));
          expect(ours).toBe(mutation === "valid" && Math.abs(offset) <= 300);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe("twilio", () => {
  const V = vectors.twilio;
  const FORM = "application/x-www-form-urlencoded";
  const tw = (sig: string, body = V.body, url = V.url, extra: Record<string, string> = {}) =>
    req({ "X-Twilio-Signature": sig, "Content-Type": FORM, ...extra }, body, url);

  it("accepts Twilio's documented example (and twilio-node agrees)", async () => {
    expect(twilio.validateRequest(V.authToken, V.signature, V.url, querystring.parse(V.body))).toBe(true);
    expect(await reason("twilio", tw(V.signature), V.authToken)).toBe("ok");
    const lower = req({ "x-twilio-signature": V.signature, "content-type": FORM + "; charset=utf-8" }, V.body, V.url);
    expect(await reason("twilio", lower, V.authToken)).toBe("ok");
    // Twilio has no timestamp: nowSeconds does not matter.
    expect(await reason("twilio", tw(V.signature), V.authToken, 0)).toBe("ok");
  });

  it("rejects tampered, added or removed params, another URL and a wrong token", async () => {
    expect(await reason("twilio", tw(V.signature, V.body.replace("Digits=1234", "Digits=1235")), V.authToken)).toBe(
      "signature_mismatch",
    );
    expect(await reason("twilio", tw(V.signature, V.body + "&Body=hi"), V.authToken)).toBe("signature_mismatch");
    expect(await reason("twilio", tw(V.signature, V.body.replace("&Digits=1234", "")), V.authToken)).toBe(
      "signature_mismatch",
    );
    expect(await reason("twilio", tw(V.signature, V.body, V.url.replace("foo=1", "foo=2")), V.authToken)).toBe(
      "signature_mismatch",
    );
    expect(await reason("twilio", tw(V.signature, V.body, V.url.replace("https:", "http:")), V.authToken)).toBe(
      "signature_mismatch",
    );
    expect(await reason("twilio", tw(V.signature), "12346")).toBe("signature_mismatch");
  });

  it("rejects missing and malformed signatures, and bodies the signature would not cover", async () => {
    expect(await reason("twilio", req({ "Content-Type": FORM }, V.body, V.url), V.authToken)).toBe("missing_header");
    for (const bad of [
      "",
      "GvWf1cFY/Q7PnoempGyD5oXAezc",
      "GvWf1cFY/Q7PnoempGyD5oXAezd=",
      "GvWf1cFY-Q7PnoempGyD5oXAezc=",
      V.signature + "=",
      "!" + V.signature.slice(1),
    ]) {
      expect(await reason("twilio", tw(bad), V.authToken)).toBe("malformed_header");
    }
    const json = req({ "X-Twilio-Signature": V.signature, "Content-Type": "application/json" }, V.body, V.url);
    expect(await reason("twilio", json, V.authToken)).toBe("unsigned_body");
    const noCt = req({ "X-Twilio-Signature": V.signature }, V.body, V.url);
    expect(await reason("twilio", noCt, V.authToken)).toBe("unsigned_body");
  });

  it("port quirk: a signature over the URL with or without the default port is accepted, as twilio-node does", async () => {
    const cases: Array<[string, string]> = [
      ["https://mycompany.com:443/myapp.php?foo=1&bar=2", V.url],
      [V.url, "https://mycompany.com:443/myapp.php?foo=1&bar=2"],
      ["http://mycompany.com/a?x=1", "http://mycompany.com:80/a?x=1"],
      ["http://mycompany.com:80/a?x=1", "http://mycompany.com/a?x=1"],
    ];
    for (const [signedUrl, requestUrl] of cases) {
      const sig = twilio.getExpectedTwilioSignature(V.authToken, signedUrl, V.params);
      expect(twilio.validateRequest(V.authToken, sig, requestUrl, V.params)).toBe(true);
      expect(await reason("twilio", tw(sig, V.body, requestUrl), V.authToken)).toBe("ok");
    }
    // A non-default port is not interchangeable.
    const sig = twilio.getExpectedTwilioSignature(
      V.authToken,
      "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
      V.params,
    );
    expect(twilio.validateRequest(V.authToken, sig, V.url, V.params)).toBe(false);
    expect(await reason("twilio", tw(sig), V.authToken)).toBe("signature_mismatch");
  });

  it("repeated keys: sorted, de-duplicated values, as twilio-node", async () => {
    const params = { To: "+1", MediaUrl: ["b", "a", "b"] };
    const sig = twilio.getExpectedTwilioSignature(V.authToken, V.url, params);
    expect(await reason("twilio", tw(sig, "To=%2B1&MediaUrl=b&MediaUrl=a&MediaUrl=b"), V.authToken)).toBe("ok");
    expect(await reason("twilio", tw(sig, "MediaUrl=a&To=%2B1&MediaUrl=b"), V.authToken)).toBe("ok");
    expect(await reason("twilio", tw(sig, "To=%2B1&MediaUrl=b&MediaUrl=c"), V.authToken)).toBe("signature_mismatch");
  });

  it("JSON bodies: bodySHA256 in the URL must match the body", async () => {
    const J = vectors.twilioJson;
    const jr = (body: string, url = J.url, sig = J.signature) =>
      req({ "X-Twilio-Signature": sig, "Content-Type": "application/json" }, body, url);
    expect(twilio.validateRequestWithBody(J.authToken, J.signature, J.url, J.body)).toBe(true);
    expect(await reason("twilio", jr(J.body), J.authToken)).toBe("ok");
    expect(await reason("twilio", jr(J.body.replace("hi", "ho")), J.authToken)).toBe("body_hash_mismatch");
    expect(await reason("twilio", jr(J.body, J.url.replace("bodySHA256=4", "bodySHA256=5")), J.authToken)).toBe(
      "signature_mismatch",
    );
    expect(await reason("twilio", jr(J.body), "nope")).toBe("signature_mismatch");
    // Re-signing the URL with another body's hash still fails on the body.
    const otherUrl = "https://example.com/twilio/json?bodySHA256=" + twilio.getExpectedBodyHash("{}");
    const otherSig = twilio.getExpectedTwilioSignature(J.authToken, otherUrl, {});
    expect(await reason("twilio", jr(J.body, otherUrl, otherSig), J.authToken)).toBe("body_hash_mismatch");
  });

  // URL pieces that exercise twilio-node's normalization fallbacks (quotes, spaces, unicode, %).
  const urlChar = fc.constantFrom(..."aZ09-_.~'\"!*() <>[]{}|^`é€😀%+=&;,:@$/?#".split(""), "%41", "%e2%82%ac", "%zz");
  const urlPiece = fc.array(urlChar, { maxLength: 12 }).map((a) => a.join(""));
  const arbUrl = fc
    .record({
      scheme: fc.constantFrom("https://", "http://", "HTTPS://"),
      host: fc.constantFrom("example.com", "Example.COM", "user:pw@example.com", "[::1]", "127.0.0.1"),
      port: fc.constantFrom("", ":443", ":80", ":8080"),
      path: urlPiece,
      query: fc.option(urlPiece, { nil: undefined }),
    })
    .map(
      ({ scheme, host, port, path, query }) =>
        `${scheme}${host}${port}/${path}${query === undefined ? "" : "?" + query}`,
    );
  const legacy = (u: string) => {
    const q = u.indexOf("?");
    if (q === -1 || q === u.length - 1) return u;
    return u.slice(0, q) + "?" + querystring.stringify(querystring.parse(u.slice(q + 1)));
  };
  const stripPort = (u: string) => u.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*?)(:\d+)(?=[/?#]|$)/i, "$1");
  const signedVariant = (u: string, how: number): string => {
    try {
      const n = new URL(u).toString();
      return [u, stripPort(u), n, stripPort(n), legacy(n), legacy(stripPort(n)), u + "x"][how];
    } catch {
      return [u, stripPort(u), u + "x"][how % 3];
    }
  };
  const arbParams = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 8, unit: "grapheme" }),
    fc.oneof(
      fc.string({ maxLength: 10, unit: "grapheme" }),
      fc.array(fc.string({ maxLength: 5, unit: "grapheme" }), { minLength: 1, maxLength: 3 }),
    ),
    { maxKeys: 6 },
  );
  const lib = (fn: () => boolean) => {
    try {
      return fn();
    } catch {
      return false;
    }
  };

  it("agrees with twilio.validateRequest on random URLs, params and signed-URL variants", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbUrl,
        arbParams,
        fc.integer({ min: 0, max: 6 }),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (url, params, how, token, tamper) => {
          const body = querystring.stringify(params);
          const sig = twilio.getExpectedTwilioSignature(token, signedVariant(url, how), params);
          const sentBody = tamper ? body + "&Extra=1" : body;
          const expected = lib(() => twilio.validateRequest(token, sig, url, querystring.parse(sentBody)));
          const ours = await verifyInbound("twilio", tw(sig, sentBody, url), token);
          expect(ours.ok).toBe(expected);
          if (how === 0 && !tamper) expect(ours.ok).toBe(true);
          if (tamper) expect(ours.ok).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("agrees with twilio.validateRequestWithBody on random JSON bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.string({ unit: "grapheme", maxLength: 20 }),
        fc.constantFrom("same", "other-body", "other-token"),
        async (body, other, mode) => {
          const hashed = mode === "other-body" ? body + other + "." : body;
          const url = "https://example.com/tw?x=1&bodySHA256=" + twilio.getExpectedBodyHash(hashed);
          const sig = twilio.getExpectedTwilioSignature(mode === "other-token" ? "t2" : "t1", url, {});
          const expected = twilio.validateRequestWithBody("t1", sig, url, body);
          const ours = await verifyInbound(
            "twilio",
            req({ "X-Twilio-Signature": sig, "Content-Type": "application/json" }, body, url),
            "t1",
          );
          expect(ours.ok).toBe(expected);
          expect(ours.ok).toBe(mode === "same");
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe("discord", () => {
  const V = vectors.discord;
  const T = Number(V.timestamp);
  const dr = (
    sig = V.signature,
    ts = V.timestamp,
    body = V.body,
    names = ["X-Signature-Ed25519", "X-Signature-Timestamp"],
  ) => req({ [names[0]]: sig, [names[1]]: ts }, body);
  const signHex = async (priv: Uint8Array, ts: string, body: string) =>
    hex(await ed.signAsync(new TextEncoder().encode(ts + body), priv));
  const PRIV = Buffer.from(V.privateKey, "hex");

  it("accepts the fixed RFC 8032 TEST 1 key vector (discord-interactions agrees)", async () => {
    expect(await verifyKey(V.body, V.signature, V.timestamp, V.publicKey)).toBe(true);
    expect(await reason("discord", dr(), V.publicKey, T)).toBe("ok");
    expect(await reason("discord", dr(), V.publicKey.toUpperCase(), T)).toBe("ok");
    expect(await reason("discord", dr(V.signature.toUpperCase()), V.publicKey, T)).toBe("ok");
    for (const names of [
      ["x-signature-ed25519", "x-signature-timestamp"],
      ["X-SIGNATURE-ED25519", "X-SIGNATURE-TIMESTAMP"],
    ]) {
      expect(await reason("discord", dr(V.signature, V.timestamp, V.body, names), V.publicKey, T)).toBe("ok");
    }
  });

  it("rejects a tampered body or timestamp, another key, a flipped signature bit", async () => {
    expect(await reason("discord", dr(V.signature, V.timestamp, '{"type":2}'), V.publicKey, T)).toBe(
      "signature_mismatch",
    );
    expect(await reason("discord", dr(V.signature, String(T + 1)), V.publicKey, T)).toBe("signature_mismatch");
    const otherPub = hex(await ed.getPublicKeyAsync(new Uint8Array(32).fill(9)));
    expect(await reason("discord", dr(), otherPub, T)).toBe("signature_mismatch");
    const flipped = (parseInt(V.signature[0], 16) ^ 1).toString(16) + V.signature.slice(1);
    expect(await reason("discord", dr(flipped), V.publicKey, T)).toBe("signature_mismatch");
  });

  it("rejects bad keys, missing and malformed headers", async () => {
    for (const bad of [
      "zz" + V.publicKey.slice(2),
      V.publicKey.slice(2),
      V.publicKey + "00",
      " " + V.publicKey.slice(1),
    ]) {
      expect(await reason("discord", dr(), bad, T)).toBe("bad_secret");
    }
    expect(await reason("discord", req({ "X-Signature-Timestamp": V.timestamp }, V.body), V.publicKey, T)).toBe(
      "missing_header",
    );
    expect(await reason("discord", req({ "X-Signature-Ed25519": V.signature }, V.body), V.publicKey, T)).toBe(
      "missing_header",
    );
    for (const bad of [
      V.signature.slice(1),
      V.signature + "0",
      "g" + V.signature.slice(1),
      "",
      "0x" + V.signature.slice(2),
    ]) {
      expect(await reason("discord", dr(bad), V.publicKey, T)).toBe("malformed_header");
    }
    for (const ts of ["", "abc", "1700000000.5", "-5"]) {
      expect(await reason("discord", dr(await signHex(PRIV, ts, V.body), ts), V.publicKey, T)).toBe("bad_timestamp");
    }
  });

  it("refuses timestamps more than 5 minutes off (our addition; Discord documents none)", async () => {
    expect(await reason("discord", dr(), V.publicKey)).toBe("stale_timestamp");
    expect(await reason("discord", dr(), V.publicKey, T + 300)).toBe("ok");
    expect(await reason("discord", dr(), V.publicKey, T + 301)).toBe("stale_timestamp");
    expect(await reason("discord", dr(), V.publicKey, T - 300)).toBe("ok");
    expect(await reason("discord", dr(), V.publicKey, T - 301)).toBe("future_timestamp");
  });

  it("agrees with discord-interactions verifyKey on random keys and bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.string({ unit: "grapheme", maxLength: 500 }),
        fc.constantFrom("valid", "body", "sig", "key"),
        async (priv, body, mutation) => {
          const ts = String(nowS());
          const pub = hex(await ed.getPublicKeyAsync(priv));
          let sig = await signHex(priv, ts, body);
          if (mutation === "sig")
            sig = sig.slice(0, 10) + ((parseInt(sig[10], 16) + 1) % 16).toString(16) + sig.slice(11);
          const key = mutation === "key" ? hex(await ed.getPublicKeyAsync(priv.map((b) => b ^ 0xff))) : pub;
          const sentBody = mutation === "body" ? body + " " : body;
          const expected = await verifyKey(sentBody, sig, ts, key);
          const ours = await verifyInbound(
            "discord",
            req({ "X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts }, sentBody),
            key,
            Number(ts),
          );
          expect(ours.ok).toBe(expected);
          expect(ours.ok).toBe(mutation === "valid");
        },
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe("resend (svix)", () => {
  const V = vectors.resend;
  const T = Number(V.timestamp);
  const sv = (sig = V.signature, ts = V.timestamp, id = V.id, body = V.body, prefix = "svix") =>
    req({ [`${prefix}-id`]: id, [`${prefix}-timestamp`]: ts, [`${prefix}-signature`]: sig }, body);

  it("accepts the published Svix / Standard Webhooks vector (svix agrees)", async () => {
    expect(new Webhook(V.secret).sign(V.id, new Date(T * 1000), V.body)).toBe(V.signature);
    expect(await reason("resend", sv(), V.secret, T)).toBe("ok");
    expect(await reason("resend", sv(), V.secret.slice("whsec_".length), T)).toBe("ok");
    expect(await reason("resend", sv(), V.secret)).toBe("stale_timestamp");
  });

  it("header names in any case; webhook-* names as svix accepts them", async () => {
    expect(
      await reason(
        "resend",
        req({ "Svix-Id": V.id, "SVIX-TIMESTAMP": V.timestamp, "Svix-Signature": V.signature }, V.body),
        V.secret,
        T,
      ),
    ).toBe("ok");
    expect(await reason("resend", sv(V.signature, V.timestamp, V.id, V.body, "webhook"), V.secret, T)).toBe("ok");
    expect(await reason("resend", sv(V.signature, V.timestamp, V.id, V.body, "Webhook"), V.secret, T)).toBe("ok");
  });

  it("accepts if any v1 signature matches; ignores other versions", async () => {
    const good = V.signature.slice(3);
    expect(await reason("resend", sv(`v1,${"A".repeat(43)}= ${V.signature}`), V.secret, T)).toBe("ok");
    expect(await reason("resend", sv(`v1a,${good} v2,${good}`), V.secret, T)).toBe("signature_mismatch");
    expect(await reason("resend", sv(`v1,${good},extra`), V.secret, T)).toBe("ok"); // svix reads the 2nd field only
  });

  it("rejects a tampered body, id or timestamp, and a wrong secret", async () => {
    expect(await reason("resend", sv(V.signature, V.timestamp, V.id, '{"test": 2432232315}'), V.secret, T)).toBe(
      "signature_mismatch",
    );
    expect(await reason("resend", sv(V.signature, V.timestamp, "msg_other"), V.secret, T)).toBe("signature_mismatch");
    expect(await reason("resend", sv(V.signature, String(T + 1)), V.secret, T)).toBe("signature_mismatch");
    expect(await reason("resend", sv(), "whsec_" + Buffer.from("another-secret-key").toString("base64"), T)).toBe(
      "signature_mismatch",
    );
  });

  it("rejects bad secrets, missing and malformed headers", async () => {
    for (const bad of ["whsec_", "whsec_!!!!", "whsec_abc=d", "whsec_a===", "x"]) {
      expect(await reason("resend", sv(), bad, T)).toBe("bad_secret");
    }
    expect(
      await reason(
        "resend",
        req({ "svix-timestamp": V.timestamp, "svix-signature": V.signature }, V.body),
        V.secret,
        T,
      ),
    ).toBe("missing_header");
    expect(await reason("resend", req({ "svix-id": V.id, "svix-signature": V.signature }, V.body), V.secret, T)).toBe(
      "missing_header",
    );
    expect(await reason("resend", req({ "svix-id": V.id, "svix-timestamp": V.timestamp }, V.body), V.secret, T)).toBe(
      "missing_header",
    );
    expect(await reason("resend", sv(V.signature, V.timestamp, ""), V.secret, T)).toBe("missing_header");
    for (const bad of [
      "v1",
      "v1,",
      "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
      "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
    ]) {
      expect(await reason("resend", sv(bad), V.secret, T)).toBe("signature_mismatch");
    }
    expect(await reason("resend", sv(V.signature, "soon"), V.secret, T)).toBe("bad_timestamp");
  });

  it("5-minute window both ways, boundaries included", async () => {
    expect(await reason("resend", sv(), V.secret, T + 300)).toBe("ok");
    expect(await reason("resend", sv(), V.secret, T + 301)).toBe("stale_timestamp");
    expect(await reason("resend", sv(), V.secret, T - 300)).toBe("ok");
    expect(await reason("resend", sv(), V.secret, T - 301)).toBe("future_timestamp");
  });

  it("agrees with svix Webhook.verify on random payloads, ids, timestamps and secrets", async () => {
    const secretArb = fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .map((b) => "whsec_" + Buffer.from(b).toString("base64"));
    // Offsets avoid ±2 s around the window edge: svix reads the real clock a moment later.
    const offsetArb = fc.oneof(
      fc.integer({ min: -298, max: 298 }),
      fc.integer({ min: 302, max: 5000 }),
      fc.integer({ min: -5000, max: -302 }),
    );
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        secretArb,
        fc.json(),
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes(" ")),
        offsetArb,
        fc.constantFrom("", " ", "+", "0"),
        fc.constantFrom("", ".5", "abc"),
        fc.constantFrom("valid", "body", "secret"),
        async (secret, otherSecret, body, id, offset, pre, post, mutation) => {
          const now = nowS();
          const ts = now + offset;
          const sig = new Webhook(mutation === "secret" ? otherSecret : secret).sign(id, new Date(ts * 1000), body);
          const sentBody = mutation === "body" ? body + " " : body;
          const headers = {
            "svix-id": id,
            "svix-timestamp": pre + ts + post,
            "svix-signature": `v1,${"B".repeat(43)}= ${sig}`,
          };
          let expected: boolean;
          try {
            new Webhook(secret).verify(sentBody, headers);
            expected = true;
          } catch {
            expected = false;
          }
          const ours = await verifyInbound("resend", req(headers, sentBody), secret, now);
          expect(ours.ok).toBe(expected);
          const sameSecret = mutation !== "secret" || otherSecret === secret;
          expect(ours.ok).toBe(mutation !== "body" && sameSecret && Math.abs(offset) <= 300);
        },
      ),
      { numRuns: 300 },
    );
  });
});
