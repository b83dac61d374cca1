/** Pure channel logic: payload schemas, settings, paths, vendor requests and the retry policy. */
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { parseInbound, pseudonym, type ParseInput } from "../../convex/channels/payloads";
import { cleanEmailText, htmlToText, replySubject } from "../../convex/channels/platforms/resend";
import { telegramSendMessage } from "../../convex/channels/platforms/telegram";
import { discordFollowup } from "../../convex/channels/platforms/discord";
import {
  PLATFORMS,
  emailOf,
  parseWebhookPath,
  publicBaseUrl,
  validateSettings,
  webhookUrl,
  setupSteps,
} from "../../convex/channels/platforms";
import { classifyResponse, clampReply, retryDelayMs, vendorBase } from "../../convex/channels/vendors";

const input = (body: string, extra: Partial<ParseInput> = {}): ParseInput => ({
  body,
  headers: {},
  settings: {},
  idSalt: "salt",
  ...extra,
});
const h = (get: Record<string, string> = {}) => ({ get: (n: string) => get[n.toLowerCase()] ?? null });

describe("payload schemas", () => {
  test("Telegram: text messages become messages keyed by chat id; other updates are ignored", () => {
    const msg = parseInbound(
      "telegram",
      input(
        JSON.stringify({
          update_id: 7,
          message: {
            message_id: 1,
            chat: { id: -100, type: "group" },
            from: { id: 5, is_bot: false, username: "ann" },
            text: " hi ",
          },
        }),
      ),
    );
    expect(msg).toEqual({
      ok: true,
      deliveryId: "7",
      action: { kind: "message", user: { platformUserId: "-100", displayName: "ann" }, text: "hi" },
    });
    expect(parseInbound("telegram", input(JSON.stringify({ update_id: 8, my_chat_member: {} })))).toEqual({
      ok: true,
      deliveryId: "8",
      action: { kind: "ignore" },
    });
    expect(
      parseInbound(
        "telegram",
        input(
          JSON.stringify({
            update_id: 9,
            message: { message_id: 1, chat: { id: 1, type: "private" }, from: { id: 1, is_bot: true }, text: "x" },
          }),
        ),
      ).ok,
    ).toBe(true);
    for (const bad of [
      "",
      "[]",
      "{}",
      '{"update_id":"7"}',
      '{"update_id":-1}',
      '{"update_id":1,"message":{"chat":{}}}',
    ]) {
      expect(parseInbound("telegram", input(bad))).toEqual({ ok: false });
    }
  });

  test("Twilio: form only; MessageSid/AccountSid/From/To checked; phone kept as contact, id is a pseudonym", () => {
    const form =
      "MessageSid=SM" +
      "a".repeat(32) +
      "&AccountSid=AC" +
      "b".repeat(32) +
      "&From=%2B15551234567&To=%2B15550001111&Body=hey";
    const ct = { "content-type": "application/x-www-form-urlencoded" };
    const r = parseInbound("twilio", input(form, { headers: ct }));
    expect(r).toMatchObject({
      ok: true,
      deliveryId: "SM" + "a".repeat(32),
      action: { kind: "message", text: "hey", user: { contact: "+15551234567", replyTarget: "+15550001111" } },
    });
    if (r.ok && r.action.kind === "message")
      expect(r.action.user.platformUserId).toBe(pseudonym("salt", "twilio", "+15551234567"));
    expect(parseInbound("twilio", input(form, { headers: { "content-type": "application/json" } }))).toEqual({
      ok: false,
    });
    expect(parseInbound("twilio", input(form + "&From=%2B1999", { headers: ct }))).toEqual({ ok: false }); // repeated field
    expect(
      parseInbound("twilio", input(form, { headers: ct, settings: { accountSid: "AC" + "c".repeat(32) } })),
    ).toEqual({ ok: false });
    expect(parseInbound("twilio", input(form.replace("%2B15551234567", "not-a-phone"), { headers: ct }))).toEqual({
      ok: false,
    });
    const wa = parseInbound("twilio", input(form.replace("From=%2B", "From=whatsapp%3A%2B"), { headers: ct }));
    expect(wa).toMatchObject({ ok: true, action: { user: { contact: "whatsapp:+15551234567" } } });
  });

  test("Slack: url_verification, event_callback, bots/edits ignored, app id checked, mentions stripped", () => {
    expect(parseInbound("slack", input('{"type":"url_verification","challenge":"abc"}'))).toEqual({
      ok: true,
      action: { kind: "challenge", challenge: "abc" },
    });
    const ev = (event: object, extra: object = {}) =>
      JSON.stringify({ type: "event_callback", event_id: "Ev123456", api_app_id: "A1234567", event, ...extra });
    expect(
      parseInbound("slack", input(ev({ type: "app_mention", user: "U1234", text: "<@U999> hi", channel: "C1234" }))),
    ).toEqual({
      ok: true,
      deliveryId: "Ev123456",
      action: { kind: "message", user: { platformUserId: "U1234", replyTarget: "C1234" }, text: "hi" },
    });
    expect(
      parseInbound("slack", input(ev({ type: "message", bot_id: "B1", text: "x", channel: "C1234" }))),
    ).toMatchObject({ action: { kind: "ignore" } });
    expect(
      parseInbound(
        "slack",
        input(ev({ type: "message", user: "U1234", text: "x", channel: "C1234" }), { settings: { appId: "A7654321" } }),
      ),
    ).toEqual({ ok: false });
    expect(parseInbound("slack", input('{"type":"app_rate_limited"}'))).toEqual({
      ok: true,
      action: { kind: "ignore" },
    });
    expect(parseInbound("slack", input('{"type":"url_verification"}'))).toEqual({ ok: false });
    expect(
      parseInbound("slack", input(ev({ type: "message", user: "bad user", text: "x", channel: "C1234" }))),
    ).toEqual({ ok: false });
  });

  test("Discord: PING, commands (text from the first string option), application id checked", () => {
    expect(parseInbound("discord", input('{"type":1}'))).toEqual({ ok: true, action: { kind: "ping" } });
    const cmd = (extra: object = {}) =>
      JSON.stringify({
        type: 2,
        id: "123456789012345678",
        application_id: "111111111111111111",
        token: "t".repeat(30),
        data: { name: "ask", options: [{ name: "q", type: 3, value: "hello" }] },
        user: { id: "222222222222222222" },
        ...extra,
      });
    const settings = { applicationId: "111111111111111111" };
    expect(parseInbound("discord", input(cmd(), { settings }))).toMatchObject({
      ok: true,
      deliveryId: "123456789012345678",
      action: {
        kind: "message",
        text: "hello",
        user: { platformUserId: "222222222222222222", replyTarget: "t".repeat(30), replyTargetTtlMs: 900000 },
      },
    });
    expect(parseInbound("discord", input(cmd({ data: { name: "ping" } }), { settings }))).toMatchObject({
      action: { text: "/ping" },
    });
    expect(parseInbound("discord", input(cmd(), { settings: { applicationId: "999999999999999999" } }))).toEqual({
      ok: false,
    });
    expect(parseInbound("discord", input(cmd({ type: 3 }), { settings }))).toEqual({ ok: false });
    expect(parseInbound("discord", input(cmd({ user: undefined }), { settings }))).toEqual({ ok: false });
  });

  test("Resend: email.received → sender as contact, svix-id as delivery id; own address and other events ignored", () => {
    const body = (data: object, type = "email.received") =>
      JSON.stringify({
        type,
        created_at: "x",
        data: { email_id: "abcd-1234", to: ["bot@x.test"], subject: "Hi\r\nBcc: evil", ...data },
      });
    const headers = { "svix-id": "msg_1" };
    const r = parseInbound("resend", input(body({ from: "Ann <ANN@Example.org>" }), { headers }));
    expect(r).toMatchObject({
      ok: true,
      deliveryId: "msg_1",
      action: {
        kind: "message",
        emailId: "abcd-1234",
        user: { contact: "ann@example.org", replyTarget: "Hi Bcc: evil" },
      },
    });
    expect(
      parseInbound(
        "resend",
        input(body({ from: "bot@x.test" }), { headers, settings: { fromAddress: "Bot <bot@x.test>" } }),
      ),
    ).toMatchObject({ action: { kind: "ignore" } });
    expect(parseInbound("resend", input(body({ from: "a@b.co" }, "email.delivered"), { headers }))).toMatchObject({
      action: { kind: "ignore" },
    });
    expect(parseInbound("resend", input(body({ from: "nobody" }), { headers }))).toEqual({ ok: false });
    expect(parseInbound("resend", input(body({ from: "a@b.co", email_id: "../../x" }), { headers }))).toEqual({
      ok: false,
    });
  });

  test("never throws on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PLATFORMS), fc.string(), fc.jsonValue(), (platform, raw, json) => {
        for (const body of [raw, JSON.stringify(json)]) {
          const r = parseInbound(
            platform,
            input(body, { headers: { "content-type": "application/x-www-form-urlencoded" } }),
          );
          expect(typeof r.ok).toBe("boolean");
        }
      }),
      { numRuns: 300 },
    );
  });

  test("pseudonyms are stable per salt, differ across salts, and do not contain the value", () => {
    const a = pseudonym("s1", "twilio", "+15551234567");
    expect(a).toBe(pseudonym("s1", "twilio", "+15551234567"));
    expect(a).not.toBe(pseudonym("s2", "twilio", "+15551234567"));
    expect(a).toMatch(/^h:[0-9a-f]{40}$/);
  });

  test("e-mail text: quoted history dropped, HTML reduced to text", () => {
    expect(cleanEmailText("Answer\n\nOn Mon, Jan 1, 2024 at 10:00 Bob <b@x.org> wrote:\n> old")).toBe("Answer");
    expect(cleanEmailText("a\r\n> q\r\nb")).toBe("a\nb");
    expect(htmlToText("<style>p{}</style><p>Hi&nbsp;there</p><script>x</script><br>ok &amp; done")).toBe(
      "Hi there\n\nok & done",
    );
  });
});

