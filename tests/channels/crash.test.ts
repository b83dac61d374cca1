// @vitest-environment node
/**
 * The crash test (issue 20): the embedded runtime is killed between the agent's answer and the
 * vendor's acknowledgement, and after a restart the reply reaches the user exactly once.
 *  1. Telegram, killed after the send claimed the reply and before the request left (a test-only
 *     crash point, WARDEN_TEST_CRASH_AT, honoured only with WARDEN_ENV=test): re-sent after restart.
 *  2. Resend, killed with -9 while the mock vendor holds the request unanswered (it arrived, no
 *     acknowledgement): re-sent after restart with the same Idempotency-Key, which the mock vendor
 *     dedupes as Resend does, so one e-mail is delivered.
 * A mock vendor on 127.0.0.1 records every request.
 */
import { afterAll, expect, test } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { TEST_ENV } from "../env";
import {
  RESEND_FROM,
  RESEND_KEY,
  RESEND_SECRET,
  TG_BOT,
  TG_SECRET,
  resendReceived,
  signResend,
  signTelegram,
  telegramUpdate,
} from "./helpers";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const OWNER = { ownerKey: "crash-owner", password: "crash-test-password-0123456789" };
const LEASE_MS = 2000;

type Child = { proc: ChildProcess; url: string; siteUrl: string; exited: Promise<NodeJS.Signals | number | null> };

function startChild(dataDir: string, extra: Record<string, string>, seed = false): Promise<Child> {
  const base: Record<string, string> = {};
  // the runtime derives its own deployment env; keep only WARDEN_ENV=test from the test env
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !(k in TEST_ENV)) base[k] = v;
  const proc = spawn(process.execPath, ["--import", "tsx", join(REPO, "tests/channels/crash-child.ts")], {
    cwd: REPO,
    env: {
      ...base,
      WARDEN_ENV: "test",
      CHILD_DATA_DIR: dataDir,
      CHILD_ENV: JSON.stringify({
        WARDEN_TELEGRAM_API_BASE: `${vendor.base}/telegram`,
        WARDEN_RESEND_API_BASE: `${vendor.base}/resend`,
        WARDEN_DELIVERY_LEASE_MS: String(LEASE_MS),
        ...extra,
      }),
      ...(seed ? { CHILD_SEED: JSON.stringify(OWNER) } : {}),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(proc);
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    proc.once("exit", (code, signal) => r(signal ?? code)),
  );
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout!.on("data", (d) => {
      buf += d.toString();
      const line = buf.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ proc, exited, ...JSON.parse(line) });
    });
    void exited.then((c) => reject(new Error(`child exited early (${c})`)));
  });
}

