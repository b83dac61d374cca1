// @vitest-environment node
// Issue 21 item 10: streamed replies. A mock OpenAI-compatible SSE server on 127.0.0.1 (the real
// AI SDK path through the guarded fetch): the message goes pending → streaming (partial text seen
// while the provider is still sending) → done; partial writes are throttled and bounded; the byte
// cap and the deadline hold while streaming; a key the provider echoes never shows, not even in a
// half-written reply; the offline provider streams through the same path.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { api, internal } from "../../convex/_generated/api";
import { runModel, partialText, OFFLINE_SPEC } from "../../convex/agent/model";
import { partialWriter, MAX_STREAM_WRITES, STREAM_INTERVAL_MS } from "../../convex/agent/partialWriter";
import { redactKnown, secretMatcher } from "../../convex/lib/redact";
import { safeFetchStream } from "../../convex/lib/safeFetch.node";
import { PROVIDER_MAX_RESPONSE_BYTES } from "../../convex/agent/providerFetch.node";
import { messages, publicChat, session, thread, waitForReply } from "../chat/setup";
import { replyChat } from "./chatMock";
import type { T } from "../harness";

const KEY = "mock-stream-key-canary-7f3c1e9a";
type Handler = (req: IncomingMessage, res: ServerResponse, body: any) => void;
let server: Server;
let base = "";
let handler: Handler;
const sockets = { closedEarly: 0 };

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => handler(req, res, raw ? JSON.parse(raw) : {}));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  sockets.closedEarly = 0;
  process.env.WARDEN_DEV = "1";
  process.env.WARDEN_MODEL_KEY_STREAM = KEY;
  process.env.WARDEN_MODEL_KEY_STREAM_HOSTS = new URL(base).host;
});
afterEach(() => {
  delete process.env.WARDEN_DEV;
  delete process.env.WARDEN_MODEL_KEY_STREAM;
  delete process.env.WARDEN_MODEL_KEY_STREAM_HOSTS;
});

async function setup() {
  const { t, owner } = await publicChat();
  const pid = await owner.as.mutation(api.agent.providers.create, {
    label: "Local",
    kind: "openai-compatible",
    baseUrl: base,
    apiKeyEnvVar: "WARDEN_MODEL_KEY_STREAM",
  });
  await owner.as.mutation(api.agent.config.update, { providerId: pid, model: "mock-1", fallbackModel: "offline" });
  const s = await session(t);
  const th = await thread(t, s);
  return { t, s, th };
}

async function lastAssistant(t: T, s: string, th: string) {
  const msgs = await messages(t, s, th);
  return msgs[msgs.length - 1];
}

async function activity(t: T) {
  return await t.run((ctx) => ctx.db.query("activityLog").collect());
}