describe("settings, paths and URLs", () => {
  test("strict per-platform settings", () => {
    expect(validateSettings("telegram", {})).toEqual({ ok: true, settings: {} });
    expect(validateSettings("telegram", { token: "x" })).toEqual({ ok: false, field: "token" });
    expect(validateSettings("discord", { applicationId: "12" })).toEqual({ ok: false, field: "applicationId" });
    expect(emailOf("Bot <Bot@Warden.test>")).toBe("bot@warden.test");
    expect(emailOf("a@b")).toBeNull();
    expect(emailOf("x <a@b.co> <c@d.co>")).toBeNull();
  });

  test("webhook paths: exactly /webhooks/{platform}/{id}", () => {
    expect(parseWebhookPath("/webhooks/slack/abcdefghij12")).toEqual({ platform: "slack", channelId: "abcdefghij12" });
    for (const bad of [
      "/webhooks/slack/",
      "/webhooks/irc/abcdefghij12",
      "/webhooks/slack/abcdefghij12/x",
      "/webhooks/slack/..%2Fabcdefghij",
      "/x/webhooks/slack/abcdefghij12",
      "//webhooks/slack/abcdefghij12",
    ]) {
      expect(parseWebhookPath(bad)).toBeNull();
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseWebhookPath(s);
        if (r) expect(s).toBe(`/webhooks/${r.platform}/${r.channelId}`);
      }),
    );
  });

  test("public base URL from config only; webhook URL and setup text", () => {
    expect(publicBaseUrl({ WARDEN_PUBLIC_BASE_URL: "https://a.test/", CONVEX_SITE_URL: "https://b.test" })).toBe(
      "https://a.test",
    );
    expect(publicBaseUrl({ CONVEX_SITE_URL: "https://b.test" })).toBe("https://b.test");
    expect(publicBaseUrl({ WARDEN_PUBLIC_BASE_URL: "javascript:alert(1)" })).toBeNull();
    expect(publicBaseUrl({})).toBeNull();
    expect(webhookUrl({ WARDEN_PUBLIC_BASE_URL: "https://a.test" }, "resend", "abc")).toBe(
      "https://a.test/webhooks/resend/abc",
    );
    for (const p of PLATFORMS) expect(setupSteps(p, "https://u.test/w").join(" ")).toContain("https://u.test/w");
  });
});

