// @vitest-environment node
/**
 * Phone numbers and e-mail addresses of channel users are kept only in channelUsers.contact:
 * plant both, run every flow (accepted, replayed, limited, blocked, forged, malformed, vendor
 * failures with retries), then scan every log/summary table, SyncBoard queries, HTTP answers
 * and captured console output.
 */
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { newT, type T } from "../harness";
import {
  BASE,
  MockVendor,
  drain,
  post,
  resendReceived,
  setupChannel,
  signResend,
  signTwilio,
  twilioForm,
} from "./helpers";

const PHONE = "+14155550123";
const PHONE_DIGITS = "4155550123";
const EMAIL = "canary.person@pii-example.org";
const EMAIL_LOCAL = "canary.person";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});
afterEach(() => {
  mock.reset();
  vi.restoreAllMocks();
});

const LOG_TABLES = [
  "activityLog",
  "invocationLog",
  "invocationSummary",
  "securityEvents",
  "securityEventSummary",
  "rateLimitHitSummary",
  "auditLog",
  "notifications",
  "webhookDeliveries",
  "channelMessageSummary",
] as const;

async function dumpLogs(t: T): Promise<string> {
  return await t.run(async (ctx) => {
    const out: Record<string, unknown[]> = {};
    for (const table of LOG_TABLES) out[table] = await ctx.db.query(table).collect();
    return JSON.stringify(out);
  });
}

function captureConsole(): () => string {
  const lines: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(
        args
          .map((a) =>
            a instanceof Error ? `${a.name} ${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a),
          )
          .join(" "),
      );
    });
  }
  return () => lines.join("\n");
}

function expectNoPII(text: string, where: string) {
  for (const needle of [PHONE, PHONE_DIGITS, EMAIL, EMAIL_LOCAL, encodeURIComponent(PHONE)]) {
    expect(text.includes(needle), `${where} contains ${needle}`).toBe(false);
  }
}

test("no phone number or e-mail address outside channelUsers.contact", async () => {
  const consoleText = captureConsole();
  const t = newT();
  const tw = await setupChannel(t, "twilio");
  const rs = await setupChannel(t, "resend");
  await tw.as.mutation(api.limits.manage.set, { name: "channelUser", rate: 2, periodMs: 60_000 });
  const answers: string[] = [];
  const send = async (path: string, r: { headers: Record<string, string>; body: string }) => {
    const res = await post(t, path, r);
    answers.push(`${res.status} ${[...res.headers].join(";")} ${await res.text()}`);
    return res;
  };
  const sms = (n: number, body = "hi there") =>
    signTwilio(twilioForm({ sid: "SM" + n.toString(16).padStart(32, "0"), from: PHONE, body }), BASE + tw.path);
  const mail = (n: number, text?: string) =>
    signResend(resendReceived(`email-${n}-0000`, `Canary Person <${EMAIL}>`, text), `msg_${n}`);

  // Vendor failures first (reply API says the number is invalid, quoting it), then recover.
  mock.respond = (req) => ({
    status: 503,
    body: { message: `The 'To' number ${PHONE} is not valid`, to: EMAIL, url: req.url },
  });
  expect((await send(tw.path, sms(1))).status).toBe(200);
  expect((await send(rs.path, mail(1, "hello"))).status).toBe(200);
  await drain(t, 30_000);
  mock.respond = (req) =>
    req.url.includes("/receiving/")
      ? { status: 200, body: { text: `Sent from ${EMAIL} / ${PHONE}` } }
      : { status: 200, body: { id: "x", sid: "SM" + "e".repeat(32) } };

  // Accepted, replayed, per-user limited.
  expect((await send(tw.path, sms(2))).status).toBe(200);
  expect((await send(tw.path, sms(2))).status).toBe(200);
  expect((await send(tw.path, sms(3))).status).toBe(429);
  expect((await send(rs.path, mail(2))).status).toBe(200); // body fetched from the API
  expect((await send(rs.path, mail(2))).status).toBe(200);

  // Forged and malformed requests that carry the PII in their body.
  expect((await send(tw.path, signTwilio(twilioForm({ from: PHONE }), BASE + tw.path, "wrong-token"))).status).toBe(
    401,
  );
  expect((await send(tw.path, signTwilio({ From: PHONE, Body: EMAIL }, BASE + tw.path))).status).toBe(400);
  expect(
    (
      await send(
        rs.path,
        signResend(resendReceived("email-9-0000", `x <${EMAIL}>`, "x"), "msg_9", {
          secret: "whsec_" + btoa("wrong-key-wrong-key-wrong-key-32"),
        }),
      )
    ).status,
  ).toBe(401);
  expect(
    (
      await send(
        rs.path,
        signResend(JSON.stringify({ type: "email.received", data: { email_id: "e", from: EMAIL } }), "msg_10"),
      )
    ).status,
  ).toBe(400);

  // Blocked user.
  const users = await tw.as.query(api.channels.users.list, {});
  const phoneUser = users.find((u) => u.platform === "twilio")!;
  await tw.as.mutation(api.channels.users.block, { channelUserId: phoneUser._id });
  expect((await send(tw.path, sms(4))).status).toBe(200);
  await drain(t, 30_000);

  // Positive control: the contact is stored where it belongs.
  const rows = await t.run((ctx) => ctx.db.query("channelUsers").collect());
  expect(rows.map((r) => r.contact).sort()).toEqual([EMAIL, PHONE].sort());
  // The flows really ran: vendor errors logged, replies sent, events recorded.
  const logs = await dumpLogs(t);
  expect(logs).toContain("channel.vendor_error");
  expect(logs).toContain("CHANNEL_USER_BLOCKED");
  expect(logs).toContain("WEBHOOK_SIGNATURE_INVALID");
  expect(logs).toContain("RATE_LIMITED");
  expect(mock.requests.some((r) => r.url.endsWith("/Messages.json"))).toBe(true);

  expectNoPII(logs, "log tables");
  expectNoPII(JSON.stringify(await tw.as.query(api.channels.users.list, {})), "channels.users.list");
  expectNoPII(JSON.stringify(await tw.as.query(api.channels.manage.list, {})), "channels.manage.list");
  expectNoPII(answers.join("\n"), "HTTP answers");
  expectNoPII(consoleText(), "console output");
}, 90_000);