/** Polls (real timers; the scheduled run makes progress meanwhile) until `ok`. */
async function until<R>(read: () => Promise<R>, ok: (r: R) => boolean, ms = 5_000): Promise<R> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await read();
    if (ok(r)) return r;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe("streamed replies (mock SSE provider on loopback)", () => {
  test("pending → streaming with partial text while the provider is still sending → done", async () => {
    const { t, s, th } = await setup();
    const answer = "The quick brown fox jumps over the lazy dog. ".repeat(4).trim();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    handler = (_req, res, body) =>
      void replyChat(res, body, { content: answer }, "stop", {
        chunkChars: 8,
        gate: (n) => (n === 6 ? held : undefined),
      });
    const sent = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "tell me" });
    expect(sent.ok).toBe(true);
    expect((await lastAssistant(t, s, th)).status).toBe("pending");
    // the provider has sent 6 deltas (48 chars) and waits: the visitor already sees the start
    const mid = await until(
      () => lastAssistant(t, s, th),
      (m) => m.status === "streaming" && m.text.length > 0,
    );
    expect(answer.startsWith(mid.text)).toBe(true);
    expect(mid.text.length).toBeLessThan(answer.length);
    release();
    const done = await waitForReply(t, s, th);
    expect(done).toMatchObject({ status: "done", text: answer });
    const reply = (await activity(t)).find((a) => a.kind === "agent.reply");
    expect(reply?.meta).toMatchObject({ provider: "Local", fallback: false });
    expect((reply?.meta as { partialWrites: number }).partialWrites).toBeGreaterThanOrEqual(1);
  });

  test("writes per reply are throttled: a 2.4 s stream of 80 deltas costs a handful of partial writes", async () => {
    const { t, s, th } = await setup();
    const answer = "word ".repeat(80).trim();
    handler = (_req, res, body) =>
      void replyChat(res, body, { content: answer }, "stop", { chunkChars: 5, delayMs: 30 });
    const started = Date.now();
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "long one" });
    const done = await waitForReply(t, s, th, 20_000);
    const elapsed = Date.now() - started;
    expect(done).toMatchObject({ status: "done", text: answer });
    const writes = ((await activity(t)).find((a) => a.kind === "agent.reply")?.meta as { partialWrites: number })
      .partialWrites;
    // one immediate write, then at most one per 250 ms; the finish is one more (message + thread + activity)
    console.info(`[stream] 80 deltas over ${elapsed} ms → ${writes} partial writes of the message (+1 finish)`);
    expect(writes).toBeGreaterThanOrEqual(2);
    expect(writes).toBeLessThanOrEqual(Math.ceil(elapsed / STREAM_INTERVAL_MS) + 1);
  });

  test("the byte cap holds mid-stream: the socket is cut, PROVIDER_ERROR (OUTPUT_TOO_LARGE), fallback answers", async () => {
    const { t, s, th } = await setup();
    let sentBytes = 0;
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const pad = "x".repeat(60 * 1024);
      const chunk = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: pad }, finish_reason: null }] })}\n\n`;
      res.on("close", () => {
        if (!res.writableFinished) sockets.closedEarly++;
      });
      const pump = () => {
        // far more than the cap, written as the client reads
        while (sentBytes < 3 * PROVIDER_MAX_RESPONSE_BYTES && !res.destroyed) {
          sentBytes += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        if (!res.destroyed) res.end("data: [DONE]\n\n");
      };
      pump();
    };
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "flood" });
    const done = await waitForReply(t, s, th, 20_000);
    expect(done.status).toBe("done");
    expect(done.text).toContain("Offline model (not a language model)");
    const err = (await activity(t)).find((a) => a.kind === "agent.provider_error");
    expect(err?.meta).toMatchObject({
      code: "PROVIDER_ERROR",
      reason: "egress_blocked",
      egressCode: "OUTPUT_TOO_LARGE",
    });
    await until(
      async () => sockets.closedEarly,
      (n) => n === 1,
    );
    expect(sentBytes).toBeLessThan(3 * PROVIDER_MAX_RESPONSE_BYTES);
  });

  test("a provider echoing its key in 3-character deltas: no partial write ever shows it or an encoding of it", async () => {
    const { t, s, th } = await setup();
    const b64 = Buffer.from(KEY).toString("base64");
    const hex = Buffer.from(KEY).toString("hex");
    const content = `Your key is ${KEY} and in base64 ${b64} and hex ${hex}. Thanks.`;
    const seen = new Set<string>();
    let snapshots: Promise<void> = Promise.resolve();
    handler = (_req, res, body) =>
      void replyChat(res, body, { content }, "stop", {
        chunkChars: 3,
        delayMs: 15,
        gate: () => {
          snapshots = snapshots.then(async () => {
            const m = await lastAssistant(t, s, th);
            if (m.status === "streaming") seen.add(m.text);
          });
        },
      });
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "echo" });
    const done = await waitForReply(t, s, th, 20_000);
    await snapshots;
    expect(done.status).toBe("done");
    expect(seen.size).toBeGreaterThan(1);
    const fragments = [KEY, b64, hex].flatMap((x) => Array.from({ length: x.length - 7 }, (_, i) => x.slice(i, i + 8)));
    for (const text of [...seen, done.text]) for (const f of fragments) expect(text).not.toContain(f);
  });
});

describe("durability", () => {
  test("a run that crashed mid-stream: the sweeper drops the half answer and runs it again", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    const sent = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "hi" });
    if (!sent.ok) throw new Error("send failed");
    await waitForReply(t, s, th);
    // as if the process died while streaming: status streaming, lease expired
    await t.run((ctx) =>
      ctx.db.patch(sent.assistantMessageId, {
        status: "streaming",
        text: "half an ans",
        running: true,
        leaseUntil: Date.now() - 1,
      }),
    );
    // a stale partial write from the dead attempt is refused once the sweeper took the message back
    expect(await t.mutation(internal.agent.runs.sweepRuns, {})).toMatchObject({ rescheduled: 1 });
    expect(
      await t.mutation(internal.agent.stream.partial, { assistantMessageId: sent.assistantMessageId, text: "stale" }),
    ).toBe(false);
    const again = await waitForReply(t, s, th);
    expect(again.status).toBe("done");
    expect(again.text).toContain("Offline model");
    expect(
      await t.mutation(internal.agent.stream.partial, { assistantMessageId: sent.assistantMessageId, text: "late" }),
    ).toBe(false);
  });
});

describe("partial text and the writer (units)", () => {
  test("every prefix of an echoing reply publishes a prefix of the final redacted text, never a key fragment", () => {
    const key = "sk-live-0123456789abcdefXYZ";
    const m = secretMatcher([key]);
    const raw = `ok ${key} then ${Buffer.from(key).toString("base64")} then ${encodeURIComponent(key)} end`;
    const final = redactKnown(raw, m);
    for (let i = 0; i <= raw.length; i++) {
      const p = partialText(raw.slice(0, i), m);
      expect(final.startsWith(p)).toBe(true);
      for (let j = 0; j + 6 <= key.length; j++) expect(p).not.toContain(key.slice(j, j + 6));
    }
  });

  test("the writer: first text at once, then at most one write per interval, coalesced, capped, none after close", async () => {
    let clock = 0;
    const written: string[] = [];
    const w = partialWriter(
      async (text) => {
        written.push(text);
        return true;
      },
      () => clock,
    );
    for (let i = 1; i <= 10; i++) w.push(() => `t${i}`);
    await new Promise((r) => setTimeout(r, 0));
    expect(written).toEqual(["t1"]); // the rest waits for the interval
    clock += STREAM_INTERVAL_MS;
    w.push(() => "t11");
    await new Promise((r) => setTimeout(r, 0));
    expect(written).toEqual(["t1", "t11"]); // only the newest, computed only when written
    for (let i = 0; i < 500; i++) {
      clock += 10_000;
      w.push(() => `n${i}`);
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(w.writes).toBe(MAX_STREAM_WRITES);
    await w.close();
    const count = written.length;
    w.push(() => "late");
    await new Promise((r) => setTimeout(r, 0));
    expect(written.length).toBe(count);
  });

  test("a write that reports the message finished stops the writer", async () => {
    let n = 0;
    const w = partialWriter(
      async () => (++n, false),
      () => (n + 1) * 10_000,
    );
    w.push(() => "a");
    await new Promise((r) => setTimeout(r, 0));
    w.push(() => "b");
    await new Promise((r) => setTimeout(r, 0));
    expect(n).toBe(1);
  });

  test("the offline provider streams in chunks through the same sink", async () => {
    const parts: string[] = [];
    const r = await runModel(OFFLINE_SPEC, {
      soul: "s",
      history: [
        { role: "user", text: "a fairly long message so that the offline answer is split into several chunks" },
      ],
      tools: [],
      execute: async () => {
        throw new Error("no tools");
      },
      onPartial: (current) => parts.push(current()),
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < parts.length; i++) {
      expect(r.text.startsWith(parts[i])).toBe(true);
      if (i > 0) expect(parts[i].length).toBeGreaterThan(parts[i - 1].length);
    }
    expect(parts.at(-1)!.length).toBeLessThan(r.text.length);
  });

  test("an offline reply in /chat goes through a partial write (status streaming) before done", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "hello there, offline model" });
    const done = await waitForReply(t, s, th);
    expect(done.status).toBe("done");
    const reply = (await activity(t)).find((a) => a.kind === "agent.reply");
    expect((reply?.meta as { partialWrites: number }).partialWrites).toBe(1);
  });

  test("safeFetchStream: the deadline still covers a body that keeps trickling", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const iv = setInterval(() => (res.destroyed ? clearInterval(iv) : res.write("data: {}\n\n")), 50);
    };
    const r = await safeFetchStream(`${base}/x`, {
      allowlist: ["127.0.0.1"],
      allowedPorts: [new URL(base).port],
      devAllowLoopbackHost: true,
      timeoutMs: 400,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const reader = r.body.getReader();
    const started = Date.now();
    const err = await (async () => {
      for (;;) {
        try {
          const { done } = await reader.read();
          if (done) return null;
        } catch (e) {
          return e as { code?: string };
        }
      }
    })();
    expect(err?.code).toBe("TIMEOUT");
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
