// @vitest-environment node
/**
 * Issue 17's leak scan for the flows encodedEcho.test.ts does not drive: a model provider that
 * echoes its API key (raw, base64, base64url, hex) into its answer, and a Telegram channel whose
 * bot token travels only in the vendor URL. No encoding of either may reach a table, the
 * scheduler's arguments, a public answer, the console, or any outbound request other than the
 * secret's own destination (the provider's Authorization header, Telegram's URL path).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { api } from "../../convex/_generated/api";
import schema from "../../convex/schema";
import { member, newT, type T } from "../harness";
import { session, thread, waitForReply, messages } from "../chat/setup";
import { MockVendor, drain, post, setupChannel, signTelegram, telegramUpdate, TG_BOT } from "../channels/helpers";
import { replyChat } from "../agent/chatMock";
import { bytes, found } from "./encodings";

async function dump(t: T): Promise<string> {
  return await t.run(async (ctx) => {
    const out: Record<string, unknown> = {};
    for (const table of Object.keys(schema.tables)) {
      if (/Secrets$/.test(table)) continue; // ciphertext only
      out[table] = await ctx.db.query(table as never).take(5000);
    }
    out._scheduled_functions = await ctx.db.system.query("_scheduled_functions").take(5000);
    return JSON.stringify(out);
  });
}

type Seen = { auth: string | undefined; body: string };
const providerSeen: Seen[] = [];
let provider: Server;
let providerBase = "";
let consoleText: string[] = [];

beforeAll(async () => {
  provider = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      providerSeen.push({ auth: req.headers.authorization, body: raw });
      const key = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
      const content = `Your key: ${key} / ${bytes(key).toString("base64")} / ${bytes(`x${key}`).toString("base64url")} / 0x${bytes(key).toString("hex").toUpperCase()}`;
      void replyChat(res, raw ? JSON.parse(raw) : {}, { content }, "stop");
    });
  });
  await new Promise<void>((r) => provider.listen(0, "127.0.0.1", r));
  providerBase = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => provider.close(() => r())));

const saved: Record<string, string | undefined> = {};
function setEnv(k: string, v: string) {
  saved[k] = process.env[k];
  process.env[k] = v;
}
beforeEach(() => {
  providerSeen.length = 0;
  consoleText = [];
  for (const m of ["log", "warn", "error", "info", "debug"] as const) {
    vi.spyOn(console, m).mockImplementation(
      (...a: unknown[]) =>
        void consoleText.push(a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")),
    );
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    delete saved[k];
  }
});

describe("leak scan: provider key and channel token", () => {
  test("a provider that echoes its key: the public reply, every table, the scheduler and the console hold no encoding of it", async () => {
    const KEY = `sk-prov-${crypto.randomUUID().slice(0, 13)}`;
    setEnv("WARDEN_DEV", "1");
    setEnv("WARDEN_MODEL_KEY_ECHO", KEY);
    setEnv("WARDEN_MODEL_KEY_ECHO_HOSTS", new URL(providerBase).host);
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    const pid = await owner.as.mutation(api.agent.providers.create, {
      label: "echo",
      kind: "openai-compatible",
      baseUrl: providerBase,
      apiKeyEnvVar: "WARDEN_MODEL_KEY_ECHO",
    });
    await owner.as.mutation(api.agent.config.update, { providerId: pid, model: "m" });
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "what is my key?" });
    const reply = await waitForReply(t, s, th);
    expect(reply.status).toBe("done");
    expect(reply.text).toContain("Your key:");
    // the public answer (what /chat subscribes to), every table, the scheduler, the console
    expect(found(JSON.stringify(await messages(t, s, th)), KEY)).toEqual([]);
    expect(found(await dump(t), KEY)).toEqual([]);
    expect(found(consoleText.join("\n"), KEY)).toEqual([]);
    // outbound: only the provider's own Authorization header carries it
    expect(providerSeen).toHaveLength(1);
    expect(providerSeen[0].auth).toBe(`Bearer ${KEY}`);
    expect(found(providerSeen[0].body, KEY)).toEqual([]);
  });

  test("a Telegram bot token travels only in the vendor URL: not in tables, the scheduler, the webhook answer or the console", async () => {
    const vendor = new MockVendor();
    await vendor.start();
    vendor.useForAllVendors();
    try {
      const t = newT();
      const ch = await setupChannel(t, "telegram");
      const res = await post(t, ch.path, signTelegram(telegramUpdate(777, 4242, "hello")));
      const answer = await res.text();
      await drain(t);
      expect(vendor.requests).toHaveLength(1);
      expect(vendor.requests[0].url).toContain(TG_BOT); // its own destination
      expect(found(vendor.requests[0].body, TG_BOT)).toEqual([]);
      expect(found(answer, TG_BOT)).toEqual([]);
      expect(found(await dump(t), TG_BOT)).toEqual([]);
      expect(found(consoleText.join("\n"), TG_BOT)).toEqual([]);
      const views = JSON.stringify([
        await ch.as.query(api.channels.manage.list, {}),
        await ch.as.query(api.logs.browse.invocations, { paginationOpts: { numItems: 100, cursor: null } }),
        await ch.as.query(api.logs.browse.securityEvents, { paginationOpts: { numItems: 100, cursor: null } }),
      ]);
      expect(found(views, TG_BOT)).toEqual([]);
    } finally {
      await vendor.stop();
    }
  });
});