describe("vendor requests and retries", () => {
  test("base URL overrides: https or loopback http only", () => {
    expect(vendorBase("telegram", {})).toBe("https://api.telegram.org");
    expect(vendorBase("slack", { WARDEN_SLACK_API_BASE: "http://127.0.0.1:9999/api/" })).toBe(
      "http://127.0.0.1:9999/api",
    );
    expect(vendorBase("slack", { WARDEN_SLACK_API_BASE: "http://slack.example" })).toBeNull();
    expect(vendorBase("slack", { WARDEN_SLACK_API_BASE: "https://user:pw@slack.example" })).toBeNull();
    expect(vendorBase("slack", { WARDEN_SLACK_API_BASE: "not a url" })).toBeNull();
  });

  test("request shapes", () => {
    const tg = telegramSendMessage("https://api.telegram.org", "123:" + "A".repeat(35), "42", "x".repeat(5000));
    expect(tg.url).toBe(`https://api.telegram.org/bot123:${"A".repeat(35)}/sendMessage`);
    expect(Array.from(JSON.parse(tg.body!).text as string)).toHaveLength(4096);
    expect(() => telegramSendMessage("https://api.telegram.org", "123:abc/../../x", "42", "x")).toThrow();
    const dc = discordFollowup("https://discord.com/api/v10", "1", "a/b?c", "hi");
    expect(dc.url).toBe("https://discord.com/api/v10/webhooks/1/a%2Fb%3Fc");
    expect(clampReply("discord", "é".repeat(2001))).toHaveLength(2000);
    expect(replySubject("Re: hi")).toBe("Re: hi");
    expect(replySubject("")).toBe("Re: your message");
  });

  test("classification: status, Slack/Telegram {ok:false}, retry hints", () => {
    expect(classifyResponse(200, h(), '{"ok":true}')).toEqual({ ok: true });
    expect(classifyResponse(200, h(), '{"ok":false,"error":"channel_not_found"}')).toEqual({
      ok: false,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(classifyResponse(200, h(), '{"ok":false,"error":"ratelimited"}')).toMatchObject({ ok: false, status: 429 });
    expect(classifyResponse(429, h({ "retry-after": "3" }), "")).toEqual({
      ok: false,
      status: 429,
      retryAfterMs: 3000,
    });
    expect(classifyResponse(429, h(), '{"ok":false,"parameters":{"retry_after":5}}')).toEqual({
      ok: false,
      status: 429,
      retryAfterMs: 5000,
    });
    expect(classifyResponse(302, h(), "")).toMatchObject({ ok: false, status: 302 });
  });

  test("retry policy: 5xx/429/connection failures, exponential, max 3 attempts, never other 4xx", () => {
    expect(retryDelayMs(503, 1)).toBe(2000);
    expect(retryDelayMs(500, 2)).toBe(4000);
    expect(retryDelayMs(503, 3)).toBeNull();
    expect(retryDelayMs(0, 1)).toBe(2000);
    expect(retryDelayMs(429, 1, 9000)).toBe(9000);
    expect(retryDelayMs(429, 1, 10 * 60_000)).toBe(60_000);
    for (const s of [400, 401, 403, 404, 410, 422, 302]) expect(retryDelayMs(s, 1)).toBeNull();
  });
});