/** Records every request; Resend sends are deduped by Idempotency-Key; `holdResend` leaves one unanswered. */
const vendor = {
  base: "",
  telegram: [] as string[],
  resendAttempts: [] as { key: string; at: number }[],
  resendDelivered: new Map<string, string>(),
  holdResend: false,
  held: [] as ServerResponse[],
  server: createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (req.url?.startsWith("/telegram/")) {
        vendor.telegram.push(JSON.parse(body).text);
        res
          .writeHead(200, { "Content-Type": "application/json" })
          .end(JSON.stringify({ ok: true, result: { message_id: vendor.telegram.length } }));
        return;
      }
      if (req.url === "/resend/emails" && req.method === "POST") {
        const key = String(req.headers["idempotency-key"] ?? "");
        vendor.resendAttempts.push({ key, at: Date.now() });
        // Resend stores the e-mail when the request arrives; a repeat with the key is not sent again
        if (!key || !vendor.resendDelivered.has(key))
          vendor.resendDelivered.set(key || `none-${vendor.resendAttempts.length}`, JSON.parse(body).text);
        if (vendor.holdResend) {
          vendor.held.push(res); // no acknowledgement: the runtime dies waiting for it
          return;
        }
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ id: "email-1" }));
        return;
      }
      res.writeHead(404).end();
    });
  }),
};

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  vendor.held.forEach((r) => r.destroy());
  await new Promise<void>((r) => vendor.server.close(() => r()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 40_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function signIn(c: Child): Promise<ConvexHttpClient> {
  const res = await fetch(`${c.siteUrl}/auth/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(OWNER),
  });
  expect(res.status).toBe(200);
  const client = new ConvexHttpClient(c.url);
  client.setAuth(((await res.json()) as { token: string }).token);
  return client;
}

async function webhook(c: Child, path: string, r: { headers: Record<string, string>; body: string }) {
  const res = await fetch(`${c.siteUrl}${path}`, { method: "POST", headers: r.headers, body: r.body });
  expect(`${res.status} ${await res.text()}`).toMatch(/^200/);
}

async function assistantMessages(client: ConvexHttpClient) {
  const threads = await client.query(api.chat.owner.listThreads, {
    paginationOpts: { numItems: 20, cursor: null },
  } as never);
  const out: { status: string; errorCode?: string }[] = [];
  for (const th of (threads as { page: { _id: Id<"threads"> }[] }).page) {
    const msgs = await client.query(api.chat.owner.listMessages, {
      threadId: th._id,
      paginationOpts: { numItems: 20, cursor: null },
    });
    out.push(...msgs.page.filter((m) => m.role === "assistant"));
  }
  return out;
}

test("killed between the agent's answer and the vendor's acknowledgement: delivered once after restart", async () => {
  await new Promise<void>((r) => vendor.server.listen(0, "127.0.0.1", r));
  vendor.base = `http://127.0.0.1:${(vendor.server.address() as AddressInfo).port}`;
  const dataDir = mkdtempSync(join(tmpdir(), "warden-crash-"));
  dirs.push(dataDir);

  // Run 1: seed two channels, then a Telegram message whose reply send dies before its request leaves.
  const first = await startChild(dataDir, { WARDEN_TEST_CRASH_AT: "reply.beforeDispatch" }, true);
  const owner = await signIn(first);
  const tg = await owner.mutation(api.channels.manage.create, {
    platform: "telegram",
    name: "Support bot",
    settings: { botUsername: "warden_bot" },
  });
  await owner.mutation(api.secrets.manage.setChannelSecret, {
    channelId: tg,
    name: "TELEGRAM_SECRET_TOKEN",
    value: TG_SECRET,
  });
  await owner.mutation(api.secrets.manage.setChannelSecret, {
    channelId: tg,
    name: "TELEGRAM_BOT_TOKEN",
    value: TG_BOT,
  });
  await owner.mutation(api.channels.manage.enable, { channelId: tg });
  const rs = await owner.mutation(api.channels.manage.create, {
    platform: "resend",
    name: "Mail",
    settings: { fromAddress: RESEND_FROM },
  });
  await owner.mutation(api.secrets.manage.setChannelSecret, {
    channelId: rs,
    name: "RESEND_WEBHOOK_SECRET",
    value: RESEND_SECRET,
  });
  await owner.mutation(api.secrets.manage.setChannelSecret, {
    channelId: rs,
    name: "RESEND_API_KEY",
    value: RESEND_KEY,
  });
  await owner.mutation(api.channels.manage.enable, { channelId: rs });
  await webhook(first, `/webhooks/telegram/${tg}`, signTelegram(telegramUpdate(1, 4242, "ping telegram")));
  expect(await first.exited).toBe("SIGKILL");
  expect(vendor.telegram).toHaveLength(0);

  // Run 2: the expired lease is swept and the reply sent, once.
  const t0 = Date.now();
  vendor.holdResend = true;
  const second = await startChild(dataDir, {});
  await until("the Telegram reply after restart", () => vendor.telegram.length > 0);
  const telegramAfterMs = Date.now() - t0;
  // then an e-mail whose reply reaches the vendor, which never acknowledges it: kill -9 now
  await webhook(
    second,
    `/webhooks/resend/${rs}`,
    signResend(resendReceived("email-1-0000", "Erin <erin@example.org>", "ping resend"), "msg_1"),
  );
  await until("the e-mail reply at the vendor", () => vendor.resendAttempts.length > 0);
  second.proc.kill("SIGKILL");
  expect(await second.exited).toBe("SIGKILL");
  vendor.held.forEach((r) => r.destroy());
  vendor.holdResend = false;

  // Run 3: re-sent with the same key; the vendor delivers it once.
  const t1 = Date.now();
  const third = await startChild(dataDir, {});
  await until("the e-mail re-send", () => vendor.resendAttempts.length > 1);
  const resendAfterMs = Date.now() - t1;
  const client = await signIn(third);
  // every answer settles as delivered: nothing pending, nothing failed
  const settled = await until("answers settled", async () => {
    const ms = await assistantMessages(client);
    return ms.length === 2 && ms.every((m) => m.status === "done") ? ms : undefined;
  });
  // one more sweep period: nothing else is sent
  await new Promise((r) => setTimeout(r, 16_000));
  expect(vendor.telegram).toHaveLength(1);
  expect(vendor.telegram[0]).toMatch(/ping telegram/);
  expect(vendor.resendAttempts).toHaveLength(2);
  expect(new Set(vendor.resendAttempts.map((a) => a.key)).size).toBe(1);
  expect(vendor.resendAttempts[0].key).toMatch(/^warden-[0-9a-f]{32}$/);
  expect(vendor.resendDelivered.size).toBe(1);
  expect(settled).toHaveLength(2);
  const [health] = (await client.query(api.channels.manage.list, {})).filter((c) => c._id === rs);
  expect(health.health?.failing ?? false).toBe(false);
  console.log(
    `[crash] telegram: 1 crash before dispatch → ${vendor.telegram.length} delivery, re-sent ${telegramAfterMs} ms after restart; ` +
      `resend: kill -9 with the request at the vendor → ${vendor.resendAttempts.length} attempts, ${vendor.resendDelivered.size} delivered, re-sent ${resendAfterMs} ms after restart`,
  );
  third.proc.kill("SIGTERM");
  await third.exited;
}, 150_000);
